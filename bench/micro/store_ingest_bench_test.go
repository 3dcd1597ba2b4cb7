// Package micro holds micro-benchmarks that need no package internals (kept out of
// internal/store so that they compile whatever state that package's tests are in).
package micro_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"nudge/internal/store"
)

var benchBody = []byte(`{"id":"evt_8f2c","state":"days_late","payload":{"loan_id":"L-1042","days_late":5,"customer_name":"Amina Otieno","customer_phone":"0712 345 678","balance":1500,"currency":"KES"}}`)

func openBenchSQLite(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkIngestSQLite stores one event and one run per commit (synchronous=FULL, WAL),
// as a webhook with one matching workflow does, without the job queue's insert.
func BenchmarkIngestSQLite(b *testing.B) {
	for _, c := range []struct {
		name    string
		onceKey bool
	}{{"event+run", false}, {"event+run+once_per", true}} {
		b.Run(c.name, func(b *testing.B) {
			st := openBenchSQLite(b)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				run := store.PlannedRun{Workflow: "late-5-days"}
				if c.onceKey {
					run.OnceKey = fmt.Sprintf("L-%d:5", i)
				}
				_, err := st.Ingest(ctx, store.NewEvent{Trigger: "paygee.loan_state", ExternalID: fmt.Sprintf("evt-%d", i),
					State: "days_late", Body: benchBody}, []store.PlannedRun{run}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIngestSQLiteParallel is the same from concurrent callers: SQLite has one writer
// connection, so they queue for it and each still pays its own commit.
func BenchmarkIngestSQLiteParallel(b *testing.B) {
	st := openBenchSQLite(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := st.Ingest(ctx, store.NewEvent{Trigger: "paygee.loan_state", ExternalID: fmt.Sprintf("evt-%d", i),
				State: "days_late", Body: benchBody}, []store.PlannedRun{{Workflow: "late-5-days"}}, nil)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
