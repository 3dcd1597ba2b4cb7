// Command nudgeprof is `nudge serve` for benchmarks: the same app.Start on the same config,
// plus, when NUDGE_BENCH_PPROF names a loopback address, net/http/pprof served there. It
// exists only so that profiles can be taken of a nudge under load; the product binary has
// no profiling endpoint.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"nudge/internal/app"
	"nudge/internal/config"
)

func main() {
	fs := flag.NewFlagSet("nudgeprof", flag.ExitOnError)
	path := fs.String("config", "nudge.yaml", "configuration file")
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs.Parse(args)
	if err := run(*path); err != nil {
		fmt.Fprintln(os.Stderr, "nudgeprof:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if addr := os.Getenv("NUDGE_BENCH_PPROF"); addr != "" {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("NUDGE_BENCH_PPROF %q: want a loopback host:port", addr)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go http.Serve(ln, mux)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app.TuneGC()
	a, err := app.Start(ctx, app.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-a.Done():
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	return a.Shutdown(sctx)
}
