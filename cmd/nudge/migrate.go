package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"nudge/internal/config"
	"nudge/internal/engine"
	"nudge/internal/store"
)

// historyTables are copied by migrate-store, parents before children, each with the
// column that orders it and, for tables with a generated id, the sequence to move past
// the copied ids. River's job tables are not copied: unfinished runs get new jobs instead.
var historyTables = []struct {
	name, order string
	serial      bool
}{
	{"events", "id", true},
	{"runs", "id", true},
	{"once_keys", "workflow, key", false},
	{"run_steps", "run_id, idx", false},
	{"messages", "id", true},
	{"message_events", "id", true},
	{"contacts", "phone", false},
	{"tasks", "number", true},
	{"workflow_versions", "workflow_id, version", false},
}

// copyBatch is how many rows one INSERT carries (PostgreSQL takes up to 65535 parameters).
const copyBatch = 500

// migrateStore copies a SQLite database's history into an empty PostgreSQL database, in
// one transaction: either all of it is there afterwards, or none.
func migrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the SQLite database to copy (sqlite:PATH)")
	to := fs.String("to", "", "the empty PostgreSQL database to fill (postgres://…)")
	maxAttempts := fs.Int("max-attempts", config.DefaultMaxAttempts, "attempts of the jobs made for unfinished runs (retry.max_attempts)")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	if !strings.HasPrefix(*from, "sqlite:") || !(strings.HasPrefix(*to, "postgres://") || strings.HasPrefix(*to, "postgresql://")) {
		fmt.Fprintln(stderr, "nudge migrate-store: want --from sqlite:PATH --to postgres://…")
		return exitCode(2)
	}
	src, err := store.Open(ctx, *from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	for _, t := range historyTables {
		var n int64
		if err := dst.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.name).Scan(&n); err != nil {
			return fmt.Errorf("error reading %s in the destination: %w", t.name, err)
		}
		if n > 0 {
			return fmt.Errorf("the destination is not empty: %s has %d rows", t.name, n)
		}
	}
	driver := riverdatabasesql.New(dst.DB())
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("error preparing queue migrations: %w", err)
	}
	err = dst.WithMigrationLock(ctx, func() error {
		_, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("error migrating queue tables: %w", err)
	}
	// An insert-only client: the jobs are worked by `nudge serve`.
	queue, err := river.NewClient(driver, &river.Config{MaxAttempts: max(1, *maxAttempts)})
	if err != nil {
		return fmt.Errorf("error creating job queue: %w", err)
	}

	tx, err := dst.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range historyTables {
		if err := copyTable(ctx, src.DB(), tx, t.name, t.order, stderr); err != nil {
			return err
		}
		if t.serial {
			col := strings.TrimSpace(t.order)
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'),
				COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false)`, t.name, col, col, t.name))
			if err != nil {
				return fmt.Errorf("error moving the %s sequence: %w", t.name, err)
			}
		}
	}
	jobs, err := enqueueUnfinished(ctx, tx, queue)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("error committing the copy: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s into %s; %d unfinished runs queued again\n", *from, redactDSN(*to), jobs)
	return nil
}

// copyTable copies one table's rows, column by column as the source has them, printing
// its progress on one line.
func copyTable(ctx context.Context, src *sql.DB, dst *sql.Tx, table, order string, progress io.Writer) error {
	var total int64
	if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&total); err != nil {
		return fmt.Errorf("error counting %s: %w", table, err)
	}
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY `+order)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var (
		batch []any
		n     int64
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var b strings.Builder
		fmt.Fprintf(&b, `INSERT INTO %s (%s) VALUES `, table, strings.Join(cols, ", "))
		for i := range len(batch) / len(cols) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%d", i*len(cols)+j+1)
			}
			b.WriteByte(')')
		}
		if _, err := dst.ExecContext(ctx, b.String(), batch...); err != nil {
			return fmt.Errorf("error copying %s: %w", table, err)
		}
		n += int64(len(batch) / len(cols))
		batch = batch[:0]
		fmt.Fprintf(progress, "\rcopying %-18s %d/%d", table, n, total)
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("error reading %s: %w", table, err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b) // every column is TEXT or a number
			}
		}
		batch = append(batch, vals...)
		if len(batch) >= copyBatch*len(cols) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error reading %s: %w", table, err)
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(progress, "\rcopying %-18s %d/%d\n", table, n, total)
	return nil
}

// enqueueUnfinished gives every run that had not finished a new job, in the copy's
// transaction: the runs resume from their last finished step on the new database.
func enqueueUnfinished(ctx context.Context, tx *sql.Tx, queue *river.Client[*sql.Tx]) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM runs WHERE status IN ($1, $2, $3, $4) ORDER BY id`,
		store.RunQueued, store.RunRunning, store.RunRetrying, store.RunWaiting)
	if err != nil {
		return 0, fmt.Errorf("error listing unfinished runs: %w", err)
	}
	var params []river.InsertManyParams
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		params = append(params, river.InsertManyParams{Args: engine.RunArgs{RunID: id}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for i := 0; i < len(params); i += 1000 {
		if _, err := queue.InsertManyTx(ctx, tx, params[i:min(i+1000, len(params))]); err != nil {
			return 0, fmt.Errorf("error queueing unfinished runs: %w", err)
		}
	}
	return len(params), nil
}

// redactDSN keeps a password out of the output.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
