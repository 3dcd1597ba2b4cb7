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

	Workflow      string
	Content       []byte // JSON of what was sent, for reminders
	RemindAfter   time.Duration
	EscalateAfter int
	EscalateTo    string
	Reminders     int
	NextRemindAt  *time.Time
}

const taskCols = `number, run_id, step_idx, to_phone, text, status, created_at, closed_at,
	workflow, content, remind_after_ms, escalate_after, escalate_to, reminders, next_remind_at`

func scanTask(r scanner) (Task, error) {
	var t Task
	var created, remindMS int64
	var closed, next sql.NullInt64
	var content string
	err := r.Scan(&t.Number, &t.RunID, &t.StepIndex, &t.To, &t.Text, &t.Status, &created, &closed,
		&t.Workflow, &content, &remindMS, &t.EscalateAfter, &t.EscalateTo, &t.Reminders, &next)
	t.CreatedAt, t.ClosedAt, t.NextRemindAt = msTime(created), nullMSTime(closed), nullMSTime(next)
	t.Content, t.RemindAfter = []byte(content), time.Duration(remindMS)*time.Millisecond
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

// TaskDetails is what a task step fills in once its text is rendered.
type TaskDetails struct {
	To, Text, Workflow string
	Content            []byte
	RemindAfter        time.Duration
	EscalateAfter      int
	EscalateTo         string
}

// SetTaskDetails stores the rendered task and, when it is to be reminded, its first
// reminder time.
func (s *Store) SetTaskDetails(ctx context.Context, number int64, d TaskDetails) error {
	var next any
	if d.RemindAfter > 0 {
		next = s.now().Add(d.RemindAfter).UnixMilli()
	}
	content := string(d.Content)
	if content == "" {
		content = "{}"
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET to_phone = ?, text = ?, workflow = ?, content = ?, remind_after_ms = ?,
		escalate_after = ?, escalate_to = ?, next_remind_at = COALESCE(next_remind_at, ?) WHERE number = ?`),
		d.To, d.Text, d.Workflow, content, d.RemindAfter.Milliseconds(), d.EscalateAfter, d.EscalateTo, next, number)
	if err != nil {
		return fmt.Errorf("error storing task %d: %w", number, err)
	}
	return nil
}

// DueTasks returns open tasks whose reminder is due at now and whose first message the
// provider accepted.
func (s *Store) DueTasks(ctx context.Context, now time.Time, limit int) ([]Task, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks t
		WHERE t.status = ? AND t.next_remind_at IS NOT NULL AND t.next_remind_at <= ?
		AND EXISTS (SELECT 1 FROM messages m WHERE m.run_id = t.run_id AND m.step_idx = t.step_idx AND m.provider_id <> '')
		ORDER BY t.next_remind_at LIMIT ?`), TaskOpen, now.UnixMilli(), limitOf(limit))
	if err != nil {
		return nil, fmt.Errorf("error listing due tasks: %w", err)
	}
	return scanAll(rows, scanTask)
}

// ClaimReminder takes reminder number n of an open task and sets when the next one is
// due. It reports false when the task was closed or the reminder already taken (by another
// sweep or instance): then the caller sends nothing.
func (s *Store) ClaimReminder(ctx context.Context, number int64, n int, next time.Time) (bool, error) {
	r, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET reminders = ?, next_remind_at = ?
		WHERE number = ? AND status = ? AND reminders = ?`), n, next.UnixMilli(), number, TaskOpen, n-1)
	if err != nil {
		return false, fmt.Errorf("error claiming reminder of task %d: %w", number, err)
	}
	k, _ := r.RowsAffected()
	return k == 1, nil
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, number int64) (Task, error) {
	t, err := scanTask(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks WHERE number = ?`), number))
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
	rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing tasks: %w", err)
	}
	return scanAll(rows, scanTask)
}
