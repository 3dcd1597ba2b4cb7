package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nudge/internal/store"
)

// The demo plays its first round against the real server: reminders go out, a customer's
// STOP opts her out, an agent closes a task, a number not on WhatsApp fails, a run dies.
func TestDemoFirstRound(t *testing.T) {
	var out bytes.Buffer
	var running atomic.Pointer[Running]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	w := &syncWriter{w: &out}
	go func() {
		done <- Run(ctx, Options{Out: w, Logger: slog.New(slog.DiscardHandler), Listen: "127.0.0.1:0",
			Interval: 150 * time.Millisecond, Ready: func(r *Running) { running.Store(r) }})
	}()
	var dead, opted, closed, failed, joined, lookedUp bool
	deadline := time.Now().Add(50 * time.Second)
	for !(dead && opted && closed && failed && joined && lookedUp) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		r := running.Load()
		if r == nil {
			continue
		}
		st := r.App.Store
		if runs, _ := st.ListRuns(ctx, store.RunFilter{Status: store.RunDead}); len(runs) > 0 {
			dead = true
		}
		if c, _ := st.Contact(ctx, "254711999000"); c.OptedOut {
			opted = true
		}
		if ts, _ := st.ListTasks(ctx, store.TaskFilter{Status: store.TaskClosed}); len(ts) > 0 {
			closed = true
		}
		if ms, _ := st.ListMessages(ctx, store.MessageFilter{Status: store.MsgFailed}); len(ms) > 0 {
			failed = true
		}
		if _, ok := r.Paygee.Customer("C-1001"); ok {
			joined = true
		}
		// Faith's days_late events carry no phone: her reminder went to the number Paygee has.
		if ms, _ := st.ListMessages(ctx, store.MessageFilter{To: "254733444555", Workflow: "late-5-days"}); len(ms) > 0 {
			lookedUp = true
		}
	}
	if !(dead && opted && closed && failed && joined && lookedUp) {
		t.Fatalf("dead run %v, STOP %v, task closed %v, delivery failure %v, JOIN %v, lookup %v\n%s",
			dead, opted, closed, failed, joined, lookedUp, w.String())
	}
	cancel()
	<-done
	text := w.String()
	for _, want := range []string{"nudge demo is running at http://127.0.0.1:", "admin token", "template payment_reminder [Amina 5]", `"STOP" (Brian opts out)`} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
