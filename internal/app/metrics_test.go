package app_test

import (
	"strings"
	"testing"

	"nudge/internal/sandbox"
)

// /metrics exposes the SPEC §7.2 series, counted from what really happened.
func TestMetrics(t *testing.T) {
	h := start(t, oneReminder)
	h.hook("loan-state", loanEvent("m1", "late", amina()))
	h.waitSent(1)
	h.ca.Faults().Push(sandbox.Fault{Status: 400})
	h.hook("loan-state", loanEvent("m2", "late", amina("customer_phone", "0722111222")))
	h.waitRuns(2)
	// River records a finished job just after the run's own status: wait for it.
	var r response
	waitFor(t, "no pending jobs", func() bool {
		r = h.do("GET", "/metrics", nil, nil)
		return strings.Contains(r.Raw, "\nnudge_jobs_pending 0\n")
	})
	eq(t, "status", r.Status, 200)
	for _, want := range []string{
		`nudge_events_received_total{trigger="paygee.loan_state"} 2`,
		`nudge_runs_total{status="succeeded",workflow="remind"} 1`,
		`nudge_runs_total{status="failed",workflow="remind"} 1`,
		`nudge_messages_total{status="submitted"} 1`,
		`nudge_messages_total{status="failed"} 1`,
		`nudge_send_duration_seconds_count 2`,
		`nudge_jobs_pending 0`,
	} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
