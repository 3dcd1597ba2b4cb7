package app_test

import (
	"fmt"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

const oneReminder = `
defaults: {country: KE}
workflows:
  - id: remind
    on: paygee.loan_state
    do:
      - send_whatsapp:
          to: customer
          template: {name: payment_reminder, language: en, params: ["{{payload.customer_name | first_name}}", "5"]}
`

// Transient provider failures (5xx, 429 with Retry-After, a dropped connection) are retried
// and the message goes out once.
func TestTransientFailuresAreRetried(t *testing.T) {
	for _, f := range []sandbox.Fault{
		{Status: 500},
		{Status: 503},
		{Status: 429, RetryAfter: time.Second},
		{Drop: true},
		{Delay: 2 * time.Second}, // slower than chatarchitect.timeout
	} {
		t.Run(fmt.Sprintf("status %d drop %v delay %v", f.Status, f.Drop, f.Delay), func(t *testing.T) {
			h := start(t, oneReminder, "TIMEOUT", "300ms")
			h.ca.Faults().Push(f)
			start := time.Now()
			h.hook("loan-state", loanEvent("t1", "late", amina()))
			runs := h.waitRuns(1)
			eq(t, "status", runs[0]["status"], any("succeeded"))
			eq(t, "attempts", runs[0]["attempts"], any(float64(2)))
			eq(t, "sends", len(h.ca.Sent()), 1)
			// The fault may hit the template lookup or the send: either way one retry.
			eq(t, "requests", h.ca.Requests(), 3)
			if f.RetryAfter > 0 && time.Since(start) < f.RetryAfter {
				t.Fatalf("retried before Retry-After: %v", time.Since(start))
			}
		})
	}
}

// A 4xx other than 401/403/429 is permanent: one request, the run failed, the message failed.
func TestPermanentProviderErrorFailsTheRun(t *testing.T) {
	h := start(t, oneReminder)
	h.ca.Faults().Push(sandbox.Fault{Status: 400, Body: `{"status":"error","message":"Invalid destination"}`})
	h.hook("loan-state", loanEvent("p1", "late", amina()))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("failed"))
	mustContain(t, runs[0]["error"].(string), "Invalid destination")
	eq(t, "requests", h.ca.Requests(), 1)
	msgs := h.api("GET", "/api/v1/messages?status=failed").Body["messages"].([]any)
	eq(t, "failed messages", len(msgs), 1)
}

// A run that exhausts its attempts is dead; a replay is a fresh run that sends.
func TestDeadRunCanBeReplayed(t *testing.T) {
	h := start(t, oneReminder)
	h.ca.Faults().Push(sandbox.Fault{Status: 500, Times: 3})
	h.hook("loan-state", loanEvent("d1", "late", amina()))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("dead"))
	eq(t, "attempts", runs[0]["attempts"], any(float64(3)))
	eq(t, "sends", len(h.ca.Sent()), 0)
	eq(t, "dead filter", len(h.runs("status=dead")), 1)

	id := int64(runs[0]["id"].(float64))
	r := h.api("POST", fmt.Sprintf("/api/v1/runs/%d/replay", id))
	eq(t, "replay status", r.Status, 202)
	newID := int64(r.Body["run_id"].(float64))
	if newID == id {
		t.Fatal("replay reused the run id")
	}
	h.waitSent(1)
	runs = h.waitRuns(2)
	eq(t, "replayed run", runs[0]["status"], any("succeeded"))
	eq(t, "replay_of", runs[0]["replay_of"], any(float64(id)))
	eq(t, "same event", runs[0]["event_id"], runs[1]["event_id"])
	eq(t, "replay of unknown run", h.api("POST", "/api/v1/runs/999/replay").Status, 404)
}
