// Package storetest gives tests a fresh database of each kind nudge runs on, so that one
// suite of tests runs against SQLite and PostgreSQL alike (River's riverdrivertest is the
// model). PostgreSQL is found at NUDGE_TEST_POSTGRES (default: the local server with trust
// auth); each test gets a database of its own, dropped when the test ends. Where PostgreSQL
// does not answer, its tests are skipped, or fail when CI is set.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresDefault is the server the tests use when NUDGE_TEST_POSTGRES is not set.
const PostgresDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Backends are the database kinds to test on, in order: NUDGE_TEST_BACKENDS narrows them
// ("sqlite", "postgres" or both, comma-separated); the default is both.
func Backends() []string {
	v := os.Getenv("NUDGE_TEST_BACKENDS")
	if v == "" {
		return []string{"sqlite", "postgres"}
	}
	var out []string
	for _, b := range strings.Split(v, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// DSN returns the address of a new, empty database of the given backend, for store.Open and
// the config's database field. It is removed when the test ends.
func DSN(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "nudge.db")
	case "postgres":
		return PostgresDSN(t)
	}
	t.Fatalf("storetest: unknown backend %q", backend)
	return ""
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// PostgresDSN creates a database on the test server and returns its URL; the database is
// dropped (with whatever is still connected to it) when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("NUDGE_TEST_POSTGRES")
	if base == "" {
		base = PostgresDefault
	}
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = admin.PingContext(ctx)
		}
	})
	if adminErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s does not answer: %v", redact(base), adminErr)
		}
		t.Skipf("PostgreSQL at %s does not answer (%v): skipped; set CI to make this fail", redact(base), adminErr)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "nudge_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("error creating test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("error dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return dsn
}
