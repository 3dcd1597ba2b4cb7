// Package app assembles a running nudge from a config: store, job engine, ChatArchitect
// client and HTTP server. `nudge serve`, `nudge demo` and the end-to-end tests all start
// nudge through it, so that they run the same thing.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"nudge/internal/chatarchitect"
	"nudge/internal/config"
	"nudge/internal/engine"
	"nudge/internal/metrics"
	"nudge/internal/paygee"
	"nudge/internal/server"
	"nudge/internal/store"
	"nudge/internal/web"
)

// Options start an App. Only Config is required.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Listener, when set, is used instead of listening on Config.Server.Listen.
	Listener net.Listener
	// Sender replaces the ChatArchitect client (tests).
	Sender engine.Sender
	// Now replaces the clock for quiet hours, caps and windows (tests).
	Now func() time.Time
	// ReminderInterval is how often task reminders are looked for (default 30s).
	ReminderInterval time.Duration
	// AuthPause is how long sending pauses after the provider refuses our credentials (default 30s).
	AuthPause time.Duration
}

// App is a running nudge.
type App struct {
	Config  *config.Config
	Store   *store.Store
	Engine  *engine.Engine
	Metrics *metrics.Metrics
	URL     string // http://host:port

	http   *http.Server
	served chan error
	log    *slog.Logger
}

// Start opens the database, starts the workers and serves HTTP.
func Start(ctx context.Context, o Options) (*App, error) {
	cfg, log := o.Config, o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: st, log: log, served: make(chan error, 1)}
	var eng *engine.Engine
	a.Metrics = metrics.New(func() float64 {
		if eng == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := eng.PendingJobs(ctx)
		return float64(n)
	})
	sender := o.Sender
	if sender == nil {
		// Up to MaxWorkers sends run at once: keep that many connections alive instead of
		// net/http's default of 2 per host.
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 100
		sender = chatarchitect.New(chatarchitect.Config{
			BaseURL: cfg.ChatArchitect.APIURL, AppID: cfg.ChatArchitect.AppID, AppSecret: cfg.ChatArchitect.AppSecret,
			HTTPClient: &http.Client{Timeout: cmp.Or(cfg.ChatArchitect.Timeout, chatarchitect.DefaultTimeout), Transport: transport},
		})
	}
	var pg *paygee.Client
	if cfg.Paygee.APIURL != "" {
		pg = paygee.New(paygee.Config{BaseURL: cfg.Paygee.APIURL, APIKey: cfg.Paygee.APIKey})
	}
	eng, err = engine.New(ctx, engine.Options{Config: cfg, Store: st, Sender: sender, Paygee: pg, CustomerTTL: cfg.Paygee.CustomerTTL, Metrics: a.Metrics, Logger: log, Now: o.Now,
		ReminderInterval: o.ReminderInterval, AuthPause: o.AuthPause})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Engine = eng
	// The UI loads the stored workflows into the engine, so it comes before the workers start.
	ui, err := web.New(ctx, web.Options{Config: cfg, Store: st, Engine: eng, Logger: log, Now: o.Now})
	if err != nil {
		st.Close()
		return nil, err
	}
	// The workers outlive ctx: a signal ends serve through Shutdown, which lets running jobs
	// finish, where a cancelled start context would cut them off.
	if err := eng.Start(context.WithoutCancel(ctx)); err != nil {
		st.Close()
		return nil, fmt.Errorf("error starting workers: %w", err)
	}
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			a.stopEngine()
			st.Close()
			return nil, fmt.Errorf("error listening on %s: %w", cfg.Server.Listen, err)
		}
	}
	a.URL = "http://" + ln.Addr().String()
	srv := server.New(server.Options{Config: cfg, Engine: eng, Store: st, Metrics: a.Metrics, Logger: log, UI: ui})
	a.http = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { a.served <- a.http.Serve(ln) }()
	log.Info("nudge serving", "url", a.URL, "database", redactDSN(cfg.Database), "workflows", len(cfg.Workflows))
	return a, nil
}

// Shutdown stops accepting requests, lets running ones and running jobs finish until ctx
// ends (what is left is handed back and runs again after a restart), then closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	herr := a.http.Shutdown(ctx)
	if errors.Is(herr, context.DeadlineExceeded) {
		a.http.Close()
	}
	eerr := a.Engine.Stop(ctx)
	serr := a.Store.Close()
	return errors.Join(herr, eerr, serr)
}

// Done yields the HTTP server's end.
func (a *App) Done() <-chan error { return a.served }

func (a *App) stopEngine() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.Engine.Stop(ctx)
}

// redactDSN keeps a password out of logs.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}
