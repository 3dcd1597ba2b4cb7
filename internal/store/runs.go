package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run statuses (SPEC §7.1).
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunRetrying  = "retrying"
	RunWaiting   = "waiting"
	RunSucceeded = "succeeded"
	RunSkipped   = "skipped"
	RunFailed    = "failed"
	RunDead      = "dead"
)

// RunFinished reports whether a run in this status will not run again by itself.
func RunFinished(status string) bool {
	switch status {
	case RunSucceeded, RunSkipped, RunFailed, RunDead:
		return true
	}
	return false
}

// Run is one workflow's execution on one event.
type Run struct {
	ID       int64
	EventID  int64
	Workflow string
	Status   string
	Error    string
	Attempts int
	ReplayOf int64
	// OwnJob is set once a run that shared a job with others was given a job of its own
	// (to retry or to wait): from then on only that job executes it.
	OwnJob    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const runCols = `id, event_id, workflow, status, error, attempts, replay_of, own_job, created_at, updated_at`

func scanRun(r scanner) (Run, error) {
	var run Run
	var replay sql.NullInt64
	var created, updated, own int64
	err := r.Scan(&run.ID, &run.EventID, &run.Workflow, &run.Status, &run.Error, &run.Attempts, &replay, &own, &created, &updated)
	run.ReplayOf, run.OwnJob, run.CreatedAt, run.UpdatedAt = replay.Int64, own != 0, msTime(created), msTime(updated)
	return run, err
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	run, err := scanRun(s.rdb.QueryRowContext(lookup(ctx), s.q(`SELECT `+runCols+` FROM runs WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNotFound
	}
	return run, err
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	Status   string
	Workflow string
	EventID  int64
	From     time.Time // created at or after; zero = no bound
	To       time.Time // created before; zero = no bound
	Limit    int
}

// ListRuns returns runs newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	query := `SELECT ` + runCols + ` FROM runs WHERE 1 = 1`
	var args []any
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Workflow != "" {
		query += ` AND workflow = ?`
		args = append(args, f.Workflow)
	}
	if f.EventID != 0 {
		query += ` AND event_id = ?`
		args = append(args, f.EventID)
	}
	if !f.From.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		query += ` AND created_at < ?`
		args = append(args, f.To.UnixMilli())
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limitOf(f.Limit))
	rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing runs: %w", err)
	}
	return scanAll(rows, scanRun)
}

// CountRuns returns the number of runs per status.
func (s *Store) CountRuns(ctx context.Context) (map[string]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// StartAttempt marks a run running and counts the attempt; it returns the updated run.
func (s *Store) StartAttempt(ctx context.Context, id int64) (Run, error) {
	var run Run
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		run, err = scanRun(tx.QueryRowContext(ctx, s.q(`UPDATE runs SET status = ?, attempts = attempts + 1, updated_at = ?
			WHERE id = ? RETURNING `+runCols), RunRunning, s.nowMS(), id))
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("error starting run %d: %w", id, err)
	}
	return run, nil
}

// StartAttempts starts an attempt of several runs in one write, as StartAttempt does for
// one; runs that finished, or that were handed to a job of their own, are left out. It
// returns the runs it started.
func (s *Store) StartAttempts(ctx context.Context, ids []int64) ([]Run, error) {
	list, _ := json.Marshal(ids)
	in := `SELECT value FROM json_each(?)`
	if s.dialect == "postgres" {
		in = `SELECT jsonb_array_elements_text(?::jsonb)::bigint`
	}
	var runs []Run
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`UPDATE runs SET status = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (`+in+`) AND own_job = 0 AND status NOT IN (?, ?, ?, ?) RETURNING `+runCols),
			RunRunning, s.nowMS(), string(list), RunSucceeded, RunSkipped, RunFailed, RunDead)
		if err != nil {
			return err
		}
		runs, err = scanAll(rows, scanRun)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error starting runs: %w", err)
	}
	return runs, nil
}

// FinishRun sets a run's status and error.
func (s *Store) FinishRun(ctx context.Context, id int64, status, errText string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?`),
			status, errText, s.nowMS(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("error updating run %d: %w", id, err)
	}
	return nil
}

// Replay stores a fresh run of the same workflow on the same event and enqueues it in the
// same transaction. The new run starts with the original's finished steps, so that what was
// already sent is not sent again; the once_per key is not claimed again (a replay is an
// operator's choice).
func (s *Store) Replay(ctx context.Context, runID int64, enqueue Enqueue) (Run, error) {
	orig, err := s.Run(ctx, runID)
	if err != nil {
		return Run{}, err
	}
	var run Run
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		run, err = s.insertRun(ctx, tx, orig.EventID, orig.Workflow, "", orig.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO run_steps (run_id, idx, step_id, action, status, output, error, updated_at)
			SELECT ?, idx, step_id, action, status, output, error, updated_at FROM run_steps WHERE run_id = ? AND status = ?`),
			run.ID, orig.ID, StepDone)
		if err != nil {
			return fmt.Errorf("error copying finished steps: %w", err)
		}
		return enqueue(ctx, tx, orig.EventID, []int64{run.ID})
	})
	return run, err
}

// AddRuns stores and enqueues runs for an event whose workflows were matched after it was
// stored (a delivery event that came before its message was known). A workflow that already
// has a run on the event gets no second one.
func (s *Store) AddRuns(ctx context.Context, eventID int64, runs []PlannedRun, enqueue Enqueue) ([]Run, error) {
	var out []Run
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		var toRun []int64
		for _, p := range runs {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM runs WHERE event_id = ? AND workflow = ?`), eventID, p.Workflow).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			run, err := s.insertRun(ctx, tx, eventID, p.Workflow, p.OnceKey, 0)
			if err != nil {
				return err
			}
			out = append(out, run)
			if run.Status == RunQueued {
				toRun = append(toRun, run.ID)
			}
		}
		if len(toRun) == 0 {
			return nil
		}
		return enqueue(ctx, tx, eventID, toRun)
	})
	return out, err
}

// ReplayFilter selects runs for a bulk replay.
type ReplayFilter struct {
	Status   string
	Workflow string
	Since    time.Time
	Limit    int
}

// RunsToReplay lists the runs a bulk replay takes, oldest first.
func (s *Store) RunsToReplay(ctx context.Context, f ReplayFilter) ([]Run, error) {
	query := `SELECT ` + runCols + ` FROM runs WHERE status = ?`
	args := []any{f.Status}
	if f.Workflow != "" {
		query += ` AND workflow = ?`
		args = append(args, f.Workflow)
	}
	if !f.Since.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, f.Since.UnixMilli())
	}
	query += ` ORDER BY id LIMIT ?`
	limit := f.Limit
	if limit <= 0 {
		limit = 100000
	}
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing runs to replay: %w", err)
	}
	return scanAll(rows, scanRun)
}

// Step statuses.
const (
	StepDone    = "done"
	StepSkipped = "skipped"
)

// Step is a finished step of a run, with its output for later steps.
type Step struct {
	RunID     int64
	Index     int
	StepID    string
	Action    string
	Status    string
	Output    []byte // JSON object
	Error     string
	UpdatedAt time.Time
}

// Steps returns a run's finished steps in order.
func (s *Store) Steps(ctx context.Context, runID int64) ([]Step, error) {
	rows, err := s.rdb.QueryContext(lookup(ctx), s.q(`SELECT run_id, idx, step_id, action, status, output, error, updated_at
		FROM run_steps WHERE run_id = ? ORDER BY idx`), runID)
	if err != nil {
		return nil, fmt.Errorf("error reading steps of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var st Step
		var output string
		var at int64
		if err := rows.Scan(&st.RunID, &st.Index, &st.StepID, &st.Action, &st.Status, &output, &st.Error, &at); err != nil {
			return nil, err
		}
		st.Output, st.UpdatedAt = []byte(output), msTime(at)
		out = append(out, st)
	}
	return out, rows.Err()
}

// StepCompletion is what CompleteStep records in one transaction: the step's checkpoint, the
// provider's acceptance of the message the step sent (if any), and the run's end when
// this was its last step.
type StepCompletion struct {
	Step       Step
	Message    *Message // the message the step sent, nil when it sent none
	ProviderID string   // the provider's id of that message
	RunStatus  string   // "" unless the run ends with this step
	RunError   string
}

// CompleteStep records a finished step. The message it sent (written only now: nothing is
// recorded before the send that a retry would need) and its checkpoint commit together,
// so that no crash can leave a sent message whose step looks unfinished.
func (s *Store) CompleteStep(ctx context.Context, d StepCompletion) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if d.Message != nil {
			if err := s.upsertMessage(ctx, tx, *d.Message, MsgSubmitted, d.ProviderID, ""); err != nil {
				return err
			}
		}
		if err := s.finishStep(ctx, tx, d.Step); err != nil {
			return err
		}
		if d.RunStatus != "" {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?`),
				d.RunStatus, d.RunError, s.nowMS(), d.Step.RunID); err != nil {
				return err
			}
		}
		if d.ProviderID != "" && s.batcher != nil {
			// Delivery events may have come before this answer did. SQLite's writes are
			// serial, so looking inside this transaction misses none of them.
			return s.catchUpDeliveries(ctx, tx, d.ProviderID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("error recording step %d of run %d: %w", d.Step.Index, d.Step.RunID, err)
	}
	if d.ProviderID != "" && s.batcher == nil {
		// On PostgreSQL a delivery event stored while this transaction was open did not see
		// the provider id, and this transaction did not see the event: look once it committed.
		return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.catchUpDeliveries(ctx, tx, d.ProviderID) })
	}
	return nil
}

// FinishStep records a finished step (checkpoint); recording it twice keeps the first.
func (s *Store) FinishStep(ctx context.Context, st Step) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return s.finishStep(ctx, tx, st) })
}

func (s *Store) finishStep(ctx context.Context, q queryer, st Step) error {
	output := string(st.Output)
	if output == "" {
		output = "{}"
	}
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO run_steps (run_id, idx, step_id, action, status, output, error, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, idx) DO NOTHING`),
		st.RunID, st.Index, st.StepID, st.Action, st.Status, output, st.Error, s.nowMS())
	if err != nil {
		return fmt.Errorf("error recording step %d of run %d: %w", st.Index, st.RunID, err)
	}
	return nil
}

// PauseRun records why a run stops for now (status retrying or waiting), taking back the
// attempt StartAttempt counted when undoAttempt is set (a pause that is not a failure:
// quiet hours, a provider refusing credentials). A non-nil resume runs in the same
// transaction and schedules the run's own job to take it up again: the run is then marked
// OwnJob, so that the job it shared with other runs leaves it alone.
func (s *Store) PauseRun(ctx context.Context, id int64, status, reason string, undoAttempt bool, resume func(ctx context.Context, tx *sql.Tx) error) error {
	undo, own := 0, 0
	if undoAttempt {
		undo = 1
	}
	if resume != nil {
		own = 1
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, error = ?,
			attempts = CASE WHEN ? = 1 AND attempts > 0 THEN attempts - 1 ELSE attempts END,
			own_job = CASE WHEN ? = 1 THEN 1 ELSE own_job END, updated_at = ? WHERE id = ?`),
			status, reason, undo, own, s.nowMS(), id)
		if err != nil || resume == nil {
			return err
		}
		return resume(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("error updating run %d: %w", id, err)
	}
	return nil
}
