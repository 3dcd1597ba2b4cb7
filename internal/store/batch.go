package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// batcher is SQLite's group commit: concurrent writes (webhooks being stored, and the
// workers' attempt starts, messages and checkpoints) share one transaction, and so one
// fsync. SQLite has a single writer, so writes would queue for the connection anyway; here
// the queue is drained into one transaction at a time. Each write runs under its own
// savepoint, so one that fails rolls back alone; no caller is answered before the commit
// that holds its write.
type batcher struct {
	s       *Store
	reqs    chan *writeReq
	stop    chan struct{}
	stopped sync.WaitGroup
}

// writeFn is one caller's part of a shared transaction. It must use only tx: the
// connection is the transaction's while the batch runs.
type writeFn func(ctx context.Context, tx *sql.Tx, g *group) error

// group is what the writes of one transaction share.
type group struct {
	queued []int64 // runs stored by ingests, enqueued in one call before the commit
}

type writeReq struct {
	ctx  context.Context
	fn   writeFn
	done chan error
}

// maxBatch bounds a transaction so that a flood does not starve the job queue of the connection.
const maxBatch = 256

func newBatcher(s *Store) *batcher {
	// Unbuffered: a request is either taken by the loop or refused once it has stopped,
	// never left in a buffer nobody reads.
	b := &batcher{s: s, reqs: make(chan *writeReq), stop: make(chan struct{})}
	b.stopped.Add(1)
	go b.loop()
	return b
}

// do runs fn in the next shared transaction and returns once that transaction committed
// (nil) or fn's own error, or the commit's.
func (b *batcher) do(ctx context.Context, fn writeFn) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return sql.ErrConnDone
	}
	// Once taken, the request is committed or refused as a whole: wait for the answer even
	// if the caller gives up, so that a 202 is never owed for an event that is stored.
	return <-req.done
}

func (b *batcher) close() {
	close(b.stop)
	b.stopped.Wait()
}

func (b *batcher) loop() {
	defer b.stopped.Done()
	for {
		var first *writeReq
		select {
		case first = <-b.reqs:
		case <-b.stop:
			return
		}
		batch := []*writeReq{first}
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

// commit runs a batch in one transaction and answers every request.
func (b *batcher) commit(batch []*writeReq) {
	s := b.s
	// Not cancellable: the SQLite driver watches a cancellable context with a goroutine per
	// statement, a cost every write in the batch would pay; a statement that waits on a
	// lock gives up after busy_timeout anyway.
	ctx := context.Background()
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("error starting a transaction: %w", err))
		return
	}
	var g group
	for i, r := range batch {
		if r.ctx.Err() != nil {
			errs[i] = r.ctx.Err() // the caller is gone: store nothing it was not told about
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT w`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		queued := len(g.queued)
		if errs[i] = r.fn(ctx, tx, &g); errs[i] != nil {
			g.queued = g.queued[:queued]
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO w`); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE w`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if len(g.queued) > 0 && s.runEnqueuer != nil {
		// One call for the whole batch: River's SQLite driver inserts many jobs in one statement.
		if err := s.runEnqueuer(ctx, tx, 0, g.queued); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("error enqueueing runs: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("error committing: %w", err))
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// write runs fn in a transaction: on SQLite the next shared one (group commit), on
// PostgreSQL, whose writers do not queue for one connection, a transaction of its own.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.batcher != nil {
		return s.batcher.do(ctx, func(ctx context.Context, tx *sql.Tx, _ *group) error { return fn(ctx, tx) })
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
}
