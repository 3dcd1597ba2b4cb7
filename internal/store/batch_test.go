package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"nudge/internal/store"
	"nudge/internal/store/storetest"
)

// Concurrent ingests (SQLite shares one transaction among them) keep each event's fate its
// own: duplicates found, a failing one rolled back alone, the rest stored with their runs.
func TestConcurrentIngestsAreIsolated(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var mu sync.Mutex
	enqueued := map[int64]bool{}
	boom := errors.New("enqueue refused")
	enqueue := func(_ context.Context, _ *sql.Tx, eventID int64, ids []int64) error {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			enqueued[id] = true
		}
		return nil
	}
	const n = 200
	var wg sync.WaitGroup
	results := make([]store.IngestResult, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ev := store.NewEvent{Trigger: "paygee.loan_state", ExternalID: fmt.Sprintf("e%d", i%150), State: "late", Body: []byte(`{}`)}
			enq := enqueue
			if i == 7 {
				ev.ExternalID = "lonely" // no twin: its failure is its own
				enq = func(context.Context, *sql.Tx, int64, []int64) error { return boom }
			}
			results[i], errs[i] = s.Ingest(ctx, ev, []store.PlannedRun{{Workflow: "w"}}, enq)
		}(i)
	}
	wg.Wait()
	originals, dups := 0, 0
	for i := 0; i < n; i++ {
		if i == 7 {
			if !errors.Is(errs[i], boom) {
				t.Fatalf("the failing ingest: %v", errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("ingest %d: %v", i, errs[i])
		}
		if results[i].Duplicate {
			dups++
		} else {
			originals++
			if len(results[i].Runs) != 1 || !enqueued[results[i].Runs[0].ID] {
				t.Fatalf("ingest %d: runs %+v not enqueued", i, results[i].Runs)
			}
		}
	}
	// e0…e149 once each (e7 comes from 157), the other 49 are duplicates; "lonely" is not stored.
	if originals != 150 || dups != n-1-150 {
		t.Fatalf("%d originals and %d duplicates", originals, dups)
	}
	runs, _ := s.ListRuns(ctx, store.RunFilter{Limit: 1000})
	if len(runs) != 150 {
		t.Fatalf("%d runs stored", len(runs))
	}
}

// The duplicate check is an index lookup, not a scan of every event (SQLite's planner uses
// a partial index only when the query implies its WHERE).
func TestDuplicateCheckUsesTheIndex(t *testing.T) {
	// SQLite's planner, whatever backend the suite runs on: PostgreSQL plans by cost.
	s := openDSN(t, storetest.DSN(t, "sqlite"))
	var id, parent, notused int
	var detail string
	err := s.DB().QueryRow(`EXPLAIN QUERY PLAN SELECT id FROM events
		WHERE trigger = ? AND external_id = ? AND external_id <> '' AND duplicate_of IS NULL`, "t", "x").Scan(&id, &parent, &notused, &detail)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "events_external") {
		t.Fatalf("plan: %s", detail)
	}
}

// With a run enqueuer, the runs of events that share a transaction are enqueued in one
// call, and every queued run is enqueued exactly once.
func TestRunEnqueuerTakesEveryRun(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var mu sync.Mutex
	calls, got := 0, map[int64]int{}
	s.SetRunEnqueuer(func(_ context.Context, _ *sql.Tx, _ int64, ids []int64) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, id := range ids {
			got[id]++
		}
		return nil
	})
	const n = 100
	var wg sync.WaitGroup
	var runIDs sync.Map
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := s.Ingest(ctx, store.NewEvent{Trigger: "t", ExternalID: fmt.Sprint(i), State: "x", Body: []byte(`{}`)},
				[]store.PlannedRun{{Workflow: "a"}, {Workflow: "b"}}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range res.Runs {
				runIDs.Store(r.ID, true)
			}
		}(i)
	}
	wg.Wait()
	total := 0
	runIDs.Range(func(k, _ any) bool {
		total++
		if got[k.(int64)] != 1 {
			t.Errorf("run %d enqueued %d times", k, got[k.(int64)])
		}
		return true
	})
	if total != 2*n || len(got) != 2*n {
		t.Fatalf("%d runs, %d enqueued", total, len(got))
	}
	t.Logf("%d enqueue calls for %d events", calls, n)
}
