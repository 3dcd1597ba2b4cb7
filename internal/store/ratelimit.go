package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrRateLimitDeadline is TakeToken's answer when the wait for a token would outlast the
// context's deadline; no token was taken.
var ErrRateLimitDeadline = errors.New("rate limit: the wait for a token would exceed the deadline")

// TakeToken takes one token from the named bucket, which refills at rate tokens per second
// up to burst, and says how long the caller must wait before using it. The bucket is a row
// of rate_limits, so every instance on the database draws from the same one.
//
// The token is reserved even when the bucket is empty: the bucket goes into debt and the
// wait covers it, so that one round trip per send is enough and callers are served in the
// order they asked. When that wait would outlast ctx's deadline, nothing is taken and the
// answer is the wait with ErrRateLimitDeadline, so that callers that give up do not use up
// the rate of those that wait.
func (s *Store) TakeToken(ctx context.Context, name string, rate float64, burst int) (time.Duration, error) {
	if rate <= 0 {
		return 0, fmt.Errorf("rate limit %s: rate must be positive", name)
	}
	capacity := float64(max(burst, 1))
	var wait time.Duration
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.nowMS()
		// The insert comes first: on SQLite it makes the transaction a writer at once, so
		// that two connections never both read and then both ask to write.
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO rate_limits (name, tokens, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`), name, capacity, now); err != nil {
			return fmt.Errorf("error creating rate limit %s: %w", name, err)
		}
		query := `SELECT tokens, updated_at FROM rate_limits WHERE name = ?`
		if s.dialect == "postgres" {
			query += ` FOR UPDATE` // other instances wait here until this one commits
		}
		var tokens float64
		var updated int64
		if err := tx.QueryRowContext(ctx, s.q(query), name).Scan(&tokens, &updated); err != nil {
			return fmt.Errorf("error reading rate limit %s: %w", name, err)
		}
		// A clock behind the last update (another instance's clock) refills nothing, and
		// never moves the bucket's time back.
		if now > updated {
			tokens = math.Min(capacity, tokens+float64(now-updated)/1000*rate)
			updated = now
		}
		tokens--
		if tokens < 0 {
			wait = time.Duration(math.Ceil(-tokens / rate * float64(time.Second)))
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return ErrRateLimitDeadline
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE rate_limits SET tokens = ?, updated_at = ? WHERE name = ?`), tokens, updated, name)
		return err
	})
	return wait, err
}

// WaitToken takes a token (TakeToken) and waits until it may be used, or until ctx ends.
func (s *Store) WaitToken(ctx context.Context, name string, rate float64, burst int) error {
	wait, err := s.TakeToken(ctx, name, rate, burst)
	if err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
