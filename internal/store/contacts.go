package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Contact is what nudge knows of a WhatsApp number.
type Contact struct {
	Phone         string
	OptedOut      bool
	OptReason     string
	LastInboundAt *time.Time
	UpdatedAt     time.Time
}

// WindowOpen reports whether WhatsApp's 24-hour customer-service window is open at now.
func (c Contact) WindowOpen(now time.Time) bool {
	return c.LastInboundAt != nil && now.Sub(*c.LastInboundAt) < 24*time.Hour
}

// Contact returns what is known of a phone; an unknown phone is a zero Contact, not an error.
func (s *Store) Contact(ctx context.Context, phone string) (Contact, error) {
	c := Contact{Phone: phone}
	var opted int
	var last sql.NullInt64
	var updated int64
	err := s.rdb.QueryRowContext(lookup(ctx), s.q(`SELECT opted_out, opt_reason, last_inbound_at, updated_at FROM contacts WHERE phone = ?`), phone).
		Scan(&opted, &c.OptReason, &last, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("error reading contact: %w", err)
	}
	c.OptedOut, c.LastInboundAt, c.UpdatedAt = opted != 0, nullMSTime(last), msTime(updated)
	return c, nil
}

// TouchInbound records an inbound message from phone at t (opening the 24-hour window);
// an older t never moves the window back.
func (s *Store) TouchInbound(ctx context.Context, phone string, t time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.applyEffects(ctx, tx, &Effects{Inbound: &Inbound{Phone: phone, At: t}})
		return err
	})
}

// SetOptOut opts a phone out of (or back into) customer-directed messages.
func (s *Store) SetOptOut(ctx context.Context, phone string, out bool, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.applyEffects(ctx, tx, &Effects{Opt: &OptChange{Phone: phone, Out: out, Reason: reason}})
		return err
	})
}
