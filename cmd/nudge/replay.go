package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"nudge/internal/engine"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// replay starts fresh runs for dead (or other) runs, from the command line. It writes the
// runs and their jobs into the database; the `nudge serve` that uses it executes them.
func replay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	status := fs.String("status", store.RunDead, "replay runs in this status (dead, failed, skipped, succeeded)")
	wf := fs.String("workflow", "", "only runs of this workflow")
	since := fs.String("since", "", "only runs created since: an RFC 3339 time, or a duration back from now (24h, 7d)")
	runID := fs.Int64("run", 0, "replay this one run")
	dry := fs.Bool("dry-run", false, "list the runs that would be replayed")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	switch *status {
	case store.RunDead, store.RunFailed, store.RunSkipped, store.RunSucceeded:
	default:
		fmt.Fprintf(stderr, "nudge replay: --status must be dead, failed, skipped or succeeded, not %q\n", *status)
		return exitCode(2)
	}
	filter := store.ReplayFilter{Status: *status, Workflow: *wf}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "nudge replay: --since: %v\n", err)
			return exitCode(2)
		}
		filter.Since = t
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := engine.New(ctx, engine.Options{Config: cfg, Store: st})
	if err != nil {
		return err
	}
	var runs []store.Run
	if *runID != 0 {
		run, err := st.Run(ctx, *runID)
		if err != nil {
			return fmt.Errorf("run %d: %w", *runID, err)
		}
		runs = []store.Run{run}
	} else if runs, err = st.RunsToReplay(ctx, filter); err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintln(stdout, "no runs to replay")
		return nil
	}
	done := 0
	for i, run := range runs {
		if *dry {
			fmt.Fprintf(stdout, "would replay run %d (%s, %s): %s\n", run.ID, run.Workflow, run.Status, run.Error)
			continue
		}
		fresh, err := eng.Replay(ctx, run.ID)
		if err != nil {
			return fmt.Errorf("error replaying run %d (after %d replays): %w", run.ID, done, err)
		}
		done++
		if done%100 == 0 || i == len(runs)-1 {
			fmt.Fprintf(stdout, "replayed %d/%d runs (last: run %d → run %d)\n", done, len(runs), run.ID, fresh.ID)
		}
	}
	return nil
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := workflow.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 24h", s)
	}
	return now.Add(-d), nil
}
