package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message statuses, in the order a message moves through them; failed ends it.
const (
	MsgQueued    = "queued"
	MsgSubmitted = "submitted"
	MsgEnqueued  = "enqueued"
	MsgSent      = "sent"
	MsgDelivered = "delivered"
	MsgRead      = "read"
	MsgFailed    = "failed"
)

var msgRank = map[string]int{MsgQueued: 0, MsgSubmitted: 1, MsgEnqueued: 2, MsgSent: 3, MsgDelivered: 4, MsgRead: 5}

// StatusAdvances reports whether a message may move from status from to status to: only
// forward, and to failed only before it was delivered.
func StatusAdvances(from, to string) bool {
	if from == MsgFailed {
		return false
	}
	if to == MsgFailed {
		return msgRank[from] < msgRank[MsgDelivered]
	}
	r, ok := msgRank[to]
	return ok && r > msgRank[from]
}

// Message is one outbound WhatsApp message.
type Message struct {
	ID         int64
	RunID      int64
	StepIndex  int
	Workflow   string
	To         string // E.164 digits
	Kind       string // text | template | media
	Text       string
	Template   string
	Params     []string
	Status     string
	ProviderID string
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const msgCols = `id, run_id, step_idx, workflow, to_phone, kind, text, template, params, status, provider_id, error, created_at, updated_at`

func scanMessage(r scanner) (Message, error) {
	var m Message
	var params string
	var created, updated int64
	err := r.Scan(&m.ID, &m.RunID, &m.StepIndex, &m.Workflow, &m.To, &m.Kind, &m.Text, &m.Template, &params,
		&m.Status, &m.ProviderID, &m.Error, &created, &updated)
	if err != nil {
		return Message{}, err
	}
	if params != "" {
		_ = json.Unmarshal([]byte(params), &m.Params)
	}
	if m.Params == nil {
		m.Params = []string{}
	}
	m.CreatedAt, m.UpdatedAt = msTime(created), msTime(updated)
	return m, nil
}

// PrepareMessage records a message about to be sent for a run's step and returns it. When
// the step already has a message (a retried run), that message is returned unchanged, so the
// caller can tell whether it was already accepted by the provider.
func (s *Store) PrepareMessage(ctx context.Context, m Message) (Message, error) {
	params := paramsJSON(m.Params)
	now := s.nowMS()
	var got Message
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		got, err = scanMessage(tx.QueryRowContext(ctx, s.q(`INSERT INTO messages (run_id, step_idx, workflow, to_phone, kind, text, template, params, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step_idx) DO NOTHING RETURNING `+msgCols),
			m.RunID, m.StepIndex, m.Workflow, m.To, m.Kind, m.Text, m.Template, params, MsgQueued, now, now))
		if errors.Is(err, sql.ErrNoRows) { // the step has its message already
			got, err = scanMessage(tx.QueryRowContext(ctx, s.q(`SELECT `+msgCols+` FROM messages WHERE run_id = ? AND step_idx = ?`), m.RunID, m.StepIndex))
		}
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("error recording message: %w", err)
	}
	return got, nil
}

func paramsJSON(p []string) string {
	if p == nil {
		return "[]"
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// upsertMessage writes a run step's message as it stands after a send: accepted (status
// submitted, with the provider's id) or not (queued to retry, or failed). A message the
// provider accepted is never written over.
func (s *Store) upsertMessage(ctx context.Context, tx *sql.Tx, m Message, status, providerID, errText string) error {
	params := paramsJSON(m.Params)
	now := s.nowMS()
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO messages (run_id, step_idx, workflow, to_phone, kind, text, template, params, status, provider_id, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, step_idx) DO UPDATE SET to_phone = excluded.to_phone, kind = excluded.kind, text = excluded.text,
			template = excluded.template, params = excluded.params, status = excluded.status, provider_id = excluded.provider_id,
			error = excluded.error, updated_at = excluded.updated_at
		WHERE messages.provider_id = ''`),
		m.RunID, m.StepIndex, m.Workflow, m.To, m.Kind, m.Text, m.Template, params, status, providerID, errText, now, now)
	if err != nil {
		return fmt.Errorf("error recording message: %w", err)
	}
	return nil
}

// UnsentMessage records a run step's message that the provider did not accept: queued to
// try again, or failed when final.
func (s *Store) UnsentMessage(ctx context.Context, m Message, errText string, final bool) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.upsertMessage(ctx, tx, m, unsentStatus(final), "", errText)
	})
}

// unsentStatus is the status of a message the provider did not accept: queued to try again,
// failed when final.
func unsentStatus(final bool) string {
	if final {
		return MsgFailed
	}
	return MsgQueued
}

// MessageSubmitted records the provider's acceptance of a message.
func (s *Store) MessageSubmitted(ctx context.Context, id int64, providerID string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE messages SET status = ?, provider_id = ?, error = '', updated_at = ?
			WHERE id = ? AND status = ?`), MsgSubmitted, providerID, s.nowMS(), id, MsgQueued); err != nil {
			return err
		}
		// Delivery events may have come before this answer did.
		return s.catchUpDeliveries(ctx, tx, providerID)
	})
	if err != nil {
		return fmt.Errorf("error recording submitted message %d: %w", id, err)
	}
	return nil
}

// MessageFailed records a failure of a message that was never accepted.
func (s *Store) MessageFailed(ctx context.Context, id int64, errText string, final bool) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE messages SET status = ?, error = ?, updated_at = ?
			WHERE id = ? AND provider_id = ''`), unsentStatus(final), errText, s.nowMS(), id)
		return err
	})
}

// Message returns one message.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+msgCols+` FROM messages WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	return m, err
}

// MessageFilter narrows ListMessages.
type MessageFilter struct {
	To       string
	Status   string
	Workflow string
	RunID    int64
	Limit    int
}

// ListMessages returns messages newest first.
func (s *Store) ListMessages(ctx context.Context, f MessageFilter) ([]Message, error) {
	query := `SELECT ` + msgCols + ` FROM messages WHERE 1 = 1`
	var args []any
	if f.To != "" {
		query += ` AND to_phone = ?`
		args = append(args, f.To)
	}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Workflow != "" {
		query += ` AND workflow = ?`
		args = append(args, f.Workflow)
	}
	if f.RunID != 0 {
		query += ` AND run_id = ?`
		args = append(args, f.RunID)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limitOf(f.Limit))
	rows, err := s.rdb.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("error listing messages: %w", err)
	}
	return scanAll(rows, scanMessage)
}

// CountSentSince counts the messages to a phone accepted by the provider since t, leaving
// out one message id (the one being decided on).
func (s *Store) CountSentSince(ctx context.Context, phone string, since time.Time, except int64) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM messages
		WHERE to_phone = ? AND provider_id <> '' AND created_at >= ? AND id <> ?`), phone, since.UnixMilli(), except).Scan(&n)
	return n, err
}

// FailUnsentMessages marks failed every message of a run that the provider never accepted.
func (s *Store) FailUnsentMessages(ctx context.Context, runID int64, errText string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`UPDATE messages SET status = ?, error = ?, updated_at = ?
			WHERE run_id = ? AND provider_id = '' AND status = ?`), MsgFailed, errText, s.nowMS(), runID, MsgQueued)
		return err
	})
	if err != nil {
		return fmt.Errorf("error failing messages of run %d: %w", runID, err)
	}
	return nil
}
