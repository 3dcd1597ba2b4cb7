package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"nudge/internal/config"
	"nudge/internal/paygee"
	"nudge/internal/workflow"
)

// SimStep is one line of a dry run.
type SimStep struct {
	Workflow string          `json:"workflow"`
	Matched  *bool           `json:"matched,omitempty"`
	OnceKey  string          `json:"once_per,omitempty"`
	Step     int             `json:"step,omitempty"`
	Action   string          `json:"action,omitempty"`
	To       string          `json:"to,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Text     string          `json:"text,omitempty"`
	Template map[string]any  `json:"template,omitempty"`
	Request  *paygee.Request `json:"request,omitempty"`
	Skipped  string          `json:"skipped,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// Simulate is a dry run: for each workflow on the trigger it says whether the event matches
// and renders each step exactly as it would be sent, with the 24-hour window closed (nothing
// is known of the contact). It reads no database and sends nothing.
func Simulate(cfg *config.Config, trigger string, body []byte) ([]SimStep, error) {
	if !slices.Contains(workflow.Triggers, trigger) {
		return nil, fmt.Errorf("unknown trigger %q (want one of %s)", trigger, strings.Join(workflow.Triggers, ", "))
	}
	data, err := EventData(trigger, body)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	e := &Engine{cfg: cfg, now: time.Now}
	if cfg.Paygee.APIURL != "" {
		e.paygee = paygee.New(paygee.Config{BaseURL: cfg.Paygee.APIURL})
	}
	var out []SimStep
	for _, w := range cfg.Workflows {
		if w.On != trigger {
			continue
		}
		ok, err := w.Matches(data)
		line := SimStep{Workflow: w.ID, Matched: &ok}
		if err != nil {
			line.Error = err.Error()
		}
		if ok && w.OncePer != nil {
			line.OnceKey, _ = w.OncePer.Render(data)
		}
		out = append(out, line)
		if !ok {
			continue
		}
		data := cloneData(data)
		data["steps"] = map[string]any{}
		for i := range w.Steps {
			out = append(out, e.simulateStep(w, i, data))
		}
	}
	return out, nil
}

func (e *Engine) simulateStep(w *workflow.Workflow, i int, data map[string]any) SimStep {
	st := &w.Steps[i]
	line := SimStep{Workflow: w.ID, Step: i + 1, Action: st.Action}
	if st.If != nil {
		ok, err := st.If.Eval(data)
		if err != nil {
			line.Error = err.Error()
			return line
		}
		if !ok {
			line.Skipped = "if: condition does not hold"
			return line
		}
	}
	if st.Action != workflow.ActionSendWhatsApp && st.Action != workflow.ActionTask {
		return e.simulatePaygee(line, st, data)
	}
	if to, err := renderString(st.Args["to"], data); err == nil && strings.EqualFold(strings.TrimSpace(to), ToCustomer) &&
		lookupString(data, "payload.customer_phone") == "" && lookupString(data, "payload.customer_id") != "" && e.paygee != nil {
		// The phone would come from Paygee: show the lookup instead of making it.
		req := e.paygee.DescribeFind(lookupString(data, "payload.customer_id"))
		line.Request, line.To = &req, "customer (looked up in Paygee)"
		out, err := e.compose(st.Args, data, false)
		if err != nil {
			line.Error = err.Error()
			return line
		}
		return line.withContent(out)
	}
	rcpt, _, err := e.plan(context.Background(), st, data)
	var skip *skipError
	var wait *waitError
	switch {
	case errors.As(err, &skip):
		line.Skipped = skip.reason
		return line
	case errors.As(err, &wait):
		line.Skipped = "would wait: " + wait.reason
	case err != nil:
		line.Error = err.Error()
		return line
	}
	line.To = rcpt.Phone
	if st.Action == workflow.ActionTask {
		data["task"] = map[string]any{"number": "N"}
	}
	out, err := e.compose(st.Args, data, false)
	if err != nil {
		line.Error = err.Error()
		return line
	}
	return line.withContent(out)
}

func cloneData(d map[string]any) map[string]any {
	c := make(map[string]any, len(d)+2)
	for k, v := range d {
		c[k] = v
	}
	return c
}

// simulatePaygee shows the request a Paygee step would make. Its result is unknown in a dry
// run, so later steps see it as empty.
func (e *Engine) simulatePaygee(line SimStep, st *workflow.Step, data map[string]any) SimStep {
	if e.paygee == nil {
		line.Error = st.Action + " needs paygee.api_url"
		return line
	}
	args, err := renderMap(st.Args, data)
	if err != nil {
		line.Error = err.Error()
		return line
	}
	var req paygee.Request
	switch st.Action {
	case workflow.ActionFindCustomer:
		req = e.paygee.DescribeFind(str(args["customer_id"]))
	case workflow.ActionCreateCustomer:
		req = e.paygee.DescribeCreate(args)
	case workflow.ActionUpdateCustomer:
		id := str(args["customer_id"])
		delete(args, "customer_id")
		req = e.paygee.DescribeUpdate(id, args)
	}
	line.Request = &req
	if st.ID != "" {
		if steps, ok := data["steps"].(map[string]any); ok {
			steps[st.ID] = map[string]any{}
		}
	}
	return line
}

// withContent fills a dry-run line with what a composed message says.
func (line SimStep) withContent(out Outbound) SimStep {
	line.Kind, line.Text = out.Kind, out.Text
	if out.Template != nil {
		line.Template = map[string]any{"name": out.Template.Name, "language": out.Template.Language, "params": out.Template.Params}
	}
	return line
}
