package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// The pure-Go SQLite driver compiles the SQL text of every query it is handed: with nudge's
// and River's statements that was a third of the CPU under load. stmtCacheConnector keeps
// each connection's prepared statements by text and reuses them, for every caller of the
// pool, River included.

type stmtCacheConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{inner: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.drv }

// maxCachedStmts bounds a connection's cache; nudge and River use far fewer statements.
const maxCachedStmts = 256

type cachedStmt struct {
	st   driver.Stmt
	busy bool // rows of it are open: another use gets a statement of its own
}

type cachingConn struct {
	inner driver.Conn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

// cacheable leaves scripts (several statements) to the driver's own path: it looks for a
// ';' followed by more SQL, outside quotes and comments (River's queries have ';' in comments).
func cacheable(query string) bool {
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(query) && query[i] != c; i++ {
			}
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			for i += 2; i < len(query) && query[i] != '\n'; i++ {
			}
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				return true
			}
			i += end + 3
		case c == ';':
			rest := strings.TrimSpace(query[i+1:])
			return rest == "" || !strings.ContainsAny(stripComments(rest), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		}
	}
	return true
}

// stripComments drops -- comments (for what follows a final ';').
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
	}
	return b.String()
}

// stmt returns a prepared statement for query and the function that gives it back.
func (c *cachingConn) stmt(ctx context.Context, query string) (driver.Stmt, func(), error) {
	c.mu.Lock()
	e := c.stmts[query]
	if e != nil && !e.busy {
		e.busy = true
		c.mu.Unlock()
		return e.st, func() { c.mu.Lock(); e.busy = false; c.mu.Unlock() }, nil
	}
	c.mu.Unlock()
	st, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if e != nil { // in use: a one-off statement
		return st, func() { st.Close() }, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stmts) >= maxCachedStmts {
		for k, old := range c.stmts {
			if !old.busy {
				old.st.Close()
				delete(c.stmts, k)
				break
			}
		}
	}
	e = &cachedStmt{st: st, busy: true}
	c.stmts[query] = e
	return st, func() { c.mu.Lock(); e.busy = false; c.mu.Unlock() }, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !cacheable(query) {
		return c.inner.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !cacheable(query) {
		return c.inner.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &cachedRows{Rows: rows, release: release}, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) Begin() (driver.Tx, error) { //nolint:staticcheck // required by driver.Conn
	return c.inner.Begin() //nolint:staticcheck
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for k, e := range c.stmts {
		errs = append(errs, e.st.Close())
		delete(c.stmts, k)
	}
	c.mu.Unlock()
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows gives its statement back to the cache when closed.
type cachedRows struct {
	driver.Rows
	release func()
	once    sync.Once
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
