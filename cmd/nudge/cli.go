package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"nudge/internal/app"
	"nudge/internal/config"
	"nudge/internal/demo"
	"nudge/internal/engine"
)

// exitCode ends the program with a status after the command has said what it had to say.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `nudge turns Paygee loan events into WhatsApp reminders and agent tasks.

Usage:
  nudge serve    [--config nudge.yaml]   run hooks, workers, admin API and UI
  nudge demo                             everything on embedded defaults, with fake providers
  nudge check    [--config nudge.yaml]   validate config, workflows, conditions, templates
  nudge simulate --config F --trigger T --event FILE
                                         dry run: print what would be sent, as JSON lines
  nudge replay   [--config F] [--status dead] [--workflow W] [--since 24h] [--run ID] [--dry-run]
                                         fresh runs of dead (or failed, …) runs
  nudge migrate-store --from sqlite:PATH --to postgres://…
                                         copy a SQLite database's history into an empty PostgreSQL one
  nudge version                          version and build info
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "demo":
		return demo.Run(ctx, demo.Options{Out: stdout, Logger: newLogger(stderr, slog.LevelWarn)})
	case "check":
		return check(rest, stdout, stderr)
	case "simulate":
		return simulate(rest, stdout, stderr)
	case "replay":
		return replay(ctx, rest, stdout, stderr)
	case "migrate-store":
		return migrateStore(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "nudge: unknown command %q\n\n%s", cmd, usage)
	return exitCode(2)
}

func versionString() string {
	s := "nudge " + version + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				s += " commit " + kv.Value
			}
		}
	}
	return s
}

// newLogger logs JSON, or text when stderr is a terminal.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, opts))
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "nudge.yaml", "configuration file")
}

func loadConfig(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	var problems config.Problems
	if errors.As(err, &problems) {
		fmt.Fprintln(stderr, problems.Error())
		return nil, exitCode(1)
	}
	return cfg, err
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, slog.LevelInfo)
	app.TuneGC()
	a, err := app.Start(ctx, app.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-a.Done():
		return err
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	return a.Shutdown(sctx)
}

func check(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok, %d workflows\n", *path, len(cfg.Workflows))
	return nil
}

func simulate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	trigger := fs.String("trigger", "", "trigger id, e.g. paygee.loan_state")
	eventFile := fs.String("event", "", "file holding the event body (JSON); - for standard input")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	if *trigger == "" || *eventFile == "" {
		fmt.Fprintln(stderr, "nudge simulate: --trigger and --event are required")
		return exitCode(2)
	}
	cfg, err := loadConfig(*path, stderr)
	if err != nil {
		return err
	}
	var body []byte
	if *eventFile == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return err
	}
	lines, err := engine.Simulate(cfg, *trigger, body)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}
