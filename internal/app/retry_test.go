package app_test

import (
	"context"
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

const twoRecipients = `
defaults: {country: KE}
workflows:
  - id: customer
    on: paygee.loan_state
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["a"]}}}]
  - id: office
    on: paygee.loan_state
    do: [{send_whatsapp: {to: "+254700000009", template: {name: thank_you, params: ["b"]}}}]
`

// Runs stored together share one job. One that fails is handed to a job of its own, with its
// status, and retried there; the shared job leaves it alone, and nothing is sent twice.
func TestSharedJobHandsAFailingRunToItsOwnJob(t *testing.T) {
	h := start(t, twoRecipients)
	h.ca.Faults().Push(sandbox.Fault{Status: 503})
	h.hook("loan-state", loanEvent("s1", "late", amina()))
	runs := h.waitRuns(2)
	var retried int64
	for _, r := range runs {
		eq(t, "status", r["status"], any("succeeded"))
		if r["attempts"] == any(float64(2)) {
			retried = int64(r["id"].(float64))
		}
	}
	if retried == 0 {
		t.Fatalf("no run was retried: %v", runs)
	}
	run, err := h.app.Store.Run(context.Background(), retried)
	if err != nil || !run.OwnJob {
		t.Fatalf("the retried run was not handed to a job of its own: %+v %v", run, err)
	}
	kinds := map[string]int{}
	rows, err := h.app.Store.DB().Query(`SELECT kind, COUNT(*) FROM river_job WHERE kind LIKE 'nudge_run%' GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		rows.Scan(&k, &n)
		kinds[k] = n
	}
	rows.Close()
	eq(t, "shared jobs", kinds["nudge_runs"], 1)
	eq(t, "own jobs", kinds["nudge_run"], 1)
	sent := h.waitSent(2)
	if sent[0].Destination == sent[1].Destination {
		t.Fatalf("one recipient got both messages: %+v", sent)
	}
	time.Sleep(200 * time.Millisecond) // a second send would come now
	eq(t, "sends", len(h.ca.Sent()), 2)
	eq(t, "submitted messages", len(h.api("GET", "/api/v1/messages?status=submitted").Body["messages"].([]any)), 2)
}
