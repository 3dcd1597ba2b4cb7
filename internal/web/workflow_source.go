package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"nudge/internal/store"
	"nudge/internal/workflow"
)

// loadWorkflows makes the database the home of the workflows and hands the engine the
// versions that win. The config file says which workflows exist and seeds them: a workflow
// whose definition in the file differs from the last version that came from the file is
// stored as a new version. Then, for each workflow, the newest version runs, whether it came
// from the file or from the UI; so a UI edit lasts until the file's definition changes.
func (u *UI) loadWorkflows(ctx context.Context) error {
	u.wfMu.Lock()
	defer u.wfMu.Unlock()
	for _, w := range u.cfg.Workflows {
		text, err := encodeWorkflow(w.Source)
		if err != nil {
			return fmt.Errorf("error encoding workflow %s: %w", w.ID, err)
		}
		last, err := u.store.LatestWorkflowVersion(ctx, w.ID, store.WorkflowFromConfig)
		if err == nil && last.YAML == text {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		v := store.WorkflowVersion{WorkflowID: w.ID, YAML: text, Source: store.WorkflowFromConfig, Enabled: w.Enabled}
		if _, err := u.store.SaveWorkflowVersion(ctx, v); err != nil {
			return err
		}
	}
	return u.applyWorkflows(ctx)
}

// applyWorkflows gives the engine the newest version of each workflow of the config file, in
// the file's order. Call it with wfMu held.
func (u *UI) applyWorkflows(ctx context.Context) error {
	latest, err := u.store.LatestWorkflowVersions(ctx)
	if err != nil {
		return err
	}
	ws := make([]*workflow.Workflow, 0, len(u.cfg.Workflows))
	for _, fileWF := range u.cfg.Workflows {
		w := fileWF
		if v, ok := latest[fileWF.ID]; ok {
			compiled, probs := compileYAML(v.YAML, fileWF.ID)
			if len(probs) > 0 {
				// A version this build can no longer compile: run the file's definition.
				u.log.Error("web: stored workflow does not compile; using the config file's", "workflow", fileWF.ID, "version", v.Version, "problem", probs[0].String())
			} else {
				w = compiled
			}
		}
		ws = append(ws, w)
	}
	u.engine.SetWorkflows(ws)
	return nil
}

// yamlProblem is a mistake in a workflow's YAML, with its line when known.
type yamlProblem struct {
	Line int
	Msg  string
}

func (p yamlProblem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// compileYAML decodes and compiles the YAML of one workflow, which must keep the id wantID.
// Problems carry the line of the path they are about.
func compileYAML(text, wantID string) (*workflow.Workflow, []yamlProblem) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, []yamlProblem{{Line: line, Msg: m[2]}}
		}
		return nil, []yamlProblem{{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []yamlProblem{{Line: 1, Msg: "want one workflow: a map with id, on and do"}}
	}
	root := doc.Content[0]
	var def map[string]any
	if err := root.Decode(&def); err != nil {
		return nil, []yamlProblem{{Line: root.Line, Msg: err.Error()}}
	}
	lines := map[string]int{}
	nodeLines(root, nil, lines, 0)
	w, probs := workflow.Compile(def)
	var out []yamlProblem
	for _, p := range probs {
		line := root.Line
		for k := len(p.Path); k >= 0; k-- {
			if l, ok := lines[strings.Join(p.Path[:k], "\x00")]; ok {
				line = l
				break
			}
		}
		out = append(out, yamlProblem{Line: line, Msg: p.Error()})
	}
	if w != nil && w.ID != wantID {
		out = append(out, yamlProblem{Line: lines["id"], Msg: fmt.Sprintf("id: the id cannot change here (this is workflow %q)", wantID)})
	}
	if len(out) > 0 {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
		return nil, out
	}
	return w, nil
}

// nodeLines records the line of every path in a YAML tree (map keys and list indexes).
func nodeLines(n *yaml.Node, path []string, lines map[string]int, depth int) {
	if n == nil || depth > 64 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := append(path[:len(path):len(path)], n.Content[i].Value)
			lines[strings.Join(p, "\x00")] = n.Content[i].Line
			nodeLines(n.Content[i+1], p, lines, depth+1)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := append(path[:len(path):len(path)], strconv.Itoa(i))
			lines[strings.Join(p, "\x00")] = item.Line
			nodeLines(item, p, lines, depth+1)
		}
	case yaml.AliasNode:
		nodeLines(n.Alias, path, lines, depth+1)
	}
}

// keyOrder puts the keys people look for first; the others follow in alphabetical order.
var keyOrder = []string{"id", "description", "on", "enabled", "if", "once_per", "do",
	"to", "text", "template", "name", "language", "params", "media"}

// encodeWorkflow writes a workflow definition (as compiled from the config file) as YAML,
// with a stable key order, so that two encodings of one definition are equal text.
func encodeWorkflow(def map[string]any) (string, error) {
	n, err := toNode(def)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	enc := yamlEncoder(&b)
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	enc.Close()
	return b.String(), nil
}

func yamlEncoder(w io.Writer) *yaml.Encoder {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	return enc
}

func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		rank := func(k string) int {
			if i := slices.Index(keyOrder, k); i >= 0 {
				return i
			}
			return len(keyOrder)
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := rank(keys[i]), rank(keys[j])
			if ri != rj {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			val, err := toNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		flow := true
		for _, item := range v {
			c, err := toNode(item)
			if err != nil {
				return nil, err
			}
			if c.Kind != yaml.ScalarNode {
				flow = false
			}
			n.Content = append(n.Content, c)
		}
		if flow {
			n.Style = yaml.FlowStyle // params: [a, b]
		}
		return n, nil
	default:
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			return nil, err
		}
		return n, nil
	}
}
