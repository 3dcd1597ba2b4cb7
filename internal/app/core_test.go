package app_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"nudge/internal/server"
)

const threeTriggers = `
defaults: {country: KE}
agents:
  - {name: Peter, phone: "+254700000001"}
workflows:
  - id: late-5-days
    on: paygee.loan_state
    if:
      state: days_late
      payload.days_late: 5
      payload.balance: {gt: 0}
    once_per: "{{payload.loan_id}}:{{payload.days_late}}"
    do:
      - send_whatsapp:
          to: customer
          text: "Habari {{payload.customer_name | first_name}}, {{payload.days_late}} days late."
          template:
            name: payment_reminder
            language: "{{payload.language | default \"en\"}}"
            params: ["{{payload.customer_name | first_name}}", "{{payload.days_late}}"]
  - id: customer-blocked
    on: paygee.customer_state
    if: {state: blocked}
    do:
      - task:
          to: agent
          text: "Customer {{payload.customer_id}} blocked. Reply DONE {{task.number}}."
          template: {name: agent_task, params: ["{{task.number}}", "customer {{payload.customer_id}} blocked"]}
  - id: welcome
    on: paygee.sales_case_state
    if: {state: dp_paid}
    do:
      - send_whatsapp:
          to: "{{payload.customer_phone}}"
          text: "Karibu!"
          template: {name: welcome, params: ["{{payload.customer_name | first_name}}", "{{payload.product | default \"your system\"}}"]}
`

// Each Paygee trigger, posted to the real server, reaches the fake ChatArchitect as the
// exact template send it should be (the 24-hour window is closed: no inbound traffic yet).
func TestPaygeeTriggersSendWhatTheWorkflowsSay(t *testing.T) {
	h := start(t, threeTriggers)
	r := h.hook("loan-state", loanEvent("evt-1", "days_late", amina("days_late", "5")))
	eq(t, "loan-state status", r.Status, 202)
	eq(t, "duplicate", r.Body["duplicate"], any(false))
	sent := h.waitSent(1)
	r = h.hook("customer-state", loanEvent("evt-2", "blocked", map[string]any{"customer_id": "C-311", "agent_name": "Peter"}))
	eq(t, "customer-state status", r.Status, 202)
	sent = h.waitSent(2)
	r = h.hook("sales-case-state", loanEvent("evt-3", "dp_paid", map[string]any{"customer_name": "mercy achieng", "customer_phone": "+254 700 123 456"}))
	eq(t, "sales-case-state status", r.Status, 202)
	sent = h.waitSent(3)
	h.waitRuns(3)

	want := []struct {
		dest, tpl string
		params    []string
	}{
		{"254712345678", "payment_reminder", []string{"Amina", "5"}},
		{"254700000001", "agent_task", []string{"1", "customer C-311 blocked"}},
		{"254700123456", "welcome", []string{"Mercy", "your system"}},
	}
	for i, w := range want {
		m := sent[i]
		eq(t, fmt.Sprintf("send %d destination", i), m.Destination, w.dest)
		eq(t, fmt.Sprintf("send %d kind", i), m.Kind, "template")
		eq(t, fmt.Sprintf("send %d template", i), m.TemplateName, w.tpl)
		if m.TemplateID == "" {
			t.Fatalf("send %d: no template id", i)
		}
		if !reflect.DeepEqual(m.Params, w.params) {
			t.Fatalf("send %d params: got %v, want %v", i, m.Params, w.params)
		}
	}
	// The Swahili template was chosen by the payload's language.
	var body map[string]any
	json.Unmarshal(sent[0].Body, &body)
	if tid := body["template"].(map[string]any)["id"]; tid != sent[0].TemplateID || tid != "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a02" {
		t.Fatalf("template id in body %v, recorded %v, want the sw payment_reminder", tid, sent[0].TemplateID)
	}
	for _, run := range h.runs("") {
		eq(t, "run "+run["workflow"].(string), run["status"], any("succeeded"))
	}
	msgs := h.api("GET", "/api/v1/messages").Body["messages"].([]any)
	eq(t, "messages", len(msgs), 3)
	for _, m := range msgs {
		mm := m.(map[string]any)
		eq(t, "message status", mm["status"], any("submitted"))
		if mm["provider_id"] == "" {
			t.Fatal("message without provider id")
		}
	}
	tasks := h.api("GET", "/api/v1/tasks?status=open").Body["tasks"].([]any)
	eq(t, "open tasks", len(tasks), 1)
	task := tasks[0].(map[string]any)
	eq(t, "task number", task["number"], any(float64(1)))
	mustContain(t, task["text"].(string), "DONE 1")
}

// A non-matching event is stored but runs nothing.
func TestConditionsFilterEvents(t *testing.T) {
	h := start(t, threeTriggers)
	for i, p := range []map[string]any{amina("days_late", 4), amina("days_late", "5", "balance", 0), amina("days_late", "five")} {
		r := h.hook("loan-state", loanEvent(fmt.Sprint("e", i), "days_late", p))
		eq(t, "status", r.Status, 202)
	}
	eq(t, "runs", len(h.runs("")), 0)
	eq(t, "events", len(h.api("GET", "/api/v1/events").Body["events"].([]any)), 3)
	eq(t, "sends", h.ca.Requests(), 0)
}

// A repeated Paygee id is answered as a duplicate and runs nothing.
func TestDuplicateEventIDRunsNothing(t *testing.T) {
	h := start(t, threeTriggers)
	first := h.hook("loan-state", loanEvent("evt-dup", "days_late", amina("days_late", 5)))
	eq(t, "first status", first.Status, 202)
	second := h.hook("loan-state", loanEvent("evt-dup", "days_late", amina("days_late", 5)))
	eq(t, "second status", second.Status, 202)
	eq(t, "second duplicate", second.Body["duplicate"], any(true))
	eq(t, "same event id", second.Body["event_id"], first.Body["event_id"])
	h.waitSent(1)
	runs := h.waitRuns(1)
	eq(t, "runs", len(runs), 1)
	events := h.api("GET", "/api/v1/events").Body["events"].([]any)
	eq(t, "events stored", len(events), 2)
	eq(t, "newest is the duplicate", events[0].(map[string]any)["duplicate"], any(true))
	eq(t, "sends", len(h.ca.Sent()), 1)
}

// once_per: a second days_late=5 for the same loan (a new delivery id, as Paygee fires it
// at least daily) is skipped with the reason, and nothing more is sent.
func TestOncePerSkipsARepeat(t *testing.T) {
	h := start(t, threeTriggers)
	h.hook("loan-state", loanEvent("a", "days_late", amina("days_late", 5)))
	r := h.hook("loan-state", loanEvent("b", "days_late", amina("days_late", "5")))
	eq(t, "duplicate", r.Body["duplicate"], any(false))
	runs := h.waitRuns(2)
	eq(t, "newest run", runs[0]["status"], any("skipped"))
	mustContain(t, runs[0]["error"].(string), `once_per: key "L-1042:5" already ran`)
	eq(t, "oldest run", runs[1]["status"], any("succeeded"))
	eq(t, "sends", len(h.ca.Sent()), 1)
	// Another loan has its own key.
	h.hook("loan-state", loanEvent("c", "days_late", amina("days_late", 5, "loan_id", "L-2000")))
	h.waitSent(2)
}

// Every kind of bad input gets its status code and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	h := start(t, threeTriggers)
	valid := `{"id":"x","state":"days_late","payload":{"days_late":5}}`
	json := map[string]string{"Content-Type": "application/json", "X-Nudge-Token": paygeeToken}
	big := `{"state":"days_late","pad":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name    string
		path    string
		body    string
		headers map[string]string
		status  int
	}{
		{"malformed JSON", "/hooks/paygee/loan-state", `{"state":`, json, 400},
		{"array body", "/hooks/paygee/loan-state", `[{"state":"late"}]`, json, 400},
		{"string body", "/hooks/paygee/loan-state", `"late"`, json, 400},
		{"missing state", "/hooks/paygee/loan-state", `{"payload":{}}`, json, 400},
		{"state not a string", "/hooks/paygee/loan-state", `{"state":5}`, json, 400},
		{"payload not an object", "/hooks/paygee/loan-state", `{"state":"late","payload":[1]}`, json, 400},
		{"trailing garbage", "/hooks/paygee/loan-state", `{"state":"late"} {}`, json, 400},
		{"no token", "/hooks/paygee/loan-state", valid, map[string]string{"Content-Type": "application/json"}, 401},
		{"wrong token", "/hooks/paygee/loan-state", valid, map[string]string{"Content-Type": "application/json", "X-Nudge-Token": "nope"}, 401},
		{"wrong query token", "/hooks/paygee/loan-state?token=nope", valid, map[string]string{"Content-Type": "application/json"}, 401},
		{"unknown hook", "/hooks/paygee/loan-status", valid, json, 404},
		{"unknown source", "/hooks/stripe", valid, json, 404},
		{"too large", "/hooks/paygee/loan-state", big, json, 413},
		{"not JSON", "/hooks/paygee/loan-state", valid, map[string]string{"Content-Type": "text/plain", "X-Nudge-Token": paygeeToken}, 415},
		{"form", "/hooks/paygee/loan-state", "state=late", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Nudge-Token": paygeeToken}, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", c.path, []byte(c.body), c.headers)
			eq(t, "status", r.Status, c.status)
		})
	}
	eq(t, "events stored", len(h.api("GET", "/api/v1/events").Body["events"].([]any)), 0)
	eq(t, "runs", len(h.runs("")), 0)
	eq(t, "requests to ChatArchitect", h.ca.Requests(), 0)
	// The same body with the query token is fine.
	r := h.do("POST", "/hooks/paygee/loan-state?token="+paygeeToken, []byte(valid), map[string]string{"Content-Type": "application/json"})
	eq(t, "query token", r.Status, 202)
}

// With a signing secret, X-Paygee-Signature must be the HMAC of the raw body.
func TestPaygeeSignature(t *testing.T) {
	hs := start(t, "\nworkflows: []\n", "SIGNING", "sign-me")
	body := []byte(`{"id":"s1","state":"days_late","payload":{"days_late":5}}`)
	hdr := func(sig string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "X-Nudge-Token": paygeeToken, "X-Paygee-Signature": sig}
	}
	eq(t, "no signature", hs.do("POST", "/hooks/paygee/loan-state", body, hdr("")).Status, 401)
	eq(t, "wrong signature", hs.do("POST", "/hooks/paygee/loan-state", body, hdr(server.Sign(body, "other"))).Status, 401)
	eq(t, "not hex", hs.do("POST", "/hooks/paygee/loan-state", body, hdr("sha256=zz")).Status, 401)
	eq(t, "signature of another body", hs.do("POST", "/hooks/paygee/loan-state", body, hdr(server.Sign(append(body, ' '), "sign-me"))).Status, 401)
	eq(t, "events after refusals", len(hs.api("GET", "/api/v1/events").Body["events"].([]any)), 0)
	eq(t, "right signature", hs.do("POST", "/hooks/paygee/loan-state", body, hdr(server.Sign(body, "sign-me"))).Status, 202)
}

// A template field that the event lacks fails the run by name and sends nothing.
func TestMissingFieldFailsTheRunAndSendsNothing(t *testing.T) {
	h := start(t, threeTriggers)
	p := amina("days_late", 5)
	delete(p, "customer_name")
	h.hook("loan-state", loanEvent("m1", "days_late", p))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("failed"))
	mustContain(t, runs[0]["error"].(string), `missing field "payload.customer_name"`)
	eq(t, "attempts", runs[0]["attempts"], any(float64(1)))
	eq(t, "requests to ChatArchitect", h.ca.Requests(), 0)
}

// An invalid phone fails the step permanently, with the reason.
func TestInvalidPhoneFailsPermanently(t *testing.T) {
	h := start(t, threeTriggers)
	h.hook("loan-state", loanEvent("p1", "days_late", amina("days_late", 5, "customer_phone", "12")))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("failed"))
	mustContain(t, runs[0]["error"].(string), "invalid customer phone number")
	eq(t, "requests to ChatArchitect", h.ca.Requests(), 0)
}

const textOnly = `
defaults: {country: KE}
workflows:
  - id: text-only
    on: paygee.loan_state
    do:
      - send_whatsapp: {to: customer, text: "Hello {{payload.customer_name | first_name}}"}
`

// The window is closed: a text-only step fails with the reason unless the provider matches
// text to templates (hsm_text_matching).
func TestClosedWindowNeedsATemplate(t *testing.T) {
	h := start(t, textOnly)
	h.hook("loan-state", loanEvent("w1", "late", amina()))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("failed"))
	mustContain(t, runs[0]["error"].(string), "24-hour window closed")
	eq(t, "requests", h.ca.Requests(), 0)

	h2 := start(t, textOnly, "HSM", "true")
	h2.hook("loan-state", loanEvent("w1", "late", amina()))
	sent := h2.waitSent(1)
	eq(t, "kind", sent[0].Kind, "text")
	eq(t, "text", sent[0].Text, "Hello Amina")
	eq(t, "destination", sent[0].Destination, "254712345678")
	eq(t, "run", h2.waitRuns(1)[0]["status"], any("succeeded"))
}

// The admin API wants the bearer token.
func TestAdminAPIRequiresTheToken(t *testing.T) {
	h := start(t, threeTriggers)
	for _, path := range []string{"/api/v1/workflows", "/api/v1/events", "/api/v1/runs", "/api/v1/messages", "/api/v1/tasks", "/api/v1/contacts/254712345678"} {
		eq(t, path+" without token", h.do("GET", path, nil, nil).Status, 401)
		eq(t, path+" wrong token", h.do("GET", path, nil, map[string]string{"Authorization": "Bearer nope"}).Status, 401)
		eq(t, path+" with token", h.api("GET", path).Status, 200)
	}
	eq(t, "replay without token", h.do("POST", "/api/v1/runs/1/replay", nil, nil).Status, 401)
	wfs := h.api("GET", "/api/v1/workflows").Body["workflows"].([]any)
	eq(t, "workflows", len(wfs), 3)
	eq(t, "first workflow", wfs[0].(map[string]any)["id"], any("late-5-days"))
}
