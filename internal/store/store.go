// Package store keeps nudge's durable state: events with their raw bodies, runs and their
// finished steps, messages, contacts and tasks. SQL lives next to the method that runs it.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

//go:embed migrations
var migrationsFS embed.FS

// Store is the database. All methods are safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string
	now     func() time.Time
}

// Open opens (creating if needed) the database named by dsn ("sqlite:path") and applies
// every migration that has not run yet.
func Open(ctx context.Context, dsn string) (*Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, errors.New("postgres databases are not supported yet; use sqlite:PATH")
	default:
		return nil, fmt.Errorf("unknown database %q: want sqlite:PATH", dsn)
	}
}

func openSQLite(ctx context.Context, file string) (*Store, error) {
	if file == "" {
		return nil, errors.New("sqlite: empty path")
	}
	// busy_timeout first, then WAL; synchronous=FULL so that a 202 means the event is on disk.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(on)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("error opening sqlite %s: %w", file, err)
	}
	// SQLite has one writer; River's SQLite driver asks for a single connection too.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	s := &Store{db: db, dialect: "sqlite", now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// DB is the underlying pool, shared with the job queue so that an event and its jobs
// commit in one transaction.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect is "sqlite" (or, later, "postgres").
func (s *Store) Dialect() string { return s.dialect }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) nowMS() int64 { return s.now().UnixMilli() }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS nudge_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("error creating migrations table: %w", err)
	}
	dir := path.Join("migrations", s.dialect)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return fmt.Errorf("error reading migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM nudge_migrations WHERE version = ?`), version).Scan(&n); err != nil {
			return fmt.Errorf("error reading migration state: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrationsFS, path.Join(dir, name))
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO nudge_migrations (version, name, applied_at) VALUES (?, ?, ?)`), version, name, s.nowMS())
			return err
		})
		if err != nil {
			return fmt.Errorf("error applying migration %s: %w", name, err)
		}
	}
	return nil
}

// Tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// q rewrites ? placeholders for the dialect.
func (s *Store) q(query string) string {
	if s.dialect != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMSTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := msTime(ms.Int64)
	return &t
}

func limitOf(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}
