package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a logged-in web UI session. IDHash is the SHA-256 (hex) of the secret the
// cookie carries; the secret itself is never stored.
type Session struct {
	IDHash     string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO web_sessions (id_hash, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?)`),
		se.IDHash, se.CSRFToken, se.CreatedAt.UnixMilli(), se.LastSeenAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("error creating session: %w", err)
	}
	return nil
}

// Session returns the session with the given id hash.
func (s *Store) Session(ctx context.Context, idHash string) (Session, error) {
	se := Session{IDHash: idHash}
	var created, seen int64
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT csrf_token, created_at, last_seen_at FROM web_sessions WHERE id_hash = ?`), idHash).
		Scan(&se.CSRFToken, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("error reading session: %w", err)
	}
	se.CreatedAt, se.LastSeenAt = msTime(created), msTime(seen)
	return se, nil
}

// TouchSession records activity on a session at t.
func (s *Store) TouchSession(ctx context.Context, idHash string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?`), t.UnixMilli(), idHash)
	if err != nil {
		return fmt.Errorf("error updating session: %w", err)
	}
	return nil
}

// DeleteSession removes a session (logout, rotation, expiry).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE id_hash = ?`), idHash)
	if err != nil {
		return fmt.Errorf("error deleting session: %w", err)
	}
	return nil
}

// DeleteSessionsIdleSince removes every session not used since t.
func (s *Store) DeleteSessionsIdleSince(ctx context.Context, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE last_seen_at < ?`), t.UnixMilli())
	if err != nil {
		return fmt.Errorf("error deleting idle sessions: %w", err)
	}
	return nil
}
