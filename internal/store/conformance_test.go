package store_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"nudge/internal/store"
)

// Every store method that the other tests do not reach, with its errors checked: a query
// that one dialect refuses fails here on that dialect.

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunLifecycle(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var enqueued []int64
	enqueue := func(_ context.Context, _ *sql.Tx, _ int64, ids []int64) error {
		enqueued = append(enqueued, ids...)
		return nil
	}
	res, err := s.Ingest(ctx, store.NewEvent{Trigger: "t", ExternalID: "x1", Body: []byte(`{"a":1}`)},
		[]store.PlannedRun{{Workflow: "w"}, {Workflow: "v"}}, enqueue)
	must(t, err)
	id := res.Runs[0].ID

	run, err := s.StartAttempt(ctx, id)
	must(t, err)
	if run.Status != store.RunRunning || run.Attempts != 1 {
		t.Fatalf("started: %+v", run)
	}
	must(t, s.PauseRun(ctx, id, store.RunWaiting, "quiet hours", true, nil))
	must(t, s.PauseRun(ctx, id, store.RunWaiting, "quiet hours", true, nil)) // never below zero
	if run, _ = s.Run(ctx, id); run.Attempts != 0 || run.Status != store.RunWaiting || run.Error != "quiet hours" || run.OwnJob {
		t.Fatalf("undone: %+v", run)
	}
	// Handing a run to a job of its own: the status and the job commit together, or neither.
	other := res.Runs[1].ID
	_, err = s.StartAttempt(ctx, other)
	must(t, err)
	refused := errors.New("queue refused")
	err = s.PauseRun(ctx, other, store.RunRetrying, "503", false, func(context.Context, *sql.Tx) error { return refused })
	if run, _ = s.Run(ctx, other); !errors.Is(err, refused) || run.Status != store.RunRunning || run.OwnJob {
		t.Fatalf("a refused hand-off changed the run: %v, %+v", err, run)
	}
	resumed := false
	must(t, s.PauseRun(ctx, other, store.RunRetrying, "503", false, func(_ context.Context, tx *sql.Tx) error {
		resumed = tx != nil
		return nil
	}))
	if run, _ = s.Run(ctx, other); !resumed || run.Status != store.RunRetrying || run.Attempts != 1 || !run.OwnJob {
		t.Fatalf("handed off: resumed %v, %+v", resumed, run)
	}
	must(t, s.FinishStep(ctx, store.Step{RunID: id, Index: 0, StepID: "a", Action: "send_whatsapp", Status: store.StepDone, Output: []byte(`{"k":"v"}`)}))
	must(t, s.FinishStep(ctx, store.Step{RunID: id, Index: 0, Action: "send_whatsapp", Status: store.StepSkipped}))
	must(t, s.FinishStep(ctx, store.Step{RunID: id, Index: 1, Action: "wait", Status: store.StepSkipped}))
	steps, err := s.Steps(ctx, id)
	must(t, err)
	if len(steps) != 2 || steps[0].Status != store.StepDone || string(steps[0].Output) != `{"k":"v"}` || string(steps[1].Output) != `{}` {
		t.Fatalf("steps: %+v", steps)
	}
	must(t, s.FinishRun(ctx, id, store.RunDead, "gave up"))

	replay, err := s.Replay(ctx, id, enqueue)
	must(t, err)
	if replay.ReplayOf != id || replay.Status != store.RunQueued || len(enqueued) != 3 || enqueued[2] != replay.ID {
		t.Fatalf("replay: %+v, enqueued %v", replay, enqueued)
	}
	counts, err := s.CountRuns(ctx)
	must(t, err)
	if counts[store.RunDead] != 1 || counts[store.RunQueued] != 1 || counts[store.RunRetrying] != 1 {
		t.Fatalf("counts: %v", counts)
	}
	for _, c := range []struct {
		f    store.RunFilter
		want int
	}{
		{store.RunFilter{}, 3},
		{store.RunFilter{Status: store.RunDead}, 1},
		{store.RunFilter{Workflow: "w"}, 2},
		{store.RunFilter{EventID: res.EventID, Workflow: "v"}, 1},
		{store.RunFilter{Limit: 1}, 1},
	} {
		runs, err := s.ListRuns(ctx, c.f)
		must(t, err)
		if len(runs) != c.want {
			t.Errorf("ListRuns(%+v): %d runs, want %d", c.f, len(runs), c.want)
		}
	}
	if _, err := s.Run(ctx, 9999); err != store.ErrNotFound {
		t.Fatalf("missing run: %v", err)
	}
	ev, err := s.Event(ctx, res.EventID)
	must(t, err)
	if string(ev.Body) != `{"a":1}` || ev.ExternalID != "x1" {
		t.Fatalf("event: %+v", ev)
	}
	if _, err := s.Event(ctx, 9999); err != store.ErrNotFound {
		t.Fatalf("missing event: %v", err)
	}
	evs, err := s.ListEvents(ctx, store.EventFilter{Trigger: "t"})
	must(t, err)
	if n, _ := s.CountEvents(ctx); len(evs) != 1 || n != 1 {
		t.Fatalf("events %d, count %d", len(evs), n)
	}
}

// Starting the runs of a shared job leaves out the finished and the handed-off ones.
func TestStartAttemptsOfSharedJob(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	batch, err := s.Ingest(ctx, store.NewEvent{Trigger: "t", ExternalID: "x2", Body: []byte(`{}`)},
		[]store.PlannedRun{{Workflow: "a"}, {Workflow: "b"}, {Workflow: "c"}}, func(context.Context, *sql.Tx, int64, []int64) error { return nil })
	must(t, err)
	a, b, c := batch.Runs[0].ID, batch.Runs[1].ID, batch.Runs[2].ID
	must(t, s.FinishRun(ctx, b, store.RunSucceeded, ""))
	must(t, s.PauseRun(ctx, c, store.RunRetrying, "503", false, func(context.Context, *sql.Tx) error { return nil }))
	started, err := s.StartAttempts(ctx, []int64{a, b, c})
	must(t, err)
	if len(started) != 1 || started[0].ID != a || started[0].Status != store.RunRunning || started[0].Attempts != 1 {
		t.Fatalf("started: %+v", started)
	}
}

func TestMessageLifecycle(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	res, err := s.Ingest(ctx, store.NewEvent{Trigger: "t", Body: []byte(`{}`)}, []store.PlannedRun{{Workflow: "w"}},
		func(context.Context, *sql.Tx, int64, []int64) error { return nil })
	must(t, err)
	run := res.Runs[0].ID
	// A run step's message is written when the provider answers: refused (to retry) with the
	// content of that attempt, then accepted with the step's checkpoint.
	first := store.Message{RunID: run, StepIndex: 0, Workflow: "w", To: "254712345678", Kind: "text", Text: "a"}
	must(t, s.UnsentMessage(ctx, first, "timeout", false))
	tpl := store.Message{RunID: run, StepIndex: 0, Workflow: "w", To: "254712345678", Kind: "template", Template: "tpl", Params: []string{"x", "y"}}
	must(t, s.UnsentMessage(ctx, tpl, "503", false))
	ms, err := s.ListMessages(ctx, store.MessageFilter{RunID: run})
	must(t, err)
	if len(ms) != 1 || ms[0].Kind != "template" || len(ms[0].Params) != 2 || ms[0].Status != store.MsgQueued || ms[0].Error != "503" {
		t.Fatalf("queued message: %+v", ms)
	}
	m := ms[0]
	must(t, s.CompleteStep(ctx, store.StepCompletion{Step: store.Step{RunID: run, Index: 0, Action: "send_whatsapp", Status: store.StepDone},
		Message: &tpl, ProviderID: "p1"}))
	byProvider, err := s.MessageByProviderID(ctx, "p1")
	must(t, err)
	if byProvider.ID != m.ID || byProvider.Status != store.MsgSubmitted || byProvider.Error != "" {
		t.Fatalf("submitted: %+v", byProvider)
	}
	if _, err := s.MessageByProviderID(ctx, "nobody"); err != store.ErrNotFound {
		t.Fatalf("unknown provider id: %v", err)
	}
	// Accepted messages keep their content and are not failed with the run.
	must(t, s.UnsentMessage(ctx, first, "late retry", true))
	must(t, s.UnsentMessage(ctx, store.Message{RunID: run, StepIndex: 1, Workflow: "w", To: "254712345678", Kind: "text"}, "503", false))
	must(t, s.FailUnsentMessages(ctx, run, "run failed"))
	if got, _ := s.Message(ctx, m.ID); got.Kind != "template" || got.Status != store.MsgSubmitted || got.Error != "" {
		t.Fatalf("accepted message changed: %+v", got)
	}
	if ms, _ = s.ListMessages(ctx, store.MessageFilter{RunID: run, Status: store.MsgFailed}); len(ms) != 1 || ms[0].StepIndex != 1 || ms[0].Error != "run failed" {
		t.Fatalf("unsent message: %+v", ms)
	}
	// A reminder's message is recorded before its send, and failed or accepted after it.
	r, err := s.PrepareMessage(ctx, store.Message{RunID: 2, StepIndex: 1000, Workflow: "w", To: "254712345679", Kind: "text", Text: "reminder"})
	must(t, err)
	must(t, s.MessageFailed(ctx, r.ID, "timeout", false))
	if again, _ := s.PrepareMessage(ctx, store.Message{RunID: 2, StepIndex: 1000, Workflow: "w", To: "254712345679", Kind: "text"}); again.ID != r.ID || again.Error != "timeout" {
		t.Fatalf("reminder message again: %+v", again)
	}
	must(t, s.MessageSubmitted(ctx, r.ID, "p2"))
	if got, _ := s.MessageByProviderID(ctx, "p2"); got.ID != r.ID || got.Status != store.MsgSubmitted {
		t.Fatalf("reminder submitted: %+v", got)
	}
	for _, c := range []struct {
		f    store.MessageFilter
		want int
	}{
		{store.MessageFilter{}, 3},
		{store.MessageFilter{To: "254712345678", Status: store.MsgFailed}, 1},
		{store.MessageFilter{Workflow: "w", RunID: run}, 2},
		{store.MessageFilter{RunID: run + 1000}, 0},
	} {
		ms, err := s.ListMessages(ctx, c.f)
		must(t, err)
		if len(ms) != c.want {
			t.Errorf("ListMessages(%+v): %d, want %d", c.f, len(ms), c.want)
		}
	}
	n, err := s.CountSentSince(ctx, "254712345678", time.Now().Add(-time.Hour), m.ID)
	must(t, err)
	if n != 0 {
		t.Fatalf("sent since, leaving out the message itself: %d", n)
	}
}

func TestUnreachableNumberOptsTheContactOut(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	m, err := s.PrepareMessage(ctx, store.Message{RunID: 1, Workflow: "w", To: "254712345678", Kind: "text"})
	must(t, err)
	must(t, s.MessageSubmitted(ctx, m.ID, "p1"))
	ingestEffects(t, s, "d1", &store.Effects{Delivery: &store.Delivery{ProviderID: "p1", Status: store.MsgFailed, Code: 1002,
		Reason: "no WhatsApp", OptOutContact: "unreachable"}})
	c, err := s.Contact(ctx, "254712345678")
	must(t, err)
	if !c.OptedOut || c.OptReason != "unreachable" {
		t.Fatalf("contact: %+v", c)
	}
	must(t, s.SetOptOut(ctx, "254712345678", false, ""))
	if c, _ = s.Contact(ctx, "254712345678"); c.OptedOut {
		t.Fatalf("opted back in: %+v", c)
	}
}

func TestTaskReminders(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	s.SetClock(func() time.Time { return now })
	task, err := s.PrepareTask(ctx, 1, 0, "254700000001")
	must(t, err)
	details := store.TaskDetails{To: "254700000001", Text: "do it", Workflow: "w",
		Content: []byte(`{"text":"do it"}`), RemindAfter: time.Hour, EscalateAfter: 2, EscalateTo: "254700000002"}
	must(t, s.SetTaskDetails(ctx, task.Number, details))
	// Details set again (a retried step) keep the first reminder time.
	s.SetClock(func() time.Time { return now.Add(time.Minute) })
	must(t, s.SetTaskDetails(ctx, task.Number, details))
	got, err := s.Task(ctx, task.Number)
	must(t, err)
	if got.NextRemindAt == nil || !got.NextRemindAt.Equal(now.Add(time.Hour)) || got.RemindAfter != time.Hour {
		t.Fatalf("task: %+v", got)
	}
	// Not due before its message was accepted.
	due, err := s.DueTasks(ctx, now.Add(2*time.Hour), 10)
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("due before the message was sent: %+v", due)
	}
	m, _ := s.PrepareMessage(ctx, store.Message{RunID: 1, StepIndex: 0, Workflow: "w", To: "254700000001", Kind: "text"})
	must(t, s.MessageSubmitted(ctx, m.ID, "p1"))
	if due, _ = s.DueTasks(ctx, now.Add(30*time.Minute), 10); len(due) != 0 {
		t.Fatalf("due too early: %+v", due)
	}
	due, err = s.DueTasks(ctx, now.Add(2*time.Hour), 10)
	must(t, err)
	if len(due) != 1 || due[0].EscalateTo != "254700000002" || string(due[0].Content) != `{"text":"do it"}` {
		t.Fatalf("due: %+v", due)
	}
	if ok, err := s.ClaimReminder(ctx, task.Number, 1, now.Add(3*time.Hour)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, _ := s.ClaimReminder(ctx, task.Number, 1, now.Add(9*time.Hour)); ok { // the same reminder twice: taken once
		t.Fatal("reminder claimed twice")
	}
	if got, _ = s.Task(ctx, task.Number); got.Reminders != 1 || !got.NextRemindAt.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("reminded: %+v", got)
	}
	if _, err := s.Task(ctx, 9999); err != store.ErrNotFound {
		t.Fatalf("missing task: %v", err)
	}
}

// Several instances receive the same Paygee id at the same moment: one event, the others
// answered as duplicates of it, one set of runs.
func TestConcurrentDuplicatesAreOneEvent(t *testing.T) {
	ctx := context.Background()
	d := dsn(t)
	instances := []*store.Store{openDSN(t, d), openDSN(t, d)}
	if backend == "sqlite" {
		// One process owns a SQLite file; its single connection serializes the requests.
		instances[1] = instances[0]
	}
	const n = 8
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		results  = make([]store.IngestResult, n)
		errs     = make([]error, n)
		mu       sync.Mutex
		enqueued int
	)
	enqueue := func(_ context.Context, _ *sql.Tx, _ int64, ids []int64) error {
		mu.Lock()
		enqueued += len(ids)
		mu.Unlock()
		return nil
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ev := store.NewEvent{Trigger: "paygee.loan_state", ExternalID: "same", State: "x", Body: []byte(`{}`)}
			results[i], errs[i] = instances[i%2].Ingest(ctx, ev, []store.PlannedRun{{Workflow: "w"}}, enqueue)
		}()
	}
	close(start)
	wg.Wait()
	originals := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("ingest %d: %v", i, errs[i])
		}
		if !results[i].Duplicate {
			originals++
		}
		if results[i].EventID != results[0].EventID {
			t.Fatalf("ingest %d answered event %d, ingest 0 event %d", i, results[i].EventID, results[0].EventID)
		}
	}
	runs, _ := instances[0].ListRuns(ctx, store.RunFilter{})
	if originals != 1 || enqueued != 1 || len(runs) != 1 {
		t.Fatalf("%d originals, %d runs enqueued, %d stored", originals, enqueued, len(runs))
	}
}

func TestRateLimitBucket(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })
	// A full bucket of 3 answers at once, then each token waits 1/rate longer.
	for i, want := range []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond} {
		wait, err := s.TakeToken(ctx, "send", 10, 3)
		must(t, err)
		if wait != want {
			t.Fatalf("token %d: wait %v, want %v", i, wait, want)
		}
	}
	// After a second the debt of 2 is paid and 8 tokens are back, capped at the burst of 3.
	now = now.Add(time.Second)
	for i, want := range []time.Duration{0, 0, 0, 100 * time.Millisecond} {
		wait, err := s.TakeToken(ctx, "send", 10, 3)
		must(t, err)
		if wait != want {
			t.Fatalf("after refill, token %d: wait %v, want %v", i, wait, want)
		}
	}
	// Buckets are independent, and a clock that goes back refills nothing.
	if wait, _ := s.TakeToken(ctx, "other", 10, 1); wait != 0 {
		t.Fatalf("other bucket waits %v", wait)
	}
	now = now.Add(-time.Hour)
	if wait, _ := s.TakeToken(ctx, "send", 10, 3); wait != 200*time.Millisecond {
		t.Fatalf("clock went back: wait %v", wait)
	}
	if _, err := s.TakeToken(ctx, "send", 0, 3); err == nil {
		t.Fatal("a zero rate was accepted")
	}
}

// Two instances sending as fast as the shared bucket lets them stay within one rate.
func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	d := dsn(t)
	instances := []*store.Store{openDSN(t, d), openDSN(t, d)}
	const rate, burst = 50.0, 5
	const window = 1200 * time.Millisecond
	begin := time.Now()
	var mu sync.Mutex
	var taken []time.Duration // when each token was used, since begin
	var wg sync.WaitGroup
	for _, s := range instances {
		for range 3 { // three workers per instance
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(begin) < window {
					if err := s.WaitToken(ctx, "send", rate, burst); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					taken = append(taken, time.Since(begin))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	// Every stretch of time holds at most burst + rate × its length (+1 for rounding).
	for i := range taken {
		for j := i; j < len(taken); j++ {
			if taken[j] < taken[i] {
				continue
			}
			span := (taken[j] - taken[i]).Seconds()
			n := 0
			for _, x := range taken {
				if x >= taken[i] && x <= taken[j] {
					n++
				}
			}
			if limit := float64(burst) + rate*span + 1; float64(n) > limit {
				t.Fatalf("%d tokens used in %.3fs, limit %.1f", n, span, limit)
			}
		}
	}
	if min := int(rate * window.Seconds() / 2); len(taken) < min {
		t.Fatalf("only %d tokens in %v: the limit starves senders", len(taken), window)
	}
}

// A caller that cannot wait as long as the bucket asks takes nothing.
func TestRateLimitDeadlineTakesNothing(t *testing.T) {
	s := open(t)
	now := time.UnixMilli(1_700_000_000_000)
	s.SetClock(func() time.Time { return now })
	ctx := context.Background()
	must(t, s.WaitToken(ctx, "send", 10, 1))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	for range 3 {
		if wait, err := s.TakeToken(short, "send", 10, 1); err != store.ErrRateLimitDeadline || wait != 100*time.Millisecond {
			t.Fatalf("short deadline: wait %v, %v", wait, err)
		}
	}
	if wait, err := s.TakeToken(ctx, "send", 10, 1); err != nil || wait != 100*time.Millisecond {
		t.Fatalf("after refused takes: wait %v, %v", wait, err)
	}
}
