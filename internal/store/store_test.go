package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"nudge/internal/store"
	"nudge/internal/store/storetest"
)

// backend is the database the suite runs on now.
var backend string

// TestMain runs every test of the package once per backend, SQLite then PostgreSQL: the
// store's behaviour is one specification that both dialects pass (a conformance suite, as
// River's drivers have). A test opens its store with open(t).
func TestMain(m *testing.M) {
	code := 0
	for _, b := range storetest.Backends() {
		backend = b
		fmt.Printf("=== store tests on %s\n", b)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	os.Exit(code)
}

// dsn is a new, empty database of the current backend.
func dsn(t *testing.T) string {
	t.Helper()
	d := storetest.DSN(t, backend)
	t.Logf("backend %s", backend)
	return d
}

// open returns a store on a new database of the current backend.
func open(t *testing.T) *store.Store {
	t.Helper()
	return openDSN(t, dsn(t))
}

func openDSN(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenRefusesUnknownDatabases(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "nudge.db", "sqlite:"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

func TestMigrationsRunOnce(t *testing.T) {
	path := dsn(t)
	for i := 0; i < 2; i++ {
		s, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		s.Close()
	}
}

func TestIngestDuplicatesAndOnceKeys(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var enqueued []int64
	enqueue := func(ctx context.Context, tx *sql.Tx, _ int64, ids []int64) error {
		enqueued = append(enqueued, ids...)
		return nil
	}
	ev := store.NewEvent{Trigger: "paygee.loan_state", ExternalID: "e1", State: "days_late", Body: []byte(`{"state":"days_late"}`)}
	plan := []store.PlannedRun{{Workflow: "a", OnceKey: "L1:5"}, {Workflow: "b"}}
	first, err := s.Ingest(ctx, ev, plan, enqueue)
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || len(first.Runs) != 2 || len(enqueued) != 2 {
		t.Fatalf("first ingest: %+v, enqueued %v", first, enqueued)
	}
	dup, err := s.Ingest(ctx, ev, plan, enqueue)
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.EventID != first.EventID || len(dup.Runs) != 0 || len(enqueued) != 2 {
		t.Fatalf("duplicate ingest: %+v, enqueued %v", dup, enqueued)
	}
	// Same id on another trigger is another event.
	other := ev
	other.Trigger = "paygee.customer_state"
	if r, _ := s.Ingest(ctx, other, nil, enqueue); r.Duplicate {
		t.Fatal("id collided across triggers")
	}
	// A new delivery with the same once key: workflow a skipped, b queued.
	ev.ExternalID = "e2"
	third, err := s.Ingest(ctx, ev, plan, enqueue)
	if err != nil {
		t.Fatal(err)
	}
	if third.Runs[0].Status != store.RunSkipped || third.Runs[1].Status != store.RunQueued || len(enqueued) != 3 {
		t.Fatalf("once key: %+v", third.Runs)
	}
	evs, _ := s.ListEvents(ctx, store.EventFilter{})
	if len(evs) != 4 || evs[2].DuplicateOf != first.EventID {
		t.Fatalf("events: %+v", evs)
	}
}

func TestIngestRollsBackWhenEnqueueFails(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	_, err := s.Ingest(ctx, store.NewEvent{Trigger: "t", State: "x", Body: []byte(`{}`)}, []store.PlannedRun{{Workflow: "a"}},
		func(context.Context, *sql.Tx, int64, []int64) error { return sql.ErrConnDone })
	if err == nil {
		t.Fatal("no error")
	}
	if n, _ := s.CountEvents(ctx); n != 0 {
		t.Fatalf("event kept after a failed enqueue: %d", n)
	}
}

func TestMessageStatusOnlyMovesForward(t *testing.T) {
	cases := []struct {
		from, to string
		want     bool
	}{
		{store.MsgSubmitted, store.MsgEnqueued, true},
		{store.MsgEnqueued, store.MsgDelivered, true},
		{store.MsgDelivered, store.MsgSent, false},
		{store.MsgRead, store.MsgDelivered, false},
		{store.MsgSent, store.MsgFailed, true},
		{store.MsgDelivered, store.MsgFailed, false},
		{store.MsgFailed, store.MsgRead, false},
		{store.MsgSent, "deleted", false},
	}
	for _, c := range cases {
		if got := store.StatusAdvances(c.from, c.to); got != c.want {
			t.Errorf("%s → %s: %v", c.from, c.to, got)
		}
	}
}

func TestPrepareMessageIsIdempotentPerStep(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	m, err := s.PrepareMessage(ctx, store.Message{RunID: 1, StepIndex: 0, Workflow: "w", To: "254712345678", Kind: "text", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MessageSubmitted(ctx, m.ID, "prov-1"); err != nil {
		t.Fatal(err)
	}
	again, err := s.PrepareMessage(ctx, store.Message{RunID: 1, StepIndex: 0, Workflow: "w", To: "254712345678", Kind: "text", Text: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != m.ID || again.ProviderID != "prov-1" || again.Text != "hi" || again.Status != store.MsgSubmitted {
		t.Fatalf("second prepare: %+v", again)
	}
	n, _ := s.CountSentSince(ctx, "254712345678", time.Now().Add(-time.Hour), 0)
	if n != 1 {
		t.Fatalf("sent count %d", n)
	}
}

func TestContactWindowNeverMovesBack(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	c, _ := s.Contact(ctx, "254712345678")
	if c.WindowOpen(now) || c.OptedOut {
		t.Fatalf("unknown contact: %+v", c)
	}
	s.TouchInbound(ctx, "254712345678", now)
	s.TouchInbound(ctx, "254712345678", now.Add(-48*time.Hour))
	c, _ = s.Contact(ctx, "254712345678")
	if !c.LastInboundAt.Equal(now) || !c.WindowOpen(now.Add(23*time.Hour)) || c.WindowOpen(now.Add(25*time.Hour)) {
		t.Fatalf("window: %+v", c)
	}
	s.SetOptOut(ctx, "254712345678", true, "STOP")
	c, _ = s.Contact(ctx, "254712345678")
	if !c.OptedOut || c.OptReason != "STOP" || c.LastInboundAt == nil {
		t.Fatalf("opt-out: %+v", c)
	}
}

func TestTasks(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	t1, err := s.PrepareTask(ctx, 7, 0, "254700000001")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.PrepareTask(ctx, 7, 0, "254700000001")
	if again.Number != t1.Number {
		t.Fatal("a retried step got a second task")
	}
	t2, _ := s.PrepareTask(ctx, 8, 0, "254700000001")
	if t2.Number != t1.Number+1 {
		t.Fatalf("numbers %d %d", t1.Number, t2.Number)
	}
	if ok, _ := s.CloseTask(ctx, t1.Number); !ok {
		t.Fatal("close failed")
	}
	if ok, _ := s.CloseTask(ctx, t1.Number); ok {
		t.Fatal("closed twice")
	}
	open, _ := s.ListTasks(ctx, store.TaskFilter{Status: store.TaskOpen})
	if len(open) != 1 || open[0].Number != t2.Number {
		t.Fatalf("open tasks %+v", open)
	}
}
