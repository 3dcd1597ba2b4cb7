package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Task statuses.
const (
	TaskOpen   = "open"
	TaskClosed = "closed"
)

// Task is a message to an agent that stays open until the agent closes it.
type Task struct {
	Number    int64
	RunID     int64
	StepIndex int
	To        string
	Text      string
	Status    string
	CreatedAt time.Time
	ClosedAt  *time.Time
}

const taskCols = `number, run_id, step_idx, to_phone, text, status, created_at, closed_at`

func scanTask(r scanner) (Task, error) {
	var t Task
	var created int64
	var closed sql.NullInt64
	err := r.Scan(&t.Number, &t.RunID, &t.StepIndex, &t.To, &t.Text, &t.Status, &created, &closed)
	t.CreatedAt, t.ClosedAt = msTime(created), nullMSTime(closed)
	return t, err
}

// PrepareTask returns the task of a run's step, creating it open when it does not exist:
// its number is known before the text that quotes it is rendered.
func (s *Store) PrepareTask(ctx context.Context, runID int64, stepIdx int, to string) (Task, error) {
	get := func() (Task, error) {
		return scanTask(s.db.QueryRowContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks WHERE run_id = ? AND step_idx = ?`), runID, stepIdx))
	}
	// Look first: a conflicting insert would still use up a task number.
	t, err := get()
	if !errors.Is(err, sql.ErrNoRows) {
		return t, err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO tasks (run_id, step_idx, to_phone, status, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, step_idx) DO NOTHING`), runID, stepIdx, to, TaskOpen, s.nowMS())
	if err != nil {
		return Task{}, fmt.Errorf("error recording task: %w", err)
	}
	return get()
}

// SetTaskText stores the rendered text of a task.
func (s *Store) SetTaskText(ctx context.Context, number int64, to, text string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET to_phone = ?, text = ? WHERE number = ?`), to, text, number)
	return err
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, number int64) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks WHERE number = ?`), number))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, ErrNotFound
	}
	return t, err
}

// CloseTask closes an open task; it reports whether the task was open.
func (s *Store) CloseTask(ctx context.Context, number int64) (bool, error) {
	r, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET status = ?, closed_at = ? WHERE number = ? AND status = ?`),
		TaskClosed, s.nowMS(), number, TaskOpen)
	if err != nil {
		return false, fmt.Errorf("error closing task %d: %w", number, err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// TaskFilter narrows ListTasks.
type TaskFilter struct {
	Status string
	Limit  int
}

// ListTasks returns tasks newest first.
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	query := `SELECT ` + taskCols + ` FROM tasks`
	var args []any
	if f.Status != "" {
		query += ` WHERE status = ?`
		args = append(args, f.Status)
	}
	query += ` ORDER BY number DESC LIMIT ?`
	args = append(args, limitOf(f.Limit))
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing tasks: %w", err)
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
