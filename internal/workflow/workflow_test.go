package workflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// def decodes a JSON workflow definition as a plain map, the shape YAML decoding gives.
func def(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("bad test definition: %v", err)
	}
	return m
}

const late5Days = `{
  "id": "late-5-days",
  "on": "paygee.loan_state",
  "if": {"state": "days_late", "payload.days_late": 5, "payload.balance": {"gt": 0}},
  "once_per": "{{payload.loan_id}}:{{payload.days_late}}",
  "do": [{"send_whatsapp": {
    "to": "customer",
    "text": "Habari {{payload.customer_name | first_name}}, your payment is {{payload.days_late}} days late. Balance {{payload.balance | money payload.currency}}.",
    "template": {"name": "payment_reminder", "language": "{{payload.language | default \"en\"}}",
                 "params": ["{{payload.customer_name | first_name}}", "{{payload.days_late}}"]}}}]}`

func TestCompileSpecExample(t *testing.T) {
	w, probs := Compile(def(t, late5Days))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if w.ID != "late-5-days" || w.On != TriggerLoanState || !w.Enabled || len(w.Steps) != 1 {
		t.Fatalf("workflow = %+v", w)
	}
	data := event(t, loanEvent)
	if ok, err := w.Matches(data); !ok || err != nil {
		t.Fatalf("Matches = %v, %v", ok, err)
	}
	key, err := w.OncePer.Render(data)
	if err != nil || key != "L-1042:5" {
		t.Errorf("once_per = %q, %v", key, err)
	}
	st := w.Steps[0]
	if st.Action != ActionSendWhatsApp {
		t.Errorf("action = %q", st.Action)
	}
	got, err := RenderValue(st.Args, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"to":   "customer",
		"text": "Habari Amina, your payment is 5 days late. Balance KES 1,500.",
		"template": map[string]any{
			"name": "payment_reminder", "language": "sw", "params": []any{"Amina", "5"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rendered args =\n%#v\nwant\n%#v", got, want)
	}

	data["state"] = "late"
	if ok, _ := w.Matches(data); ok {
		t.Error("matches a late event")
	}
	w.Enabled = false
	data["state"] = "days_late"
	if ok, _ := w.Matches(data); ok {
		t.Error("a disabled workflow matches")
	}
}

func TestCompileActions(t *testing.T) {
	w, probs := Compile(def(t, `{
	  "id": "all-actions", "on": "paygee.sales_case_state", "enabled": false,
	  "description": "every action once",
	  "do": [
	    {"id": "cust", "paygee.find_customer": {"customer_id": "{{payload.customer_id}}"}},
	    {"if": {"steps.cust.phone": {"exists": false}},
	     "paygee.create_customer": {"name": "{{payload.customer_name}}", "phone": "{{payload.customer_phone}}", "region": "west", "score": 7}},
	    {"paygee.update_customer": {"customer_id": 311, "status": "{{state}}"}},
	    {"send_whatsapp": {"to": "+254 700 000001", "template": {"name": "hello"}}},
	    {"send_whatsapp": {"to": "{{steps.cust.phone}}", "media": {"type": "file", "url": "https://x/a.pdf", "filename": "a.pdf", "caption": "Invoice"}}},
	    {"task": {"to": "agent", "text": "Visit {{payload.customer_name}}, reply DONE {{task.number}}",
	              "remind_after": "2d", "escalate_after": 2, "escalate_to": "254700000002"}}
	  ]}`))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if w.Enabled || w.Description != "every action once" || len(w.Steps) != 6 {
		t.Fatalf("workflow = %+v", w)
	}
	if w.Steps[0].ID != "cust" || w.Steps[1].If == nil {
		t.Errorf("steps = %+v", w.Steps)
	}
	data := map[string]any{"state": "dp_paid", "payload": map[string]any{"customer_id": "C-1", "customer_name": "Amina", "customer_phone": "0712345678"}}
	tests := []struct {
		step int
		want map[string]any
	}{
		{0, map[string]any{"customer_id": "C-1"}},
		{1, map[string]any{"name": "Amina", "phone": "0712345678", "region": "west", "score": float64(7)}},
		{2, map[string]any{"customer_id": float64(311), "status": "dp_paid"}},
		{3, map[string]any{"to": "+254 700 000001", "template": map[string]any{"name": "hello", "language": "en", "params": []any{}}}},
		{5, map[string]any{"to": "agent", "text": "Visit Amina, reply DONE 7", "remind_after": "2d", "escalate_after": 2, "escalate_to": "254700000002"}},
	}
	data["task"] = map[string]any{"number": 7}
	for _, tt := range tests {
		got, err := RenderValue(w.Steps[tt.step].Args, data)
		if err != nil {
			t.Errorf("step %d: %v", tt.step, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("step %d args =\n%#v\nwant\n%#v", tt.step, got, tt.want)
		}
	}
	data["steps"] = map[string]any{"cust": map[string]any{"phone": "254711111111"}}
	got, err := RenderValue(w.Steps[4].Args, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.(map[string]any)["to"] != "254711111111" {
		t.Errorf("step 4 to = %v", got)
	}
	if ok, _ := w.Steps[1].If.Eval(data); ok {
		t.Error("step 1 condition holds though steps.cust.phone exists")
	}
}

func TestCompileProblems(t *testing.T) {
	cases := []struct {
		name string
		def  string
		want []string
	}{
		{"empty", `{}`, []string{"missing id", "missing on (the trigger)", "missing do (the list of steps)"}},
		{"bad id, trigger and keys", `{"id": "Late_5", "on": "paygee.loan", "iff": {}, "enabled": "yes", "do": []}`, []string{
			`iff: unknown key "iff"`,
			`id: want lower-case letters, digits and '-', like late-5-days, got "Late_5"`,
			`on: unknown trigger "paygee.loan" (want one of paygee.loan_state, paygee.customer_state, paygee.sales_case_state, chatarchitect.message, chatarchitect.message_event)`,
			`enabled: want true or false, got "yes"`,
			`do: want at least one step`,
		}},
		{"do not a list", `{"id": "a", "on": "paygee.loan_state", "do": {"task": {}}}`, []string{`do: want a list of steps, got a map`}},
		{"bad condition and once_per", `{"id": "a", "on": "paygee.loan_state", "if": {"state": {"gtt": 1}}, "once_per": "{{x", "do": [{"task": {"to": "agent", "text": "t"}}]}`, []string{
			`if.state.gtt: unknown operator "gtt" (want one of eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, ends_with, matches, exists)`,
			`once_per: template: unterminated {{ at offset 0`,
		}},
		{"step shapes", `{"id": "a", "on": "chatarchitect.message", "do": [
			"send_whatsapp",
			{"id": "x"},
			{"send_whatsapp": {"to": "customer", "text": "a"}, "task": {"to": "agent", "text": "b"}},
			{"send_whatsap": {"to": "customer", "text": "a"}},
			{"send_whatsapp": null},
			{"task": "do it"},
			{"id": "Bad", "task": {"to": "agent", "text": "b"}},
			{"id": "s1", "task": {"to": "agent", "text": "b"}},
			{"id": "s1", "task": {"to": "agent", "text": "b"}, "if": {"any": []}}
		]}`, []string{
			`do[0]: step: want a map with one action, got a string`,
			`do[1]: step has no action (want one of send_whatsapp, task, paygee.create_customer, paygee.update_customer, paygee.find_customer)`,
			`do[2]: step has more than one action: send_whatsapp, task`,
			`do[3].send_whatsap: unknown action "send_whatsap" (want one of send_whatsapp, task, paygee.create_customer, paygee.update_customer, paygee.find_customer)`,
			`do[4].send_whatsapp: missing inputs`,
			`do[5].task: want a map of inputs, got a string`,
			`do[6].id: want lower-case letters, digits and '-', got "Bad"`,
			`do[8].id: duplicate step id "s1" (also step 7)`,
			`do[8].if.any: want a non-empty list of conditions`,
		}},
		{"send_whatsapp inputs", `{"id": "a", "on": "paygee.loan_state", "do": [
			{"send_whatsapp": {"to": "custmer"}},
			{"send_whatsapp": {"text": "{{name | uppr}}", "cc": "x"}},
			{"send_whatsapp": {"to": "agent", "template": {"language": "en", "params": "x", "lang": 1}}},
			{"send_whatsapp": {"to": "agent", "template": "reminder"}},
			{"send_whatsapp": {"to": "agent", "media": {"type": "pdf", "caption": "{{", "size": 1}}},
			{"send_whatsapp": {"to": {"phone": 1}, "text": ["a"]}}
		]}`, []string{
			`do[0].send_whatsapp: want text, template or media`,
			`do[0].send_whatsapp.to: want customer, agent, a phone number or a template, got "custmer"`,
			`do[1].send_whatsapp: missing to`,
			`do[1].send_whatsapp.cc: unknown input "cc" (want to, text, template, media)`,
			`do[1].send_whatsapp.text: template: unknown filter "uppr"`,
			`do[2].send_whatsapp.template: missing name`,
			`do[2].send_whatsapp.template.lang: unknown key "lang" (want name, language, params)`,
			`do[2].send_whatsapp.template.params: want a list, got a string`,
			`do[3].send_whatsapp.template: want a map with name, language and params, got a string`,
			`do[4].send_whatsapp.media: missing url`,
			`do[4].send_whatsapp.media.caption: template: unterminated {{ at offset 0`,
			`do[4].send_whatsapp.media.size: unknown key "size" (want type, url, caption, filename)`,
			`do[4].send_whatsapp.media.type: want one of image, audio, video, file, got "pdf"`,
			`do[5].send_whatsapp.text: want text, got a list`,
			`do[5].send_whatsapp.to: want text, got a map`,
		}},
		{"task inputs", `{"id": "a", "on": "paygee.loan_state", "do": [
			{"task": {"to": "agent"}},
			{"task": {"to": "agent", "text": "t", "remind_after": "soon", "escalate_after": 1.5, "escalate_to": "agent"}},
			{"task": {"to": "agent", "text": "t", "remind_after": "-1h"}},
			{"task": {"to": "agent", "text": "t", "escalate_to": "agent"}},
			{"task": {"to": "agent", "text": "t", "remind_after": "{{payload.wait}}", "escalate_after": 0}}
		]}`, []string{
			`do[0].task: missing text`,
			`do[1].task.escalate_after: want a whole number of reminders (1 or more), got "1.5"`,
			`do[1].task.remind_after: bad duration "soon": want e.g. 30m, 24h or 2d`,
			`do[2].task.remind_after: want a positive duration, got "-1h"`,
			`do[3].task: escalate_after and escalate_to need remind_after`,
			`do[3].task: escalate_after and escalate_to go together`,
			`do[4].task.escalate_after: want a whole number of reminders (1 or more), got "0"`,
			`do[4].task: escalate_after and escalate_to go together`,
		}},
		{"paygee inputs", `{"id": "a", "on": "paygee.customer_state", "do": [
			{"paygee.create_customer": {"name": "{{x}}", "nickname": "{{ | }}"}},
			{"paygee.update_customer": {"customer_id": "1"}},
			{"paygee.update_customer": {"status": "x"}},
			{"paygee.find_customer": {"id": "1"}},
			{"send_whatsapp": {"to": "{{steps.cust.phone}}", "text": "{{steps.later.name}}"}},
			{"id": "later", "paygee.find_customer": {"customer_id": "{{steps.later.id}}"}}
		]}`, []string{
			`do[0].paygee.create_customer: missing phone`,
			`do[0].paygee.create_customer.nickname: template: empty expression in {{ | }}`,
			`do[1].paygee.update_customer: nothing to update: add a field beside customer_id`,
			`do[2].paygee.update_customer: missing customer_id`,
			`do[3].paygee.find_customer: missing customer_id`,
			`do[3].paygee.find_customer.id: unknown input "id" (want customer_id)`,
			`do[4].send_whatsapp.text: steps.later.name refers to no earlier step with id "later"`,
			`do[4].send_whatsapp.to: steps.cust.phone refers to no earlier step with id "cust"`,
			`do[5].paygee.find_customer.customer_id: steps.later.id refers to no earlier step with id "later"`,
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			w, probs := Compile(def(t, tt.def))
			if w != nil {
				t.Errorf("Compile returned a workflow with problems")
			}
			got := make([]string, len(probs))
			for i, p := range probs {
				got[i] = p.Error()
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestProblemPath(t *testing.T) {
	_, probs := Compile(def(t, `{"id": "a", "on": "paygee.loan_state", "do": [
		{"task": {"to": "agent", "text": "ok"}},
		{"send_whatsapp": {"to": "customer", "text": "{{x | uppr}}"}}]}`))
	want := []Problem{{Path: []string{"do", "1", "send_whatsapp", "text"}, Msg: `template: unknown filter "uppr"`}}
	if !reflect.DeepEqual(probs, want) {
		t.Errorf("problems = %#v, want %#v", probs, want)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"24h", 24 * time.Hour, false},
		{"30m", 30 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"2d", 48 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{" 3d ", 72 * time.Hour, false},
		{"0s", 0, false},
		{"", 0, true},
		{"d", 0, true},
		{"2", 0, true},
		{"xd", 0, true},
		{"2d-1h", 0, true},
		{"2dd", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
