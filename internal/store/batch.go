package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// batcher is SQLite's group commit: concurrent webhooks share one transaction, and so one
// fsync. SQLite has a single writer, so requests would queue for the connection anyway; here
// the queue is drained into one transaction at a time. Each event is stored under its own
// savepoint, so one that fails rolls back alone; no caller is answered before the commit
// that holds its event.
type batcher struct {
	s       *Store
	reqs    chan *ingestReq
	stop    chan struct{}
	stopped sync.WaitGroup
}

type ingestReq struct {
	ctx     context.Context
	ev      NewEvent
	runs    []PlannedRun
	enqueue Enqueue
	done    chan ingestResp
}

type ingestResp struct {
	res IngestResult
	err error
}

// maxBatch bounds a transaction so that a flood does not starve the workers of the connection.
const maxBatch = 256

func newBatcher(s *Store) *batcher {
	// Unbuffered: a request is either taken by the loop or refused once it has stopped,
	// never left in a buffer nobody reads.
	b := &batcher{s: s, reqs: make(chan *ingestReq), stop: make(chan struct{})}
	b.stopped.Add(1)
	go b.loop()
	return b
}

func (b *batcher) ingest(ctx context.Context, ev NewEvent, runs []PlannedRun, enqueue Enqueue) (IngestResult, error) {
	req := &ingestReq{ctx: ctx, ev: ev, runs: runs, enqueue: enqueue, done: make(chan ingestResp, 1)}
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return IngestResult{}, ctx.Err()
	case <-b.stop:
		return IngestResult{}, sql.ErrConnDone
	}
	// Once taken, the request is committed or refused as a whole: wait for the answer even
	// if the caller gives up, so that a 202 is never owed for an event that is stored.
	r := <-req.done
	return r.res, r.err
}

func (b *batcher) close() {
	close(b.stop)
	b.stopped.Wait()
}

func (b *batcher) loop() {
	defer b.stopped.Done()
	for {
		var first *ingestReq
		select {
		case first = <-b.reqs:
		case <-b.stop:
			return
		}
		batch := []*ingestReq{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.commit(batch)
	}
}

// commit stores a batch in one transaction and answers every request.
func (b *batcher) commit(batch []*ingestReq) {
	s := b.s
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resps := make([]ingestResp, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- ingestResp{err: err}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("error starting a transaction: %w", err))
		return
	}
	var queued []int64 // runs of every event in the batch, for one enqueue
	for i, r := range batch {
		if r.ctx.Err() != nil {
			resps[i].err = r.ctx.Err() // the caller is gone: store nothing it was not told about
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT ingest`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		res, err := s.ingestTx(ctx, tx, r.ev, r.runs, r.enqueue)
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO ingest`); rerr != nil {
				tx.Rollback()
				fail(rerr)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE ingest`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		resps[i] = ingestResp{res: res, err: err}
		if err == nil && r.enqueue == nil {
			queued = append(queued, queuedRuns(res)...)
		}
	}
	if len(queued) > 0 && s.runEnqueuer != nil {
		// One call for the whole batch: River's SQLite driver inserts many jobs in one statement.
		if err := s.runEnqueuer(ctx, tx, 0, queued); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("error enqueueing runs: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("error committing events: %w", err))
		return
	}
	for i, r := range batch {
		r.done <- resps[i]
	}
}
