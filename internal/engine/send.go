package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"nudge/internal/chatarchitect"
	"nudge/internal/phone"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// Recipient kinds.
const (
	ToCustomer = "customer"
	ToAgent    = "agent"
	ToNumber   = "number"
)

// Recipient is a resolved `to:`.
type Recipient struct {
	Phone string // E.164 digits
	Kind  string
}

// recipient resolves `to:` (SPEC §5): customer, agent, or a phone number.
func (e *Engine) recipient(ctx context.Context, to string, data map[string]any) (Recipient, error) {
	kind := strings.ToLower(strings.TrimSpace(to))
	var raw string
	switch kind {
	case ToCustomer:
		raw = lookupString(data, "payload.customer_phone")
		if raw == "" {
			var err error
			if raw, err = e.customerPhone(ctx, data); err != nil {
				return Recipient{}, err
			}
		}
	case ToAgent:
		raw = lookupString(data, "payload.agent_phone")
		if raw == "" {
			raw = e.agentFromDirectory(lookupString(data, "payload.agent_name"))
		}
		if raw == "" {
			return Recipient{}, permanent(fmt.Errorf("no agent phone: payload.agent_phone is missing and the agents directory has no match"))
		}
	default:
		kind, raw = ToNumber, to
	}
	digits, err := phone.Normalize(raw, e.cfg.Defaults.Country)
	if err != nil {
		return Recipient{}, permanent(fmt.Errorf("invalid %s phone number %s: %v", kind, phone.Mask(digitsOnly(raw)), err))
	}
	return Recipient{Phone: digits, Kind: kind}, nil
}

// agentFromDirectory finds an agent by name, or the only agent when there is one.
func (e *Engine) agentFromDirectory(name string) string {
	agents := e.cfg.Agents
	for _, a := range agents {
		if name != "" && strings.EqualFold(a.Name, name) {
			return a.Phone
		}
	}
	if len(agents) == 1 {
		return agents[0].Phone
	}
	return ""
}

func lookupString(data map[string]any, path string) string {
	v, ok := workflow.Lookup(data, path)
	if !ok {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// location is the contact's time zone when the payload names one, else the default.
func (e *Engine) location(data map[string]any) *time.Location {
	if tz := lookupString(data, "payload.timezone"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	if e.cfg.Defaults.Location != nil {
		return e.cfg.Defaults.Location
	}
	return time.UTC
}

// Outbound is a message composed for a recipient, before it is sent.
type Outbound struct {
	To       Recipient
	Kind     string // text | template | media
	Text     string
	Template *chatarchitect.Template
	Media    *chatarchitect.Media
}

func (o Outbound) message() chatarchitect.Message {
	return chatarchitect.Message{To: o.To.Phone, Text: o.Text, Template: o.Template, Media: o.Media}
}

// compose picks what to send under the 24-hour rule: text (or media) inside the window, the
// template outside it; text outside it only when the provider matches text to templates.
func (e *Engine) compose(args map[string]any, data map[string]any, windowOpen bool) (Outbound, error) {
	_, hasText := args["text"]
	_, hasTpl := args["template"]
	_, hasMedia := args["media"]
	session := hasText || hasMedia
	var out Outbound
	switch {
	case session && (windowOpen || (!hasTpl && e.cfg.ChatArchitect.HSMTextMatching)):
		if hasMedia {
			m, err := renderMap(args["media"], data)
			if err != nil {
				return out, err
			}
			out.Kind = "media"
			out.Media = &chatarchitect.Media{Type: str(m["type"]), URL: str(m["url"]), Caption: str(m["caption"]), Filename: str(m["filename"])}
			out.Text = out.Media.Caption
			return out, nil
		}
		text, err := renderString(args["text"], data)
		if err != nil {
			return out, err
		}
		out.Kind, out.Text = "text", text
		return out, nil
	case hasTpl:
		t, err := renderMap(args["template"], data)
		if err != nil {
			return out, err
		}
		tpl := &chatarchitect.Template{Name: str(t["name"]), Language: str(t["language"])}
		if tpl.Language == "" {
			tpl.Language = "en"
		}
		if ps, ok := t["params"].([]any); ok {
			for _, p := range ps {
				tpl.Params = append(tpl.Params, str(p))
			}
		}
		out.Kind, out.Template = "template", tpl
		return out, nil
	default:
		return out, permanent(fmt.Errorf("24-hour window closed and the step has no template (set a template, or chatarchitect.hsm_text_matching)"))
	}
}

func renderString(v any, data map[string]any) (string, error) {
	r, err := workflow.RenderValue(v, data)
	if err != nil {
		return "", err
	}
	return str(r), nil
}

func renderMap(v any, data map[string]any) (map[string]any, error) {
	r, err := workflow.RenderValue(v, data)
	if err != nil {
		return nil, err
	}
	m, _ := r.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// plan resolves the recipient and applies the customer rules that do not need the network:
// opt-out, quiet hours and the daily cap. It returns the recipient and whether the message
// is customer-directed.
func (e *Engine) plan(ctx context.Context, st *workflow.Step, data map[string]any) (Recipient, store.Contact, error) {
	to, err := renderString(st.Args["to"], data)
	if err != nil {
		return Recipient{}, store.Contact{}, err
	}
	rcpt, err := e.recipient(ctx, to, data)
	if err != nil {
		return rcpt, store.Contact{}, err
	}
	contact := store.Contact{Phone: rcpt.Phone}
	if e.store != nil { // nil in a dry run: nothing is known of the contact
		if contact, err = e.store.Contact(ctx, rcpt.Phone); err != nil {
			return rcpt, contact, err
		}
	}
	if st.Action == workflow.ActionTask || rcpt.Kind == ToAgent {
		return rcpt, contact, nil
	}
	if contact.OptedOut {
		return rcpt, contact, &skipError{"contact opted out"}
	}
	now := e.now()
	loc := e.location(data)
	if q := e.cfg.Defaults.Quiet; q != nil && q.Contains(now, loc) {
		until := q.NextEnd(now, loc)
		return rcpt, contact, &waitError{until: until, reason: "quiet hours until " + until.In(loc).Format("15:04 MST")}
	}
	if limit := e.cfg.Defaults.MaxPerContactPerDay; limit > 0 && e.store != nil {
		local := now.In(loc)
		midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
		n, err := e.store.CountSentSince(ctx, rcpt.Phone, midnight, 0)
		if err != nil {
			return rcpt, contact, err
		}
		if n >= limit {
			return rcpt, contact, &skipError{fmt.Sprintf("daily cap of %d messages to this contact reached", limit)}
		}
	}
	return rcpt, contact, nil
}

// send executes send_whatsapp and task steps and returns the message sent, which the
// caller records with the step's checkpoint in one transaction: a retry that finds the
// checkpoint does not send again. Nothing is written before the send that a retry would
// need; a send the provider refuses is recorded with its error.
func (e *Engine) send(ctx context.Context, run store.Run, idx int, st *workflow.Step, data map[string]any) (map[string]any, *store.Message, error) {
	rcpt, contact, err := e.plan(ctx, st, data)
	if err != nil {
		return nil, nil, err
	}
	output := map[string]any{"to": rcpt.Phone}
	var task store.Task
	if st.Action == workflow.ActionTask {
		task, err = e.store.PrepareTask(ctx, run.ID, idx, rcpt.Phone)
		if err != nil {
			return nil, nil, err
		}
		data["task"] = map[string]any{"number": task.Number}
		output["task_number"] = task.Number
	}
	out, err := e.compose(st.Args, data, contact.WindowOpen(e.now()))
	if err != nil {
		return nil, nil, err
	}
	out.To = rcpt
	msg := &store.Message{RunID: run.ID, StepIndex: idx, Workflow: run.Workflow, To: rcpt.Phone, Kind: out.Kind, Text: out.Text}
	if out.Template != nil {
		msg.Template, msg.Params = out.Template.Name, out.Template.Params
	}
	if task.Number != 0 {
		if err := e.describeTask(ctx, task.Number, run.Workflow, rcpt, st, data); err != nil {
			return nil, nil, err
		}
	}
	if e.sender == nil {
		return nil, nil, permanent(fmt.Errorf("no ChatArchitect client configured"))
	}
	if err := e.waitSendToken(ctx); err != nil {
		return nil, nil, err
	}
	if err := e.pace(ctx, rcpt.Phone); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	res, err := e.sender.Send(ctx, out.message())
	e.metrics.SendDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		class, _ := classify(err)
		if ferr := e.store.UnsentMessage(ctx, *msg, err.Error(), class == Permanent); ferr != nil {
			return nil, nil, ferr
		}
		if class == Permanent {
			e.metrics.Messages.WithLabelValues(store.MsgFailed).Inc()
		}
		return nil, nil, err
	}
	e.metrics.Messages.WithLabelValues(store.MsgSubmitted).Inc()
	e.clearAuthAlert()
	output["provider_id"] = res.MessageID
	output["kind"] = out.Kind
	return output, msg, nil
}

func (e *Engine) clearAuthAlert() {
	e.mu.Lock()
	e.authUntil = time.Time{}
	e.mu.Unlock()
	e.metrics.ProviderAuth.WithLabelValues("chatarchitect").Set(0)
}

// taskContent is what a task reminder re-sends.
type taskContent struct {
	Text     string                  `json:"text"`
	Template *chatarchitect.Template `json:"template,omitempty"`
}

// describeTask stores a task's text (kept even when the message goes out as a template), the
// content its reminders re-send, and its reminder and escalation settings.
func (e *Engine) describeTask(ctx context.Context, number int64, wf string, rcpt Recipient, st *workflow.Step, data map[string]any) error {
	text, err := renderString(st.Args["text"], data)
	if err != nil {
		return err
	}
	content := taskContent{Text: text}
	if _, ok := st.Args["template"]; ok {
		out, err := e.compose(map[string]any{"template": st.Args["template"]}, data, false)
		if err != nil {
			return err
		}
		content.Template = out.Template
	}
	d := store.TaskDetails{To: rcpt.Phone, Text: text, Workflow: wf}
	d.Content, _ = json.Marshal(content)
	if v, ok := st.Args["remind_after"]; ok {
		s, err := renderString(v, data)
		if err != nil {
			return err
		}
		if d.RemindAfter, err = workflow.ParseDuration(s); err != nil || d.RemindAfter <= 0 {
			return permanent(fmt.Errorf("remind_after %q: want a positive duration", s))
		}
	}
	if v, ok := st.Args["escalate_after"]; ok {
		n, err := strconv.Atoi(str(v))
		if err != nil {
			return permanent(fmt.Errorf("escalate_after: want a number of reminders"))
		}
		d.EscalateAfter = n
	}
	if v, ok := st.Args["escalate_to"]; ok {
		to, err := renderString(v, data)
		if err != nil {
			return err
		}
		esc, err := e.recipient(ctx, to, data)
		if err != nil {
			return err
		}
		d.EscalateTo = esc.Phone
	}
	return e.store.SetTaskDetails(ctx, number, d)
}

// maxSharedWait is the longest a run of a shared job waits for the send rate (what the
// shared jobs hold is about sharedBacklog of sending, so most runs wait less).
const maxSharedWait = 10 * time.Second

// sendRateBucket names the database's token bucket for outbound sends.
const sendRateBucket = "chatarchitect.send"

// waitSendToken waits until a send may go out at the configured rate. On PostgreSQL the
// rate is shared by every instance through a token bucket in the database; on SQLite one
// process owns the file, so the in-process limiter is already global.
func (e *Engine) waitSendToken(ctx context.Context) error {
	if e.store.Dialect() != "postgres" {
		if !inSharedJob(ctx) {
			return e.limiter.Wait(ctx)
		}
		// A run of a shared job waits a few seconds at most; behind a longer queue it is
		// handed to a job of its own, so that shared jobs end soon.
		r := e.limiter.Reserve()
		d := r.Delay()
		if d > maxSharedWait {
			r.Cancel()
			return &waitError{until: e.now().Add(d), reason: "send rate: waiting for a turn"}
		}
		return sleep(ctx, d)
	}
	return e.store.WaitToken(ctx, sendRateBucket, float64(e.limiter.Limit()), e.limiter.Burst())
}
