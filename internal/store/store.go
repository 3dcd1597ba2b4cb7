// Package store keeps nudge's durable state: events with their raw bodies, runs and their
// finished steps, messages, contacts and tasks. SQL lives next to the method that runs it.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // registers the pure-Go "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

//go:embed migrations
var migrationsFS embed.FS

// Store is the database. All methods are safe for concurrent use.
type Store struct {
	db          *sql.DB
	rdb         *sql.DB // reads that need no transaction: on SQLite a pool of read-only connections beside the single writer
	dialect     string
	now         func() time.Time
	rescueAfter time.Duration
	batcher     *batcher // SQLite's group commit of concurrent ingests; nil on PostgreSQL
	runEnqueuer Enqueue  // enqueues ingested runs when the caller gives no enqueue
	closeOnce   sync.Once
}

// Open opens (creating if needed) the database named by dsn ("sqlite:path" or
// "postgres://…") and applies every migration that has not run yet.
func Open(ctx context.Context, dsn string) (*Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("unknown database %q: want sqlite:PATH or postgres://…", dsn)
	}
}

// PostgresMaxConnsDefault is how many connections one instance opens to PostgreSQL at
// most, unless the URL's max_conns parameter says otherwise.
const PostgresMaxConnsDefault = 20

// openPostgres opens PostgreSQL through database/sql (pgx's stdlib driver), so that the
// store's SQL and the *sql.Tx it shares with the job queue are one code path for both
// dialects. Two parameters of the URL are nudge's own and are not sent to the server:
// max_conns (the pool size) and rescue_after (see RescueAfter).
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("error parsing database URL: %w", err)
	}
	q := u.Query()
	maxConns := PostgresMaxConnsDefault
	if v := q.Get("max_conns"); v != "" {
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, fmt.Errorf("database URL: max_conns %q: want a positive number", v)
		}
	}
	var rescue time.Duration
	if v := q.Get("rescue_after"); v != "" {
		if rescue, err = time.ParseDuration(v); err != nil || rescue <= 0 {
			return nil, fmt.Errorf("database URL: rescue_after %q: want a positive duration", v)
		}
	}
	q.Del("max_conns")
	q.Del("rescue_after")
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("error opening postgres %s: %w", u.Redacted(), err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, rdb: db, dialect: "postgres", now: time.Now, rescueAfter: rescue}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteReaders is the size of SQLite's read-only pool.
const sqliteReaders = 4

func openSQLite(ctx context.Context, file string) (*Store, error) {
	if file == "" {
		return nil, errors.New("sqlite: empty path")
	}
	// busy_timeout first, then WAL; synchronous=FULL so that a 202 means the event is on disk.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(on)"} {
		q.Add("_pragma", p)
	}
	db := sql.OpenDB(stmtCacheConnector{dsn: "file:" + file + "?" + q.Encode(), drv: &sqlite.Driver{}})
	// SQLite has one writer; River's SQLite driver asks for a single connection too.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	s := &Store{db: db, dialect: "sqlite", now: time.Now}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// In WAL mode readers do not wait for the writer: the workers' lookups and the UI's pages
	// run on their own connections, and see every write that was acknowledged (committed).
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout(10000)")
	rq.Add("_pragma", "query_only(1)")
	s.rdb = sql.OpenDB(stmtCacheConnector{dsn: "file:" + file + "?" + rq.Encode(), drv: &sqlite.Driver{}})
	s.rdb.SetMaxOpenConns(sqliteReaders)
	s.rdb.SetMaxIdleConns(sqliteReaders)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)
	s.batcher = newBatcher(s)
	return s, nil
}

// DB is the underlying pool, shared with the job queue so that an event and its jobs
// commit in one transaction.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// RescueAfter is how long a job that an instance was running when it died stays running
// before another instance takes it over (the postgres URL's rescue_after); 0 means the
// job queue's default.
func (s *Store) RescueAfter() time.Duration { return s.rescueAfter }

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.batcher != nil {
			s.batcher.close()
		}
		if s.rdb != s.db {
			s.rdb.Close()
		}
	})
	return s.db.Close()
}

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
	dir := path.Join("migrations", s.dialect)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return fmt.Errorf("error reading migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	// All migrations in one transaction, under the migration lock: instances that start
	// together on one PostgreSQL database apply each migration once, and a failed one
	// leaves nothing half done.
	return s.migrationTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS nudge_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("error creating migrations table: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", name)
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM nudge_migrations WHERE version = ?`), version).Scan(&n); err != nil {
				return fmt.Errorf("error reading migration state: %w", err)
			}
			if n > 0 {
				continue
			}
			body, err := fs.ReadFile(migrationsFS, path.Join(dir, name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("error applying migration %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO nudge_migrations (version, name, applied_at) VALUES (?, ?, ?)`), version, name, s.nowMS()); err != nil {
				return fmt.Errorf("error recording migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// migrationLock is the PostgreSQL advisory lock key that serializes schema changes.
const migrationLock = 7_146_218_953

// migrationTx runs fn in a transaction that holds the migration lock on PostgreSQL (as a
// transaction lock, released at commit). On SQLite the transaction itself is the lock.
func (s *Store) migrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == "postgres" {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
				return fmt.Errorf("error taking the migration lock: %w", err)
			}
		}
		return fn(tx)
	})
}

// WithMigrationLock runs fn while this instance holds the migration lock, so that instances
// starting together on one PostgreSQL database do not migrate the same tables at once (the
// job queue's migrations run in several transactions of their own). On SQLite, which one
// process owns, it just runs fn.
func (s *Store) WithMigrationLock(ctx context.Context, fn func() error) error {
	if s.dialect != "postgres" {
		return fn()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("error taking the migration lock: %w", err)
	}
	ferr := fn()
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); err != nil {
		// A lock left on the connection would block every later start: drop the connection.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(ferr, fmt.Errorf("error releasing the migration lock: %w", err))
	}
	return ferr
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

// lookup is the context of a read by key that every run makes: it takes microseconds, and a
// cancellable context would cost the SQLite driver a goroutine watching it per statement.
func lookup(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

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

// scanAll reads every row of rows with scan, and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// isUniqueViolation reports whether err is a unique constraint's refusal, in either dialect.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
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
