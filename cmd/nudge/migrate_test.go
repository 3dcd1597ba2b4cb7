package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"nudge/internal/store"
	"nudge/internal/store/storetest"
)

// A SQLite database's whole history arrives in PostgreSQL unchanged, its unfinished runs
// queued again, and new rows continue after the copied ids.
func TestMigrateStoreCopiesHistory(t *testing.T) {
	ctx := context.Background()
	from := storetest.DSN(t, "sqlite")
	to := storetest.PostgresDSN(t)
	src, err := store.Open(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	src.SetClock(func() time.Time { return base })
	noJobs := func(context.Context, *sql.Tx, int64, []int64) error { return nil }
	const events = 1203 // more than two copy batches
	for i := range events {
		ev := store.NewEvent{Trigger: "paygee.loan_state", ExternalID: fmt.Sprintf("e%d", i), State: "days_late",
			Body: []byte(fmt.Sprintf(`{"i":%d,"text":"Habari ✓ 'quoted'"}`, i))}
		res, err := src.Ingest(ctx, ev, []store.PlannedRun{{Workflow: "late", OnceKey: fmt.Sprintf("L%d", i%1000)}}, noJobs)
		if err != nil {
			t.Fatal(err)
		}
		run := res.Runs[0]
		if i%3 == 0 || run.Status == store.RunSkipped {
			continue // stays queued (or was skipped)
		}
		src.StartAttempt(ctx, run.ID)
		src.FinishStep(ctx, store.Step{RunID: run.ID, Index: 0, StepID: "send", Action: "send_whatsapp", Status: store.StepDone, Output: []byte(`{"to":"x"}`)})
		m, _ := src.PrepareMessage(ctx, store.Message{RunID: run.ID, Workflow: "late", To: fmt.Sprintf("2547%08d", i), Kind: "template", Template: "t", Params: []string{"a", "b"}})
		src.MessageSubmitted(ctx, m.ID, fmt.Sprintf("p%d", i))
		src.FinishRun(ctx, run.ID, store.RunSucceeded, "")
	}
	src.Ingest(ctx, store.NewEvent{Trigger: "paygee.loan_state", ExternalID: "e1", Body: []byte(`{}`)}, nil, noJobs) // a duplicate
	src.Ingest(ctx, store.NewEvent{Trigger: "chatarchitect.message", Body: []byte(`{}`), Effects: &store.Effects{
		Delivery: &store.Delivery{ProviderID: "p1", Status: store.MsgDelivered, At: base}}}, nil, noJobs)
	src.TouchInbound(ctx, "254700000001", base)
	src.SetOptOut(ctx, "254700000002", true, "STOP")
	task, _ := src.PrepareTask(ctx, 2, 1, "254700000001")
	src.SetTaskDetails(ctx, task.Number, store.TaskDetails{To: "254700000001", Text: "call", Workflow: "late", RemindAfter: time.Hour})
	src.Close()

	var out, errb bytes.Buffer
	if err := run(ctx, []string{"migrate-store", "--from", from, "--to", to}, &out, &errb); err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), fmt.Sprintf(" %d/%d\n", events+2, events+2)) {
		t.Errorf("no progress line: %q", errb.String())
	}

	src, err = store.Open(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	same := func(what string, a, b any, errs ...error) {
		t.Helper()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s differ:\nsqlite   %+v\npostgres %+v", what, a, b)
		}
	}
	all := 1000 // lists are capped at 1000: the first event is compared on its own
	e1, err1 := src.ListEvents(ctx, store.EventFilter{Limit: all})
	e2, err2 := dst.ListEvents(ctx, store.EventFilter{Limit: all})
	same("events", e1, e2, err1, err2)
	first1, err1 := src.Event(ctx, 1)
	first2, err2 := dst.Event(ctx, 1)
	same("event 1", first1, first2, err1, err2)
	r1, err1 := src.ListRuns(ctx, store.RunFilter{Limit: all})
	r2, err2 := dst.ListRuns(ctx, store.RunFilter{Limit: all})
	same("runs", r1, r2, err1, err2)
	c1, err1 := src.CountRuns(ctx)
	c2, err2 := dst.CountRuns(ctx)
	same("run counts", c1, c2, err1, err2)
	s1, err1 := src.Steps(ctx, 2)
	s2, err2 := dst.Steps(ctx, 2)
	same("steps", s1, s2, err1, err2)
	m1, err1 := src.ListMessages(ctx, store.MessageFilter{Limit: all})
	m2, err2 := dst.ListMessages(ctx, store.MessageFilter{Limit: all})
	same("messages", m1, m2, err1, err2)
	tl1, err1 := src.MessageTimeline(ctx, "p1")
	tl2, err2 := dst.MessageTimeline(ctx, "p1")
	same("timeline", tl1, tl2, err1, err2)
	for _, phone := range []string{"254700000001", "254700000002"} {
		ct1, err1 := src.Contact(ctx, phone)
		ct2, err2 := dst.Contact(ctx, phone)
		same("contact "+phone, ct1, ct2, err1, err2)
	}
	t1, err1 := src.ListTasks(ctx, store.TaskFilter{})
	t2, err2 := dst.ListTasks(ctx, store.TaskFilter{})
	same("tasks", t1, t2, err1, err2)

	// Unfinished runs have jobs again; finished ones do not.
	var jobs, queued int
	dst.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'nudge_run' AND state = 'available'`).Scan(&jobs)
	dst.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE status = 'queued'`).Scan(&queued)
	if jobs != queued || queued == 0 {
		t.Fatalf("%d jobs for %d queued runs", jobs, queued)
	}
	// The once_per keys came along: a claimed key is still claimed.
	res, err := dst.Ingest(ctx, store.NewEvent{Trigger: "paygee.loan_state", ExternalID: "new", Body: []byte(`{}`)},
		[]store.PlannedRun{{Workflow: "late", OnceKey: "L7"}}, noJobs)
	if err != nil {
		t.Fatal(err)
	}
	if res.EventID != int64(events+3) || res.Runs[0].Status != store.RunSkipped {
		t.Fatalf("after the copy: event %d, run %+v", res.EventID, res.Runs[0])
	}
	next, err := dst.PrepareTask(ctx, 99, 0, "254700000001")
	if err != nil || next.Number != task.Number+1 {
		t.Fatalf("next task number %d after %d: %v", next.Number, task.Number, err)
	}

	// A database with history is not overwritten.
	errb.Reset()
	if err := run(ctx, []string{"migrate-store", "--from", from, "--to", to}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second copy: %v", err)
	}
	if err := run(ctx, []string{"migrate-store", "--from", to, "--to", from}, &out, &errb); err != exitCode(2) {
		t.Fatalf("wrong way round: %v", err)
	}
}
