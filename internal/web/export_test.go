package web

// Exported for the tests of package web_test.
var (
	EncodeWorkflow = encodeWorkflow
	CompileYAML    = func(text, id string) (any, int) {
		w, probs := compileYAML(text, id)
		if w == nil {
			return nil, len(probs)
		}
		return w.Source, len(probs)
	}
)
