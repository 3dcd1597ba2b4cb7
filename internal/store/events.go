package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Event is a stored webhook delivery.
type Event struct {
	ID          int64
	Trigger     string
	ExternalID  string
	State       string
	Body        []byte
	DuplicateOf int64 // 0 unless this delivery repeated an earlier event's id
	ReceivedAt  time.Time
}

// NewEvent is an event about to be stored.
type NewEvent struct {
	Trigger    string
	ExternalID string // the sender's delivery id; "" when it gave none
	State      string
	Body       []byte
	Effects    *Effects // applied with the event, unless it is a duplicate
}

// PlannedRun is a workflow that matched an event. A non-empty OnceKey is claimed for the
// workflow; when another run claimed it first, the run is stored as skipped.
type PlannedRun struct {
	Workflow string
	OnceKey  string
}

// IngestResult says what Ingest stored.
type IngestResult struct {
	EventID   int64 // for a duplicate, the original event
	Duplicate bool
	Runs      []Run
	Effects   EffectResult
}

// Enqueue schedules work inside the transaction that stores it: the runs given, and
// whatever else the caller keeps for the event. Ingest calls it for every new event, with
// or without runs.
type Enqueue func(ctx context.Context, tx *sql.Tx, eventID int64, runIDs []int64) error

// errRaced is an event insert that lost to another instance storing the same external id.
var errRaced = errors.New("event stored concurrently")

// Ingest stores an event and its runs, and enqueues the runs to execute, in one
// transaction: when it returns nil, the event and its work are durable. A repeated
// external id is stored as a duplicate and gets no runs, also when two instances receive
// it at the same moment: the one whose insert loses to the other's starts again, and then
// finds the original.
//
// enqueue may be nil when the store has a run enqueuer (SetRunEnqueuer): the runs are then
// enqueued by it, on SQLite once for every event that shares the transaction.
func (s *Store) Ingest(ctx context.Context, ev NewEvent, runs []PlannedRun, enqueue Enqueue) (IngestResult, error) {
	if s.batcher != nil {
		var res IngestResult
		err := s.batcher.do(ctx, func(ctx context.Context, tx *sql.Tx, g *group) error {
			var err error
			if res, err = s.ingestTx(ctx, tx, ev, runs, enqueue); err == nil && enqueue == nil {
				g.queued = append(g.queued, queuedRuns(res)...)
			}
			return err
		})
		return res, err
	}
	for try := 0; ; try++ {
		var res IngestResult
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var err error
			if res, err = s.ingestTx(ctx, tx, ev, runs, enqueue); err != nil {
				return err
			}
			if ids := queuedRuns(res); enqueue == nil && s.runEnqueuer != nil && len(ids) > 0 {
				return s.runEnqueuer(ctx, tx, res.EventID, ids)
			}
			return nil
		})
		if errors.Is(err, errRaced) && try < 3 {
			continue
		}
		return res, err
	}
}

// ingestTx stores one event, its effects and its runs, and enqueues the runs, in tx.
func (s *Store) ingestTx(ctx context.Context, tx *sql.Tx, ev NewEvent, runs []PlannedRun, enqueue Enqueue) (IngestResult, error) {
	var res IngestResult
	now := s.nowMS()
	if ev.ExternalID != "" {
		var orig int64
		// external_id <> '' lets the planner use the partial unique index (it cannot prove
		// that a bound parameter is not ''); without it this is a scan of every event.
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM events
			WHERE trigger = ? AND external_id = ? AND external_id <> '' AND duplicate_of IS NULL`), ev.Trigger, ev.ExternalID).Scan(&orig)
		switch {
		case err == nil:
			res.EventID, res.Duplicate = orig, true
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO events (trigger, external_id, state, body, duplicate_of, received_at)
				VALUES (?, ?, ?, ?, ?, ?)`), ev.Trigger, ev.ExternalID, ev.State, string(ev.Body), orig, now)
			return res, err
		case !errors.Is(err, sql.ErrNoRows):
			return res, err
		}
	}
	id, err := s.insertID(ctx, tx, `INSERT INTO events (trigger, external_id, state, body, received_at)
		VALUES (?, ?, ?, ?, ?)`, ev.Trigger, ev.ExternalID, ev.State, string(ev.Body), now)
	if err != nil {
		if ev.ExternalID != "" && isUniqueViolation(err) {
			return res, fmt.Errorf("%w: %w", errRaced, err)
		}
		return res, fmt.Errorf("error storing event: %w", err)
	}
	res.EventID = id
	if ev.Effects != nil {
		if res.Effects, err = s.applyEffects(ctx, tx, ev.Effects); err != nil {
			return res, err
		}
	}
	var toRun []int64
	for _, p := range runs {
		run, err := s.insertRun(ctx, tx, id, p.Workflow, p.OnceKey, 0)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, run)
		if run.Status == RunQueued {
			toRun = append(toRun, run.ID)
		}
	}
	if enqueue != nil {
		if err := enqueue(ctx, tx, id, toRun); err != nil {
			return res, fmt.Errorf("error enqueueing runs: %w", err)
		}
	}
	return res, nil
}

// insertRun stores a queued run, or a skipped one when its once_per key was taken.
func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, eventID int64, workflow, onceKey string, replayOf int64) (Run, error) {
	now := s.nowMS()
	var replay any
	if replayOf > 0 {
		replay = replayOf
	}
	id, err := s.insertID(ctx, tx, `INSERT INTO runs (event_id, workflow, status, replay_of, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, eventID, workflow, RunQueued, replay, now, now)
	if err != nil {
		return Run{}, fmt.Errorf("error storing run: %w", err)
	}
	run := Run{ID: id, EventID: eventID, Workflow: workflow, Status: RunQueued, ReplayOf: replayOf,
		CreatedAt: msTime(now), UpdatedAt: msTime(now)}
	if onceKey == "" {
		return run, nil
	}
	r, err := tx.ExecContext(ctx, s.q(`INSERT INTO once_keys (workflow, key, run_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (workflow, key) DO NOTHING`), workflow, onceKey, id, now)
	if err != nil {
		return Run{}, fmt.Errorf("error claiming once_per key: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 1 {
		return run, nil
	}
	var owner int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT run_id FROM once_keys WHERE workflow = ? AND key = ?`), workflow, onceKey).Scan(&owner); err != nil {
		return Run{}, err
	}
	run.Status = RunSkipped
	run.Error = fmt.Sprintf("once_per: key %q already ran (run %d)", onceKey, owner)
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, error = ? WHERE id = ?`), run.Status, run.Error, id); err != nil {
		return Run{}, err
	}
	return run, nil
}

func (s *Store) insertID(ctx context.Context, q queryer, query string, args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, s.q(query+` RETURNING id`), args...).Scan(&id)
	return id, err
}

// Event returns one event.
func (s *Store) Event(ctx context.Context, id int64) (Event, error) {
	row := s.rdb.QueryRowContext(lookup(ctx), s.q(`SELECT `+eventCols+` FROM events WHERE id = ?`), id)
	ev, err := scanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	return ev, err
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Trigger string
	Limit   int
}

// ListEvents returns events newest first.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	query := `SELECT ` + eventCols + ` FROM events`
	var args []any
	if f.Trigger != "" {
		query += ` WHERE trigger = ?`
		args = append(args, f.Trigger)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limitOf(f.Limit))
	rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing events: %w", err)
	}
	return scanAll(rows, scanEvent)
}

// CountEvents counts stored events (duplicates included).
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n)
	return n, err
}

const eventCols = `id, trigger, external_id, state, body, duplicate_of, received_at`

type scanner interface{ Scan(dest ...any) error }

func scanEvent(r scanner) (Event, error) {
	var ev Event
	var body string
	var dup sql.NullInt64
	var at int64
	if err := r.Scan(&ev.ID, &ev.Trigger, &ev.ExternalID, &ev.State, &body, &dup, &at); err != nil {
		return Event{}, err
	}
	ev.Body, ev.DuplicateOf, ev.ReceivedAt = []byte(body), dup.Int64, msTime(at)
	return ev, nil
}

// SetRunEnqueuer names the function that enqueues the runs of events ingested without an
// enqueue of their own. It is set once, before the first Ingest.
func (s *Store) SetRunEnqueuer(enqueue Enqueue) { s.runEnqueuer = enqueue }

func queuedRuns(res IngestResult) []int64 {
	var ids []int64
	for _, r := range res.Runs {
		if r.Status == RunQueued {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
