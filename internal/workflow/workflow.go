// Package workflow holds what a company writes to describe its automations: conditions over
// event data, message templates, and workflows compiled from their YAML or JSON definition
// into a checked, ready-to-run form. It does not run anything; it decides whether a workflow
// matches and renders the values its steps need.
package workflow

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Trigger ids: where an event comes from (SPEC §2).
const (
	TriggerLoanState      = "paygee.loan_state"
	TriggerCustomerState  = "paygee.customer_state"
	TriggerSalesCaseState = "paygee.sales_case_state"
	TriggerMessage        = "chatarchitect.message"
	TriggerMessageEvent   = "chatarchitect.message_event"
)

// Triggers lists every trigger id.
var Triggers = []string{
	TriggerLoanState,
	TriggerCustomerState,
	TriggerSalesCaseState,
	TriggerMessage,
	TriggerMessageEvent,
}

// Action names: the key that says what a step does (SPEC §3).
const (
	ActionSendWhatsApp   = "send_whatsapp"
	ActionTask           = "task"
	ActionCreateCustomer = "paygee.create_customer"
	ActionUpdateCustomer = "paygee.update_customer"
	ActionFindCustomer   = "paygee.find_customer"
)

// Actions lists every action name.
var Actions = []string{
	ActionSendWhatsApp,
	ActionTask,
	ActionCreateCustomer,
	ActionUpdateCustomer,
	ActionFindCustomer,
}

// Recipient keywords a `to:` may render to besides a phone number.
const (
	RecipientCustomer = "customer"
	RecipientAgent    = "agent"
)

// Media types a send_whatsapp `media:` may have.
var MediaTypes = []string{"image", "audio", "video", "file"}

// DefaultTemplateLanguage is the language of a WhatsApp template when none is given.
const DefaultTemplateLanguage = "en"

// Workflow is one compiled workflow: when an event of trigger On matches If, run Steps in
// order, at most once per rendered OncePer key.
type Workflow struct {
	ID          string
	On          string     // trigger id
	Enabled     bool       // `enabled:` key, default true
	Description string     // optional `description:`, for people
	If          *Condition // nil = always
	OncePer     *Template  // nil = none
	Steps       []Step
	Source      map[string]any // the raw definition, for display
}

// Step is one action of a workflow.
type Step struct {
	ID     string     // optional `id:`; names the step's result as steps.<id> for later steps
	If     *Condition // optional `if:`; nil = always
	Action string     // one of the Action* constants
	// Args are the action's inputs; every string in them (recursively) is a parsed *Template.
	// For send_whatsapp and task, a `template` map always has a `language` (default "en"), and
	// task's `escalate_after` is an int.
	Args map[string]any
}

// Matches reports whether the workflow is enabled and its condition holds for data.
func (w *Workflow) Matches(data map[string]any) (bool, error) {
	if !w.Enabled {
		return false, nil
	}
	return w.If.Eval(data)
}

// Problem is a compile error located by a path inside the workflow definition: map keys and,
// for list items, their index, e.g. Path = {"do", "1", "send_whatsapp", "text"}.
type Problem struct {
	Path []string
	Msg  string
}

// Error returns "do[1].send_whatsapp.text: msg", or just msg for a problem of the whole.
func (p Problem) Error() string {
	if len(p.Path) == 0 {
		return p.Msg
	}
	return FormatPath(p.Path) + ": " + p.Msg
}

// FormatPath writes a definition path for people: {"do","1","task","to"} → "do[1].task.to".
func FormatPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// phonePattern is what a literal `to:` must look like when it is not customer or agent.
var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{5,}$`)

// compiler collects the problems of one definition.
type compiler struct {
	probs []Problem
}

func (c *compiler) add(path []string, format string, args ...any) {
	c.probs = append(c.probs, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Compile validates and compiles one raw workflow definition, a map as decoded from YAML or
// JSON with keys id, on, if, once_per, enabled, description and do. It returns every problem it
// finds; the *Workflow is nil when there is any.
func Compile(def map[string]any) (*Workflow, []Problem) {
	c := &compiler{}
	w := &Workflow{Enabled: true, Source: def}
	if def == nil {
		c.add(nil, "empty workflow definition")
		return nil, c.probs
	}
	for _, k := range sortedKeys(def) {
		switch k {
		case "id", "on", "if", "once_per", "enabled", "description", "do":
		default:
			c.add([]string{k}, "unknown key %q", k)
		}
	}

	if v, ok := def["id"]; !ok || v == nil {
		c.add(nil, "missing id")
	} else if s, ok := v.(string); !ok || !idPattern.MatchString(s) {
		c.add([]string{"id"}, "want lower-case letters, digits and '-', like late-5-days, got %s", quoteValue(v))
	} else {
		w.ID = s
	}

	if v, ok := def["on"]; !ok || v == nil {
		c.add(nil, "missing on (the trigger)")
	} else if s, ok := v.(string); !ok || !slices.Contains(Triggers, s) {
		c.add([]string{"on"}, "unknown trigger %s (want one of %s)", quoteValue(v), strings.Join(Triggers, ", "))
	} else {
		w.On = s
	}

	w.If = parseCondition(def["if"], []string{"if"}, &c.probs)

	if v, ok := def["once_per"]; ok && v != nil {
		w.OncePer = c.template(v, []string{"once_per"})
	}
	if v, ok := def["enabled"]; ok {
		if b, ok := v.(bool); ok {
			w.Enabled = b
		} else {
			c.add([]string{"enabled"}, "want true or false, got %s", quoteValue(v))
		}
	}
	if v, ok := def["description"]; ok && v != nil {
		if s, ok := v.(string); ok {
			w.Description = s
		} else {
			c.add([]string{"description"}, "want text, got %s", describe(v))
		}
	}

	do, ok := def["do"]
	list, isList := do.([]any)
	switch {
	case !ok || do == nil:
		c.add(nil, "missing do (the list of steps)")
	case !isList:
		c.add([]string{"do"}, "want a list of steps, got %s", describe(do))
	case len(list) == 0:
		c.add([]string{"do"}, "want at least one step")
	}
	seen := map[string]int{}
	for i, item := range list {
		path := []string{"do", strconv.Itoa(i)}
		st, ok := c.step(item, path, seen)
		if ok {
			w.Steps = append(w.Steps, st)
		}
		if st.ID != "" {
			if _, dup := seen[st.ID]; !dup {
				seen[st.ID] = i
			}
		}
	}
	if len(c.probs) > 0 {
		return nil, c.probs
	}
	return w, nil
}

// step compiles one item of `do`. earlier holds the ids of the steps before it.
func (c *compiler) step(item any, path []string, earlier map[string]int) (Step, bool) {
	var st Step
	m, ok := asMap(item)
	if !ok {
		c.add(path, "step: want a map with one action, got %s", describe(item))
		return st, false
	}
	before := len(c.probs)
	var actions []string
	for _, k := range sortedKeys(m) {
		switch k {
		case "id", "if":
		default:
			actions = append(actions, k)
		}
	}
	if v, ok := m["id"]; ok {
		s, isStr := v.(string)
		switch {
		case !isStr || !idPattern.MatchString(s):
			c.add(appendPath(path, "id"), "want lower-case letters, digits and '-', got %s", quoteValue(v))
		default:
			if j, dup := earlier[s]; dup {
				c.add(appendPath(path, "id"), "duplicate step id %q (also step %d)", s, j)
			}
			st.ID = s
		}
	}
	st.If = parseCondition(m["if"], appendPath(path, "if"), &c.probs)
	switch len(actions) {
	case 0:
		c.add(path, "step has no action (want one of %s)", strings.Join(Actions, ", "))
		return st, false
	case 1:
	default:
		known := 0
		for _, a := range actions {
			if slices.Contains(Actions, a) {
				known++
			}
		}
		if known > 1 {
			c.add(path, "step has more than one action: %s", strings.Join(actions, ", "))
			return st, false
		}
	}
	for _, a := range actions {
		if !slices.Contains(Actions, a) {
			c.add(appendPath(path, a), "unknown action %q (want one of %s)", a, strings.Join(Actions, ", "))
			continue
		}
		st.Action = a
	}
	if st.Action == "" {
		return st, false
	}
	ap := appendPath(path, st.Action)
	args, ok := asMap(m[st.Action])
	if !ok {
		if m[st.Action] == nil {
			c.add(ap, "missing inputs")
		} else {
			c.add(ap, "want a map of inputs, got %s", describe(m[st.Action]))
		}
		return st, false
	}
	st.Args = c.args(st.Action, args, ap)
	c.checkStepRefs(st, path, earlier)
	return st, len(c.probs) == before
}

// args checks and compiles the inputs of one action.
func (c *compiler) args(action string, in map[string]any, path []string) map[string]any {
	out := make(map[string]any, len(in))
	var known, required []string
	extra := false
	switch action {
	case ActionSendWhatsApp:
		known = []string{"to", "text", "template", "media"}
		required = []string{"to"}
		if in["text"] == nil && in["template"] == nil && in["media"] == nil {
			c.add(path, "want text, template or media")
		}
	case ActionTask:
		known = []string{"to", "text", "template", "remind_after", "escalate_after", "escalate_to"}
		required = []string{"to", "text"}
	case ActionCreateCustomer:
		required = []string{"name", "phone"}
		extra = true
	case ActionUpdateCustomer:
		required = []string{"customer_id"}
		extra = true
		if _, hasID := in["customer_id"]; hasID && len(in) == 1 {
			c.add(path, "nothing to update: add a field beside customer_id")
		}
	case ActionFindCustomer:
		known = []string{"customer_id"}
		required = []string{"customer_id"}
	}
	for _, k := range required {
		if in[k] == nil {
			c.add(path, "missing %s", k)
		}
	}
	for _, k := range sortedKeys(in) {
		v := in[k]
		kp := appendPath(path, k)
		if !extra && !slices.Contains(known, k) {
			c.add(kp, "unknown input %q (want %s)", k, strings.Join(known, ", "))
			continue
		}
		if v == nil {
			continue
		}
		if extra {
			// Paygee writes: every input is a field value, whatever its name.
			out[k] = c.value(v, kp)
			continue
		}
		switch k {
		case "to", "escalate_to":
			if t := c.recipient(v, kp); t != nil {
				out[k] = t
			}
		case "text":
			if t := c.template(v, kp); t != nil {
				out[k] = t
			}
		case "template":
			out[k] = c.hsm(v, kp)
		case "media":
			out[k] = c.media(v, kp)
		case "remind_after":
			t := c.template(v, kp)
			if t != nil && t.IsStatic() {
				if d, err := ParseDuration(t.String()); err != nil {
					c.add(kp, "%v", err)
				} else if d <= 0 {
					c.add(kp, "want a positive duration, got %q", t.String())
				}
			}
			if t != nil {
				out[k] = t
			}
		case "escalate_after":
			n, ok := toNumber(v)
			if !ok || n.f != float64(int(n.f)) || n.f < 1 {
				c.add(kp, "want a whole number of reminders (1 or more), got %s", quoteValue(v))
				continue
			}
			out[k] = int(n.f)
		default:
			out[k] = c.value(v, kp)
		}
	}
	if action == ActionTask {
		if in["remind_after"] == nil && (in["escalate_after"] != nil || in["escalate_to"] != nil) {
			c.add(path, "escalate_after and escalate_to need remind_after")
		}
		if (in["escalate_after"] == nil) != (in["escalate_to"] == nil) {
			c.add(path, "escalate_after and escalate_to go together")
		}
	}
	return out
}

// hsm compiles a WhatsApp template reference: {name, language, params}.
func (c *compiler) hsm(v any, path []string) map[string]any {
	m, ok := asMap(v)
	if !ok {
		c.add(path, "want a map with name, language and params, got %s", describe(v))
		return nil
	}
	out := map[string]any{}
	if m["name"] == nil {
		c.add(path, "missing name")
	}
	for _, k := range sortedKeys(m) {
		kp := appendPath(path, k)
		switch k {
		case "name", "language":
			if m[k] == nil {
				continue
			}
			if t := c.template(m[k], kp); t != nil {
				out[k] = t
			}
		case "params":
			list, ok := m[k].([]any)
			if !ok && m[k] != nil {
				c.add(kp, "want a list, got %s", describe(m[k]))
				continue
			}
			params := make([]any, 0, len(list))
			for i, p := range list {
				if t := c.template(p, appendPath(kp, strconv.Itoa(i))); t != nil {
					params = append(params, t)
				}
			}
			out[k] = params
		default:
			c.add(kp, "unknown key %q (want name, language, params)", k)
		}
	}
	if out["language"] == nil {
		out["language"] = MustParseTemplate(DefaultTemplateLanguage)
	}
	if out["params"] == nil {
		out["params"] = []any{}
	}
	return out
}

// media compiles a media attachment: {type, url, caption, filename}.
func (c *compiler) media(v any, path []string) map[string]any {
	m, ok := asMap(v)
	if !ok {
		c.add(path, "want a map with type and url, got %s", describe(v))
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"type", "url"} {
		if m[k] == nil {
			c.add(path, "missing %s", k)
		}
	}
	for _, k := range sortedKeys(m) {
		kp := appendPath(path, k)
		switch k {
		case "type", "url", "caption", "filename":
			if m[k] == nil {
				continue
			}
			t := c.template(m[k], kp)
			if t == nil {
				continue
			}
			if k == "type" && t.IsStatic() && !slices.Contains(MediaTypes, t.String()) {
				c.add(kp, "want one of %s, got %q", strings.Join(MediaTypes, ", "), t.String())
			}
			out[k] = t
		default:
			c.add(kp, "unknown key %q (want type, url, caption, filename)", k)
		}
	}
	return out
}

// recipient compiles a `to:`: customer, agent, a phone number, or a template giving one.
func (c *compiler) recipient(v any, path []string) *Template {
	t := c.template(v, path)
	if t == nil || !t.IsStatic() {
		return t
	}
	s := t.String()
	if s != RecipientCustomer && s != RecipientAgent && !phonePattern.MatchString(s) {
		c.add(path, "want customer, agent, a phone number or a template, got %q", s)
		return nil
	}
	return t
}

// template compiles one scalar into a *Template; numbers and booleans become their text.
func (c *compiler) template(v any, path []string) *Template {
	s, ok := v.(string)
	if !ok {
		if _, isMap := asMap(v); isMap || v == nil {
			c.add(path, "want text, got %s", describe(v))
			return nil
		}
		if s, ok = scalarString(v); !ok {
			c.add(path, "want text, got %s", describe(v))
			return nil
		}
	}
	t, err := ParseTemplate(s)
	if err != nil {
		c.add(path, "%s", err)
		return nil
	}
	return t
}

// value compiles any input: strings become templates, maps and lists are copied with their
// strings compiled, other scalars stay as they are.
func (c *compiler) value(v any, path []string) any {
	switch x := v.(type) {
	case string:
		if t := c.template(x, path); t != nil {
			return t
		}
		return nil // not a typed nil: callers test Args values against nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = c.value(item, appendPath(path, strconv.Itoa(i)))
		}
		return out
	}
	if m, ok := asMap(v); ok {
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			out[k] = c.value(m[k], appendPath(path, k))
		}
		return out
	}
	return v
}

// checkStepRefs reports steps.<id> references, in a step's templates, to no earlier step.
func (c *compiler) checkStepRefs(st Step, path []string, earlier map[string]int) {
	var walk func(v any, p []string)
	walk = func(v any, p []string) {
		switch x := v.(type) {
		case *Template:
			if x == nil {
				return
			}
			for _, ref := range x.Paths() {
				rest, ok := strings.CutPrefix(ref, "steps.")
				if !ok {
					continue
				}
				id, _, _ := strings.Cut(rest, ".")
				if _, ok := earlier[id]; !ok {
					c.add(p, "%s refers to no earlier step with id %q", ref, id)
				}
			}
		case map[string]any:
			for _, k := range sortedKeys(x) {
				walk(x[k], appendPath(p, k))
			}
		case []any:
			for i, item := range x {
				walk(item, appendPath(p, strconv.Itoa(i)))
			}
		}
	}
	walk(st.Args, appendPath(path, st.Action))
}
