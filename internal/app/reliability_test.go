package app_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

// A provider 401 pauses sending without using up attempts, and the work goes out once a
// probe finds the credentials good again.
func TestAuthFailurePausesSendingAndKeepsTheWork(t *testing.T) {
	h := startWith(t, options{authPause: 150 * time.Millisecond}, oneReminder)
	h.ca.Faults().Push(sandbox.Fault{Status: 401, Times: 4})
	h.hook("loan-state", loanEvent("a1", "late", amina()))
	waitFor(t, "the pause", func() bool {
		runs := h.runs("")
		return len(runs) == 1 && runs[0]["status"] == "retrying" && strings.Contains(runs[0]["error"].(string), "401")
	})
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("succeeded"))
	eq(t, "attempts not used up", runs[0]["attempts"], any(float64(1)))
	eq(t, "sent once", len(h.ca.Sent()), 1)
	if h.ca.Requests() < 5 {
		t.Fatalf("only %d requests: the 401s were not all met", h.ca.Requests())
	}
}

const twoSteps = `
defaults: {country: KE}
agents:
  - {name: Peter, phone: "+254700000001"}
workflows:
  - id: both
    on: paygee.loan_state
    do:
      - id: reminder
        send_whatsapp:
          to: customer
          template: {name: payment_reminder, params: ["{{payload.customer_name | first_name}}", "5"]}
      - task:
          to: agent
          text: "Call {{payload.customer_name}}: reminder {{steps.reminder.provider_id}}"
          template: {name: agent_task, params: ["{{task.number}}", "call {{payload.customer_name}}"]}
`

// A run whose second step fails resumes after its first: the reminder goes out once, on the
// retry and on a replay.
func TestRetryAndReplayResumeAfterFinishedSteps(t *testing.T) {
	h := start(t, twoSteps)
	// Step 1's template lookup and send succeed; step 2's send fails once (500), then for
	// good (400).
	h.hook("loan-state", loanEvent("s1", "late", amina()))
	h.waitSent(2)
	runs := h.waitRuns(1)
	eq(t, "first run", runs[0]["status"], any("succeeded"))

	h.ca.Reset()
	h.ca.Faults().Push(sandbox.Fault{Status: 0})   // step 1's send passes
	h.ca.Faults().Push(sandbox.Fault{Status: 500}) // step 2 fails once
	h.hook("loan-state", loanEvent("s2", "late", amina()))
	sent := h.waitSent(2)
	runs = h.waitRuns(2)
	eq(t, "retried run", runs[0]["status"], any("succeeded"))
	eq(t, "attempts", runs[0]["attempts"], any(float64(2)))
	eq(t, "customer got one reminder", countTo(sent, "254712345678"), 1)

	h.ca.Reset()
	h.ca.Faults().Push(sandbox.Fault{Status: 0})
	h.ca.Faults().Push(sandbox.Fault{Status: 400})
	h.hook("loan-state", loanEvent("s3", "late", amina()))
	runs = h.waitRuns(3)
	eq(t, "failed run", runs[0]["status"], any("failed"))
	eq(t, "reminder sent before the failure", len(h.ca.Sent()), 1)
	r := h.api("POST", "/api/v1/runs/"+itoa(runs[0]["id"])+"/replay")
	eq(t, "replay", r.Status, 202)
	sent = h.waitSent(2)
	runs = h.waitRuns(4)
	eq(t, "replayed run", runs[0]["status"], any("succeeded"))
	eq(t, "replay did not resend the reminder", countTo(sent, "254712345678"), 1)
	eq(t, "replay sent the task", countTo(sent, "254700000001"), 1)
}

func countTo(sent []sandbox.SentMessage, dest string) int {
	n := 0
	for _, m := range sent {
		if m.Destination == dest {
			n++
		}
	}
	return n
}

func itoa(v any) string { return strconv.FormatInt(int64(v.(float64)), 10) }

const quiet = `
defaults: {country: KE, timezone: Africa/Nairobi, quiet_hours: "20:00-07:00"}
agents:
  - {name: Peter, phone: "+254700000001"}
workflows:
  - id: remind
    on: paygee.loan_state
    if: {state: late}
    do:
      - send_whatsapp:
          to: customer
          template: {name: payment_reminder, params: ["{{payload.customer_name | first_name}}", "5"]}
  - id: task
    on: paygee.loan_state
    if: {state: defaulted}
    do:
      - task: {to: agent, text: "x {{task.number}}", template: {name: agent_task, params: ["{{task.number}}", "x"]}}
`

// Customer-directed messages due in quiet hours wait for their end; agent tasks do not.
func TestQuietHoursHoldCustomerMessages(t *testing.T) {
	nairobi, _ := time.LoadLocation("Africa/Nairobi")
	// The clock starts 6 s before 07:00 in Nairobi and runs at real speed: room for a slow
	// start under a loaded machine, and a short wait for the test.
	base := time.Date(2026, 12, 4, 6, 59, 54, 0, nairobi)
	started := time.Now()
	clock := func() time.Time { return base.Add(time.Since(started)) }
	h := startWith(t, options{now: clock}, quiet)
	h.hook("loan-state", loanEvent("q1", "late", amina()))
	h.hook("loan-state", loanEvent("q2", "defaulted", amina()))
	sent := h.waitSent(1)
	eq(t, "the task goes out at once", sent[0].Destination, "254700000001")
	waitFor(t, "a waiting run", func() bool { return len(h.runs("status=waiting")) == 1 })
	mustContain(t, h.runs("status=waiting")[0]["error"].(string), "quiet hours until 07:00")
	eq(t, "nothing to the customer yet", countTo(h.ca.Sent(), "254712345678"), 0)
	sent = h.waitSent(2)
	if clock().Before(time.Date(2026, 12, 4, 7, 0, 0, 0, nairobi)) {
		t.Fatal("sent before quiet hours ended")
	}
	eq(t, "then the reminder", sent[1].Destination, "254712345678")
	runs := h.waitRuns(2)
	for _, r := range runs {
		eq(t, "run "+r["workflow"].(string), r["status"], any("succeeded"))
		eq(t, "waiting used no attempt", r["attempts"], any(float64(1)))
	}
}

// Past max_per_contact_per_day, customer-directed messages are skipped with the reason.
func TestDailyCapSkips(t *testing.T) {
	h := start(t, strings.Replace(oneReminder, "defaults: {country: KE}", "defaults: {country: KE, max_per_contact_per_day: 2}", 1))
	for _, id := range []string{"c1", "c2", "c3"} {
		h.hook("loan-state", loanEvent(id, "late", amina()))
		h.waitRuns(1)
	}
	runs := h.waitRuns(3)
	eq(t, "newest skipped", runs[0]["status"], any("skipped"))
	mustContain(t, runs[0]["error"].(string), "daily cap of 2")
	eq(t, "sends", len(h.ca.Sent()), 2)
}

const twoToOne = `
defaults: {country: KE}
workflows:
  - id: one
    on: paygee.loan_state
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["a"]}}}]
  - id: two
    on: paygee.loan_state
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["b"]}}}]
`

// One contact never gets two messages within a second.
func TestPerRecipientPacing(t *testing.T) {
	h := start(t, twoToOne)
	h.hook("loan-state", loanEvent("p1", "good", amina()))
	sent := h.waitSent(2)
	if gap := sent[1].At.Sub(sent[0].At); gap < 990*time.Millisecond {
		t.Fatalf("two messages to one contact %v apart", gap)
	}
}

// While the database cannot commit, hooks answer 503 and readiness fails.
func TestUnavailableDatabaseAnswers503(t *testing.T) {
	h := start(t, oneReminder)
	eq(t, "ready", h.do("GET", "/readyz", nil, nil).Status, 200)
	h.app.Store.Close()
	r := h.hook("loan-state", loanEvent("u1", "late", amina()))
	eq(t, "hook", r.Status, 503)
	eq(t, "ready", h.do("GET", "/readyz", nil, nil).Status, 503)
	eq(t, "live", h.do("GET", "/healthz", nil, nil).Status, 200)
}

// Random bodies and headers get a 4xx, never a 5xx, and the server stays up.
func TestGarbageIsRefused(t *testing.T) {
	h := start(t, oneReminder)
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"application/json", "", "text/plain", "application/json; charset=utf-8", "application/x-www-form-urlencoded"}
	paths := []string{"/hooks/paygee/loan-state", "/hooks/paygee/customer-state", "/hooks/chatarchitect"}
	seeds := []string{`{"state":`, `{"type":"message","payload":{"payload":7}}`, `{"state":{"a":1}}`, `{"type":"message-event","payload":[]}`, "\xff\xfe", `{"type":5}`}
	for i := 0; i < 300; i++ {
		var body []byte
		if i%3 == 0 {
			body = []byte(seeds[rng.IntN(len(seeds))])
		} else {
			body = make([]byte, rng.IntN(300))
			for j := range body {
				body[j] = byte(rng.IntN(256))
			}
		}
		path := paths[rng.IntN(len(paths))]
		token := paygeeToken
		if strings.Contains(path, "chatarchitect") {
			token = caToken
		}
		r := h.do("POST", path, body, map[string]string{"Content-Type": types[rng.IntN(len(types))], "X-Nudge-Token": token})
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("body %q to %s: %d %s", body, path, r.Status, r.Raw)
		}
	}
	eq(t, "alive", h.do("GET", "/healthz", nil, nil).Status, 200)
	eq(t, "nothing stored", len(h.api("GET", "/api/v1/events").Body["events"].([]any)), 0)
}
