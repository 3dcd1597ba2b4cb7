package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"nudge/internal/sandbox"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The log of a busy run — sends, failures, retries, inbound messages, tokens in URLs —
// holds no secret, no full phone number and no message body, and names events and runs.
func TestLogsHoldNoSecretsOrPhones(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := startWith(t, options{logger: log, callbacks: true}, inboundFlows+`
  - id: bad-phone
    on: paygee.loan_state
    if: {state: bad}
    do: [{send_whatsapp: {to: customer, text: "Secret offer for you"}}]
`)
	h.ca.FailDestination("254712345678", 1002, "Number 254712345678 Does Not Exist On WhatsApp")
	h.hook("loan-state", loanEvent("l1", "late", amina()))
	h.ca.Faults().Push(sandbox.Fault{Status: 500, Body: `{"status":"error","message":"boom for 254712345678"}`})
	h.hook("loan-state", loanEvent("l2", "defaulted", amina()))
	h.hook("loan-state", loanEvent("l3", "bad", amina("customer_phone", "0712 34")))
	h.do("POST", "/hooks/paygee/loan-state?token="+paygeeToken, []byte(`{"state":"late","payload":{"customer_phone":"0712345678","customer_name":"Amina"}}`), map[string]string{"Content-Type": "application/json"})
	h.do("POST", "/hooks/paygee/loan-state?token=wrong-"+paygeeToken, []byte(`{}`), nil)
	h.inbound("254712345678", "Balance")
	h.waitRuns(4)
	waitFor(t, "delivery events", func() bool {
		return len(h.api("GET", "/api/v1/events?trigger=chatarchitect.message_event").Body["events"].([]any)) > 0
	})

	out := buf.String()
	if !strings.Contains(out, `"run_id"`) || !strings.Contains(out, `"event_id"`) {
		t.Fatalf("log lines do not name runs and events:\n%s", out)
	}
	for _, secret := range []string{adminToken, paygeeToken, caToken, "test-secret", "paygee-key"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds secret %q", secret)
		}
	}
	for _, phone := range []string{"254712345678", "712345678", "0712 345 678", "254700000001"} {
		if strings.Contains(out, phone) {
			t.Errorf("log holds phone %q", phone)
		}
	}
	for _, body := range []string{"Secret offer", "please pay", "your balance is"} {
		if strings.Contains(out, body) {
			t.Errorf("log holds message text %q", body)
		}
	}
	// Every line is JSON.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("not JSON: %s", line)
		}
	}
}
