package app_test

import (
	"testing"

	"nudge/internal/sandbox"
)

const paygeeFlows = `
defaults: {country: KE}
workflows:
  - id: lookup-and-remind
    on: paygee.loan_state
    if: {state: late}
    do:
      - id: cust
        paygee.find_customer: {customer_id: "{{payload.customer_id}}"}
      - if: {steps.cust.found: true}
        send_whatsapp:
          to: "{{steps.cust.phone}}"
          template: {name: payment_reminder, params: ["{{steps.cust.name | first_name}}", "3"]}
  - id: enrich
    on: paygee.loan_state
    if: {state: penalty}
    do:
      - send_whatsapp:
          to: customer
          template: {name: payment_reminder, params: ["{{payload.loan_id}}", "7"]}
  - id: join
    on: chatarchitect.message
    if: {message.text: {matches: "(?i)^join$"}}
    do:
      - id: lead
        paygee.create_customer: {name: "{{message.name}}", phone: "{{message.from}}", state: lead}
      - send_whatsapp: {to: "{{message.from}}", text: "Karibu {{message.name}}! Your customer number is {{steps.lead.id}}."}
  - id: blocked
    on: paygee.customer_state
    if: {state: blocked}
    do:
      - send_whatsapp:
          to: customer
          template: {name: thank_you, params: ["{{payload.customer_id}}"]}
      - paygee.update_customer: {customer_id: "{{payload.customer_id}}", note: "blocked notice sent", notified: true}
`

// A step's result is available to later steps; a step's own if: branches.
func TestFindCustomerFeedsLaterSteps(t *testing.T) {
	h := start(t, paygeeFlows)
	h.hook("loan-state", loanEvent("f1", "late", map[string]any{"customer_id": "C-311"}))
	sent := h.waitSent(1)
	eq(t, "destination from Paygee", sent[0].Destination, "254712345678")
	eq(t, "name from Paygee", sent[0].Params[0], "Amina")
	// An unknown customer is an empty result: the send step's if: skips it, nothing fails.
	h.hook("loan-state", loanEvent("f2", "late", map[string]any{"customer_id": "C-404"}))
	runs := h.waitRuns(2)
	eq(t, "unknown customer run", runs[0]["status"], any("succeeded"))
	eq(t, "sends", len(h.ca.Sent()), 1)
}

// to: customer without a phone looks the customer up (once for a burst); an unknown
// customer ends the run without retries.
func TestRecipientLookup(t *testing.T) {
	h := start(t, paygeeFlows)
	h.hook("loan-state", loanEvent("e1", "penalty", map[string]any{"customer_id": "C-311", "loan_id": "L-1"}))
	h.hook("loan-state", loanEvent("e2", "penalty", map[string]any{"customer_id": "C-311", "loan_id": "L-2"}))
	sent := h.waitSent(2)
	eq(t, "looked-up phone", sent[0].Destination, "254712345678")
	gets := 0
	for _, r := range h.pg.Requests() {
		if r.Method == "GET" {
			gets++
		}
	}
	eq(t, "cached lookups", gets, 1)
	h.hook("loan-state", loanEvent("e3", "penalty", map[string]any{"customer_id": "C-404", "loan_id": "L-3"}))
	h.hook("loan-state", loanEvent("e4", "penalty", map[string]any{"customer_id": "C-999", "loan_id": "L-4"}))
	runs := h.waitRuns(4)
	eq(t, "no phone", runs[0]["status"], any("failed"))
	mustContain(t, runs[0]["error"].(string), `customer "C-999" has no phone`)
	eq(t, "unknown", runs[1]["status"], any("failed"))
	mustContain(t, runs[1]["error"].(string), `unknown customer "C-404"`)
	eq(t, "no retries", runs[1]["attempts"], any(float64(1)))
}

// An inbound JOIN creates a lead in Paygee and answers with its id.
func TestInboundJoinCreatesALead(t *testing.T) {
	h := start(t, paygeeFlows)
	h.inbound("254711000111", "JOIN")
	sent := h.waitSent(1)
	eq(t, "reply", sent[0].Text, "Karibu Amina! Your customer number is C-1001.")
	c, ok := h.pg.Customer("C-1001")
	if !ok || c["phone"] != "254711000111" || c["state"] != "lead" || c["name"] != "Amina" {
		t.Fatalf("created customer: %v", c)
	}
}

// A run whose second step (a Paygee update) fails once retries only that step: the
// message of the first step goes out exactly once.
func TestSecondStepFailureDoesNotResend(t *testing.T) {
	h := start(t, paygeeFlows)
	h.pg.Faults().Push(sandbox.Fault{Status: 503, RetryAfter: 0})
	h.hook("customer-state", loanEvent("b1", "blocked", map[string]any{"customer_id": "C-311", "customer_phone": "0712345678"}))
	runs := h.waitRuns(1)
	eq(t, "status", runs[0]["status"], any("succeeded"))
	eq(t, "attempts", runs[0]["attempts"], any(float64(2)))
	eq(t, "sent exactly once", len(h.ca.Sent()), 1)
	c, _ := h.pg.Customer("C-311")
	eq(t, "updated field", c["note"], any("blocked notice sent"))
	eq(t, "typed field", c["notified"], any(true))
	// A permanent Paygee refusal fails the run, still without resending.
	h.pg.Faults().Push(sandbox.Fault{Status: 400})
	h.hook("customer-state", loanEvent("b2", "blocked", map[string]any{"customer_id": "C-311", "customer_phone": "0712345678"}))
	runs = h.waitRuns(2)
	eq(t, "failed", runs[0]["status"], any("failed"))
	eq(t, "sends", len(h.ca.Sent()), 2)
}
