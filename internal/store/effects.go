package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Effects are what an inbound webhook changes besides being stored: the contact's window
// and opt-out, a task closed by its agent, a message's delivery status. They are applied in
// the event's own transaction, and not at all for a duplicate delivery.
type Effects struct {
	Inbound   *Inbound
	Opt       *OptChange
	CloseTask *TaskClose
	Delivery  *Delivery
}

// Inbound is a message received from a contact: it opens the 24-hour window.
type Inbound struct {
	Phone string
	At    time.Time
}

// OptChange opts a contact out of customer-directed messages, or back in.
type OptChange struct {
	Phone  string
	Out    bool
	Reason string
}

// TaskClose closes task Number when From is the phone the task was sent or escalated to.
type TaskClose struct {
	Number int64
	From   string
}

// Delivery is a provider's status event for a sent message.
type Delivery struct {
	ProviderID string
	Status     string
	Code       int
	Reason     string
	At         time.Time
	// OptOutContact, when set, opts the message's recipient out with this reason: the
	// provider said the number cannot be reached.
	OptOutContact string
}

// EffectResult says what the effects changed.
type EffectResult struct {
	TaskClosed     bool
	MessageUpdated bool
	MessageID      int64
}

func (s *Store) applyEffects(ctx context.Context, tx *sql.Tx, e *Effects) (EffectResult, error) {
	var res EffectResult
	now := s.nowMS()
	if in := e.Inbound; in != nil {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contacts (phone, last_inbound_at, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (phone) DO UPDATE SET
				last_inbound_at = CASE WHEN contacts.last_inbound_at IS NULL OR contacts.last_inbound_at < excluded.last_inbound_at
					THEN excluded.last_inbound_at ELSE contacts.last_inbound_at END,
				updated_at = excluded.updated_at`), in.Phone, in.At.UnixMilli(), now)
		if err != nil {
			return res, fmt.Errorf("error recording inbound contact: %w", err)
		}
	}
	if o := e.Opt; o != nil {
		v := 0
		if o.Out {
			v = 1
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contacts (phone, opted_out, opt_reason, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (phone) DO UPDATE SET opted_out = excluded.opted_out, opt_reason = excluded.opt_reason, updated_at = excluded.updated_at`),
			o.Phone, v, o.Reason, now)
		if err != nil {
			return res, fmt.Errorf("error recording opt-out: %w", err)
		}
	}
	if c := e.CloseTask; c != nil {
		r, err := tx.ExecContext(ctx, s.q(`UPDATE tasks SET status = ?, closed_at = ?
			WHERE number = ? AND status = ? AND (to_phone = ? OR escalate_to = ?)`),
			TaskClosed, now, c.Number, TaskOpen, c.From, c.From)
		if err != nil {
			return res, fmt.Errorf("error closing task: %w", err)
		}
		n, _ := r.RowsAffected()
		res.TaskClosed = n == 1
	}
	if d := e.Delivery; d != nil && d.ProviderID != "" {
		at := d.At
		if at.IsZero() {
			at = s.now()
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO message_events (provider_id, status, code, reason, at, received_at)
			VALUES (?, ?, ?, ?, ?, ?)`), d.ProviderID, d.Status, d.Code, d.Reason, at.UnixMilli(), now)
		if err != nil {
			return res, fmt.Errorf("error recording delivery event: %w", err)
		}
		res.MessageID, res.MessageUpdated, err = s.advanceMessage(ctx, tx, d.ProviderID, d.Status, d.Code, d.Reason)
		if err != nil {
			return res, err
		}
		if d.OptOutContact != "" && res.MessageID != 0 {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO contacts (phone, opted_out, opt_reason, updated_at)
				SELECT to_phone, 1, ?, ? FROM messages WHERE id = ?
				ON CONFLICT (phone) DO UPDATE SET opted_out = 1, opt_reason = excluded.opt_reason, updated_at = excluded.updated_at`),
				d.OptOutContact, now, res.MessageID)
			if err != nil {
				return res, fmt.Errorf("error marking contact unreachable: %w", err)
			}
		}
	}
	return res, nil
}

// advanceMessage moves a message's status forward to status; it never moves it back.
func (s *Store) advanceMessage(ctx context.Context, q queryer, providerID, status string, code int, reason string) (int64, bool, error) {
	var id int64
	var cur string
	err := q.QueryRowContext(ctx, s.q(`SELECT id, status FROM messages WHERE provider_id = ?`), providerID).Scan(&id, &cur)
	if err == sql.ErrNoRows {
		return 0, false, nil // an event for a message not (yet) known: kept in message_events
	}
	if err != nil {
		return 0, false, err
	}
	if !StatusAdvances(cur, status) {
		return id, false, nil
	}
	errText := ""
	if status == MsgFailed {
		errText = reason
		if code != 0 {
			errText = fmt.Sprintf("%d: %s", code, reason)
		}
	}
	_, err = q.ExecContext(ctx, s.q(`UPDATE messages SET status = ?, code = ?, error = CASE WHEN ? = '' THEN error ELSE ? END, updated_at = ?
		WHERE id = ?`), status, code, errText, errText, s.nowMS(), id)
	return id, err == nil, err
}

// catchUpDeliveries applies delivery events that arrived before the provider's id was known.
func (s *Store) catchUpDeliveries(ctx context.Context, tx *sql.Tx, providerID string) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT status, code, reason FROM message_events WHERE provider_id = ? ORDER BY id`), providerID)
	if err != nil {
		return err
	}
	type ev struct {
		status, reason string
		code           int
	}
	var evs []ev
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.status, &e.code, &e.reason); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, e)
	}
	rows.Close()
	for _, e := range evs {
		if _, _, err := s.advanceMessage(ctx, tx, providerID, e.status, e.code, e.reason); err != nil {
			return err
		}
	}
	return nil
}

// MessageEvent is one entry of a message's status timeline.
type MessageEvent struct {
	Status     string
	Code       int
	Reason     string
	At         time.Time
	ReceivedAt time.Time
}

// MessageTimeline returns the delivery events received for a provider id, oldest first.
func (s *Store) MessageTimeline(ctx context.Context, providerID string) ([]MessageEvent, error) {
	rows, err := s.rdb.QueryContext(ctx, s.q(`SELECT status, code, reason, at, received_at FROM message_events WHERE provider_id = ? ORDER BY at, id`), providerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MessageEvent
	for rows.Next() {
		var e MessageEvent
		var at, rec int64
		if err := rows.Scan(&e.Status, &e.Code, &e.Reason, &at, &rec); err != nil {
			return nil, err
		}
		e.At, e.ReceivedAt = msTime(at), msTime(rec)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MessageByProviderID finds the message the provider knows by id.
func (s *Store) MessageByProviderID(ctx context.Context, providerID string) (Message, error) {
	m, err := scanMessage(s.rdb.QueryRowContext(ctx, s.q(`SELECT `+msgCols+` FROM messages WHERE provider_id = ?`), providerID))
	if err == sql.ErrNoRows {
		return Message{}, ErrNotFound
	}
	return m, err
}
