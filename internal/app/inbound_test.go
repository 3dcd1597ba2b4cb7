package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

const inboundFlows = `
defaults: {country: KE}
agents:
  - {name: Peter, phone: "+254700000001"}
workflows:
  - id: remind
    on: paygee.loan_state
    if: {state: late}
    do:
      - send_whatsapp:
          to: customer
          text: "Hi {{payload.customer_name | first_name}}, please pay."
          template: {name: payment_reminder, language: en, params: ["{{payload.customer_name | first_name}}", "1"]}
  - id: defaulted
    on: paygee.loan_state
    if: {state: defaulted}
    do:
      - task:
          to: agent
          text: "Visit {{payload.customer_name}}. Reply DONE {{task.number}}."
          template: {name: agent_task, params: ["{{task.number}}", "visit {{payload.customer_name}}"]}
  - id: balance-reply
    on: chatarchitect.message
    if: {message.text: {matches: "(?i)^balance$"}}
    do:
      - send_whatsapp: {to: "{{message.from}}", text: "Hi {{message.name}}, your balance is KES 1,500."}
  - id: failed-delivery
    on: chatarchitect.message_event
    if: {event.status: failed, event.workflow: remind}
    do:
      - task:
          to: agent
          text: "Message to {{event.to}} failed ({{event.reason}}). Call them. DONE {{task.number}}"
          template: {name: agent_task, params: ["{{task.number}}", "call {{event.to}}"]}
`

func (h *harness) caHook(body string) response {
	h.t.Helper()
	return h.do("POST", "/hooks/chatarchitect", []byte(body), map[string]string{"Content-Type": "application/json", "X-Nudge-Token": caToken})
}

func (h *harness) inbound(from, text string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ca.SendInbound(ctx, sandbox.InboundMessage{From: from, Name: "Amina", Text: text}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) contact(phone string) map[string]any {
	h.t.Helper()
	r := h.api("GET", "/api/v1/contacts/"+phone)
	if r.Status != 200 {
		h.t.Fatalf("contact: %d %s", r.Status, r.Raw)
	}
	return r.Body
}

func TestChatArchitectHookInput(t *testing.T) {
	h := start(t, inboundFlows)
	msg := `{"type":"message","payload":{"id":"wa-1","source":"254712345678","type":"text","payload":{"text":"hi"},"sender":{"phone":"254712345678","name":"Amina"}}}`
	eq(t, "no token", h.do("POST", "/hooks/chatarchitect", []byte(msg), map[string]string{"Content-Type": "application/json"}).Status, 401)
	eq(t, "paygee token", h.do("POST", "/hooks/chatarchitect", []byte(msg), map[string]string{"X-Nudge-Token": paygeeToken}).Status, 401)
	eq(t, "malformed", h.caHook(`{"type":`).Status, 400)
	eq(t, "no type", h.caHook(`{"payload":{}}`).Status, 400)
	eq(t, "unknown type", h.caHook(`{"type":"account-event","payload":{}}`).Status, 200)
	eq(t, "template-event", h.caHook(`{"type":"template-event","payload":{"status":"approved"}}`).Status, 200)
	eq(t, "events after refusals", len(h.api("GET", "/api/v1/events").Body["events"].([]any)), 0)
	first := h.caHook(msg)
	eq(t, "message", first.Status, 202)
	again := h.caHook(msg)
	eq(t, "repeat", again.Status, 202)
	eq(t, "repeat is a duplicate", again.Body["duplicate"], any(true))
	eq(t, "same event", again.Body["event_id"], first.Body["event_id"])
	// A minimal-form delivery event for a message nudge never sent is stored, not an error.
	eq(t, "unknown message event", h.caHook(`{"type":"message-event","payload":{"id":"nope","type":"delivered"}}`).Status, 202)
}

// An inbound message opens the 24-hour window: the next reminder goes out as text.
func TestInboundOpensTheWindow(t *testing.T) {
	h := start(t, inboundFlows)
	eq(t, "window before", h.contact("254712345678")["window_open"], any(false))
	h.hook("loan-state", loanEvent("l1", "late", amina()))
	sent := h.waitSent(1)
	eq(t, "closed window: template", sent[0].Kind, "template")

	h.inbound("254712345678", "Sawa, nitalipa")
	c := h.contact("0712345678")
	eq(t, "window after", c["window_open"], any(true))
	if c["last_inbound_at"] == nil {
		t.Fatal("no last_inbound_at")
	}
	h.hook("loan-state", loanEvent("l2", "late", amina()))
	sent = h.waitSent(2)
	eq(t, "open window: text", sent[1].Kind, "text")
	eq(t, "text", sent[1].Text, "Hi Amina, please pay.")
}

// chatarchitect.message is a trigger with normalised fields.
func TestInboundMessageTrigger(t *testing.T) {
	h := start(t, inboundFlows)
	h.inbound("254712345678", "Balance")
	sent := h.waitSent(1)
	eq(t, "destination", sent[0].Destination, "254712345678")
	eq(t, "text", sent[0].Text, "Hi Amina, your balance is KES 1,500.")
	h.inbound("254712345678", "thanks")
	runs := h.waitRuns(1)
	eq(t, "runs", len(runs), 1)
}

// Delivery events move a message forward only, whatever order they come in.
func TestDeliveryStatusFollowsEvents(t *testing.T) {
	h := startWith(t, options{callbacks: true}, inboundFlows)
	h.hook("loan-state", loanEvent("l1", "late", amina()))
	sent := h.waitSent(1)
	waitFor(t, "message read", func() bool {
		m := h.api("GET", "/api/v1/messages").Body["messages"].([]any)
		return len(m) == 1 && m[0].(map[string]any)["status"] == "read"
	})
	// Late and repeated events do not move it back.
	id := sent[0].MessageID
	for _, st := range []string{"delivered", "sent", "enqueued", "read", "failed"} {
		r := h.caHook(fmt.Sprintf(`{"type":"message-event","payload":{"id":"wamid","gsId":%q,"type":%q,"destination":"254712345678"}}`, id, st))
		eq(t, "event "+st, r.Status, 202)
	}
	m := h.api("GET", "/api/v1/messages").Body["messages"].([]any)[0].(map[string]any)
	eq(t, "status", m["status"], any("read"))
}

// A failed delivery keeps code and reason, marks an unreachable contact and can trigger a workflow
// that sees event.to and event.workflow.
func TestFailedDeliveryTriggersAndMarksTheContact(t *testing.T) {
	h := startWith(t, options{callbacks: true}, inboundFlows)
	h.ca.FailDestination("254712345678", 1002, "Number Does Not Exist On WhatsApp")
	h.hook("loan-state", loanEvent("l1", "late", amina()))
	sent := h.waitSent(2)
	eq(t, "task to the agent", sent[1].Destination, "254700000001")
	var tasks []any
	waitFor(t, "task", func() bool {
		tasks = h.api("GET", "/api/v1/tasks").Body["tasks"].([]any)
		return len(tasks) == 1
	})
	mustContain(t, tasks[0].(map[string]any)["text"].(string), "Message to 254712345678 failed (Number Does Not Exist On WhatsApp)")
	msgs := h.api("GET", "/api/v1/messages?workflow=remind").Body["messages"].([]any)
	m := msgs[0].(map[string]any)
	eq(t, "status", m["status"], any("failed"))
	eq(t, "error", m["error"], any("1002: Number Does Not Exist On WhatsApp"))
	c := h.contact("254712345678")
	eq(t, "unreachable contact opted out", c["opted_out"], any(true))
	// The next customer-directed run is skipped, with the reason.
	h.hook("loan-state", loanEvent("l2", "late", amina()))
	waitFor(t, "skipped run", func() bool { return len(h.runs("status=skipped")) == 1 })
	mustContain(t, h.runs("status=skipped")[0]["error"].(string), "contact opted out")
}

// STOP opts a customer out (agent tasks still go), START opts back in; so do user-events.
func TestOptOutAndIn(t *testing.T) {
	h := start(t, inboundFlows)
	h.inbound("254712345678", " stop ")
	eq(t, "opted out", h.contact("254712345678")["opted_out"], any(true))
	h.hook("loan-state", loanEvent("l1", "late", amina()))
	h.hook("loan-state", loanEvent("l2", "defaulted", amina()))
	runs := h.waitRuns(2)
	byWF := map[string]map[string]any{}
	for _, r := range runs {
		byWF[r["workflow"].(string)] = r
	}
	eq(t, "reminder skipped", byWF["remind"]["status"], any("skipped"))
	eq(t, "reason", byWF["remind"]["error"], any("contact opted out"))
	eq(t, "task still sent", byWF["defaulted"]["status"], any("succeeded"))
	eq(t, "only the task was sent", len(h.ca.Sent()), 1)

	h.inbound("254712345678", "START")
	eq(t, "opted back in", h.contact("254712345678")["opted_out"], any(false))
	h.hook("loan-state", loanEvent("l3", "late", amina()))
	h.waitSent(2)

	eq(t, "user-event", h.caHook(`{"type":"user-event","payload":{"phone":"254712345678","type":"opted-out"}}`).Status, 202)
	eq(t, "opted out by user-event", h.contact("254712345678")["opted_out"], any(true))
	eq(t, "user-event in", h.caHook(`{"type":"user-event","payload":{"phone":"254712345678","type":"opted-in"}}`).Status, 202)
	eq(t, "opted in by user-event", h.contact("254712345678")["opted_out"], any(false))
	// "please stop calling" is not the opt-out word.
	h.inbound("254712345678", "please stop calling")
	eq(t, "sentence is not STOP", h.contact("254712345678")["opted_out"], any(false))
}

// DONE <n> from the task's agent closes task n; from anyone else it does nothing.
func TestAgentClosesTaskWithDone(t *testing.T) {
	h := start(t, inboundFlows)
	h.hook("loan-state", loanEvent("l1", "defaulted", amina()))
	h.waitSent(1)
	h.waitRuns(1)
	h.inbound("254799999999", "DONE 1")
	eq(t, "open after a stranger's DONE", len(h.api("GET", "/api/v1/tasks?status=open").Body["tasks"].([]any)), 1)
	h.inbound("254700000001", "done 1")
	closed := h.api("GET", "/api/v1/tasks?status=closed").Body["tasks"].([]any)
	eq(t, "closed", len(closed), 1)
	if closed[0].(map[string]any)["closed_at"] == nil {
		t.Fatal("no closed_at")
	}
}

const reminderFlow = `
defaults: {country: KE}
agents:
  - {name: Peter, phone: "+254700000001"}
workflows:
  - id: defaulted
    on: paygee.loan_state
    if: {state: defaulted}
    do:
      - task:
          to: agent
          text: "Visit {{payload.customer_name}}. Reply DONE {{task.number}}."
          template: {name: agent_task, params: ["{{task.number}}", "visit {{payload.customer_name}}"]}
          remind_after: 300ms
          escalate_after: 1
          escalate_to: "+254700000009"
`

// An open task is re-sent after remind_after and, after escalate_after reminders, goes to
// escalate_to; once closed, nothing more.
func TestTaskRemindersAndEscalation(t *testing.T) {
	h := startWith(t, options{reminderInterval: 50 * time.Millisecond}, reminderFlow)
	h.hook("loan-state", loanEvent("l1", "defaulted", amina()))
	sent := h.waitSent(3)
	eq(t, "first to the agent", sent[0].Destination, "254700000001")
	// The reminder to the agent waits out the agent's one-message-a-second pacing, so the
	// escalation to another number may reach the provider first.
	eq(t, "one reminder to the agent", countTo(sent[1:3], "254700000001"), 1)
	eq(t, "one escalation", countTo(sent[1:3], "254700000009"), 1)
	for _, m := range sent {
		eq(t, "template", m.TemplateName, "agent_task")
	}
	h.inbound("254700000009", "DONE 1")
	time.Sleep(100 * time.Millisecond) // a reminder claimed just before DONE may still land
	n := len(h.ca.Sent())
	time.Sleep(700 * time.Millisecond)
	eq(t, "no reminder after DONE", len(h.ca.Sent()), n)
	var tasks []map[string]any
	raw, _ := json.Marshal(h.api("GET", "/api/v1/tasks").Body["tasks"])
	json.Unmarshal(raw, &tasks)
	eq(t, "closed", tasks[0]["status"], any("closed"))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const mediaFlow = `
defaults: {country: KE}
workflows:
  - id: photo
    on: chatarchitect.message
    if: {message.type: {in: [image, file]}}
    do:
      - send_whatsapp: {to: "{{message.from}}", text: "Got your {{message.type}} ({{message.caption | default \"no caption\"}}): {{message.media_url}}"}
  - id: where
    on: chatarchitect.message
    if: {message.type: location, message.latitude: {gt: 0}}
    do:
      - send_whatsapp: {to: "{{message.from}}", text: "You are at {{message.latitude}},{{message.longitude}}"}
`

// Media and location messages reach workflows with their normalised fields.
func TestInboundMediaAndLocation(t *testing.T) {
	h := start(t, mediaFlow)
	ctx := context.Background()
	if err := h.ca.SendInbound(ctx, sandbox.InboundMessage{From: "254712345678", Type: "image", MediaURL: "https://cdn.example/r.jpg", Caption: "receipt"}); err != nil {
		t.Fatal(err)
	}
	sent := h.waitSent(1)
	eq(t, "image reply", sent[0].Text, "Got your image (receipt): https://cdn.example/r.jpg")
	if err := h.ca.SendInbound(ctx, sandbox.InboundMessage{From: "254712345678", Type: "location", Latitude: "1.2921", Longitude: "36.8219"}); err != nil {
		t.Fatal(err)
	}
	sent = h.waitSent(2)
	eq(t, "location reply", sent[1].Text, "You are at 1.2921,36.8219")
	if err := h.ca.SendInbound(ctx, sandbox.InboundMessage{From: "254712345678", Type: "file", MediaURL: "https://cdn.example/id.pdf", Filename: "id.pdf"}); err != nil {
		t.Fatal(err)
	}
	sent = h.waitSent(3)
	eq(t, "file reply", sent[2].Text, "Got your file (no caption): https://cdn.example/id.pdf")
}
