// Package engine runs workflows durably: it turns a stored event into runs (one per matching
// workflow, enqueued in the event's own transaction) and executes each run's steps on River
// workers, checkpointing every finished step so that a retry never repeats a send.
package engine

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"golang.org/x/time/rate"

	"nudge/internal/chatarchitect"
	"nudge/internal/config"
	"nudge/internal/metrics"
	"nudge/internal/paygee"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// Sender sends one WhatsApp message (the ChatArchitect client, or a fake).
type Sender interface {
	Send(ctx context.Context, m chatarchitect.Message) (chatarchitect.SendResult, error)
}

// Options configure an Engine. Zero fields take the defaults named below.
type Options struct {
	Config *config.Config
	Store  *store.Store
	Sender Sender
	// Paygee answers the paygee.* actions and customer lookups; nil when paygee.api_url is unset.
	Paygee *paygee.Client
	// CustomerTTL is how long a customer lookup is cached (default 5 minutes).
	CustomerTTL time.Duration
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
	// Now is the clock for quiet hours, caps and windows; nil means time.Now.
	Now func() time.Time
	// MaxWorkers is how many runs execute at once (default 100).
	MaxWorkers int
	// FetchCooldown and FetchPollInterval tune how fast River picks up new jobs; River's
	// defaults cap SQLite at about 200 jobs/s (defaults 5ms and 50ms).
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// AuthPause is how long sending pauses after the provider refuses our credentials (default 30s).
	AuthPause time.Duration
	// ReminderInterval is how often open tasks are checked for due reminders (default 30s).
	ReminderInterval time.Duration
}

// Engine ingests events and executes runs.
type Engine struct {
	cfg       *config.Config
	store     *store.Store
	sender    Sender
	paygee    *paygee.Client
	customers *paygee.Cache
	metrics   *metrics.Metrics
	log       *slog.Logger
	now       func() time.Time
	authPause time.Duration

	wfMu      sync.RWMutex
	workflows []*workflow.Workflow
	byID      map[string]*workflow.Workflow
	byTrigger map[string][]*workflow.Workflow
	limiter   *rate.Limiter
	river     *river.Client[*sql.Tx]
	retry     retryPolicy

	mu        sync.Mutex
	authUntil time.Time // sending is paused until then, and then until a probe succeeds
	probing   bool

	paceMu   sync.Mutex
	lastSend map[string]time.Time // per recipient, for pacing

	// runq feeds runs to MaxWorkers long-lived goroutines (onRunner): they bound how many
	// runs execute at once, and a fresh goroutine per run would grow its stack anew for the
	// SQLite driver's deep calls, every time.
	runq       chan func()
	runsPerJob int
	runners    int
	runnersEnd sync.WaitGroup
	closeRunq  sync.Once
}

// RunArgs is the River job that executes one run.
type RunArgs struct {
	RunID int64 `json:"run_id"`
}

// Kind names the job for River.
func (RunArgs) Kind() string { return "nudge_run" }

// RunsArgs is the River job that executes the runs stored together (SQLite's group commit
// stores a batch of webhooks at once): every job costs an insert, a fetch and a completion,
// on SQLite all on its one writer connection, so one job for many runs is much cheaper. A
// run that must retry or wait later is handed to a job of its own (RunArgs).
type RunsArgs struct {
	RunIDs []int64 `json:"run_ids"`
}

// Kind names the job for River.
func (RunsArgs) Kind() string { return "nudge_runs" }

// InsertOpts puts shared jobs in their own queue, whose few workers bound how many runs are
// taken at once.
func (RunsArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: sharedQueue} }

const (
	sharedQueue = "shared_runs"
	// sharedWorkers shared jobs execute at once, each up to maxRunsPerJob runs, together
	// never more than MaxWorkers runs at a time.
	sharedWorkers = 32
	maxRunsPerJob = 64
	sharedBacklog = 30 * time.Second
)

// New prepares an engine: River's tables are migrated, nothing runs until Start.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Config == nil || o.Store == nil {
		return nil, errors.New("engine: config and store are required")
	}
	e := &Engine{
		cfg: o.Config, store: o.Store, sender: o.Sender, metrics: o.Metrics, log: o.Logger, now: o.Now,
		authPause: o.AuthPause,
		retry:     retryPolicy{base: o.Config.Retry.BaseDelay, max: o.Config.Retry.MaxDelay},
		lastSend:  map[string]time.Time{},
		paygee:    o.Paygee,
	}
	maxWorkers := o.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 100
	}
	e.runq, e.runners = make(chan func()), maxWorkers
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.authPause <= 0 {
		e.authPause = 30 * time.Second
	}
	if e.metrics == nil {
		e.metrics = metrics.New(nil)
	}
	if o.Paygee != nil {
		e.customers = paygee.NewCache(o.Paygee, o.CustomerTTL)
	}
	e.SetWorkflows(o.Config.Workflows)
	r := o.Config.ChatArchitect.Rate
	if r <= 0 {
		r = 20
	}
	e.limiter = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
	// The runs of the shared jobs in progress all wait their turn under the send rate: jobs
	// hold about sharedBacklog of sending between them, well inside the job timeout.
	e.runsPerJob = min(maxRunsPerJob, max(1, int(r*sharedBacklog.Seconds())/sharedWorkers))

	// The store hands River a *sql.DB and, for the enqueue in an event's transaction, a
	// *sql.Tx: riverdatabasesql is River's PostgreSQL driver for database/sql (over pgx).
	var driver riverdriver.Driver[*sql.Tx]
	jobTimeout, rescueAfter := 2*time.Minute, time.Duration(0)
	switch o.Store.Dialect() {
	case "postgres":
		driver = riverdatabasesql.New(o.Store.DB())
		// Jobs of an instance that died are taken over by the leader's rescuer; a job may
		// not run longer than that, or it would be taken over while still running.
		rescueAfter = 2 * jobTimeout
		if r := o.Store.RescueAfter(); r > 0 {
			rescueAfter, jobTimeout = r, min(jobTimeout, r)
		}
	default:
		driver = riversqlite.New(o.Store.DB())
	}
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("error preparing queue migrations: %w", err)
	}
	err = o.Store.WithMigrationLock(ctx, func() error {
		_, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error migrating queue tables: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{e: e})
	river.AddWorker(workers, &runsWorker{e: e})
	river.AddWorker(workers, &remindWorker{e: e})
	river.AddWorker(workers, &matchWorker{e: e})
	rc := &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: maxWorkers},
			// A fetch is a transaction on SQLite's writer that River's query planner prepares
			// anew each time: fewer of them, each taking more shared jobs.
			sharedQueue: {MaxWorkers: sharedWorkers, FetchCooldown: 50 * time.Millisecond},
		},
		Workers:              workers,
		MaxAttempts:          max(1, o.Config.Retry.MaxAttempts),
		RetryPolicy:          &e.retry,
		FetchCooldown:        durOr(o.FetchCooldown, 20*time.Millisecond),
		FetchPollInterval:    durOr(o.FetchPollInterval, 50*time.Millisecond),
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueAfter, // 0 on SQLite: River's default; Start hands jobs back there
		PeriodicJobs:         []*river.PeriodicJob{remindJob(durOr(o.ReminderInterval, 30*time.Second))},
		Logger:               slog.New(slog.DiscardHandler),
	}
	e.river, err = river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("error creating job queue: %w", err)
	}
	o.Store.SetRunEnqueuer(e.enqueue)
	return e, nil
}

func durOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Start starts the workers. Jobs that a killed process left running are handed back first:
// with SQLite only one process uses the file, so nothing else can be working on them.
func (e *Engine) Start(ctx context.Context) error {
	if e.store.Dialect() == "sqlite" {
		if _, err := e.store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'available', attempted_by = NULL WHERE state = 'running'`); err != nil {
			return fmt.Errorf("error handing back interrupted jobs: %w", err)
		}
	}
	for range e.runners {
		e.runnersEnd.Go(func() {
			for run := range e.runq {
				run()
			}
		})
	}
	return e.river.Start(ctx)
}

// Stop stops fetching new jobs and waits for the running ones, up to ctx's deadline; what is
// still running then is cancelled and will run again after a restart.
func (e *Engine) Stop(ctx context.Context) error {
	err := e.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = e.river.StopAndCancel(cctx)
	}
	if err == nil {
		// No shared job runs any more, so nothing sends to runq.
		e.closeRunq.Do(func() { close(e.runq) })
		e.runnersEnd.Wait()
	}
	return err
}

// SetWorkflows replaces the workflows that new events match and that queued runs execute
// (the UI edits them while nudge runs).
func (e *Engine) SetWorkflows(ws []*workflow.Workflow) {
	byID := make(map[string]*workflow.Workflow, len(ws))
	byTrigger := map[string][]*workflow.Workflow{}
	for _, w := range ws {
		byID[w.ID] = w
		byTrigger[w.On] = append(byTrigger[w.On], w)
	}
	e.wfMu.Lock()
	e.workflows, e.byID, e.byTrigger = ws, byID, byTrigger
	e.wfMu.Unlock()
}

// Workflows returns the workflows in order.
func (e *Engine) Workflows() []*workflow.Workflow {
	e.wfMu.RLock()
	defer e.wfMu.RUnlock()
	return e.workflows
}

// Workflow returns a workflow by id.
func (e *Engine) Workflow(id string) (*workflow.Workflow, bool) {
	e.wfMu.RLock()
	defer e.wfMu.RUnlock()
	w, ok := e.byID[id]
	return w, ok
}

// DecodeEvent parses an event body into the data that conditions and templates see.
func DecodeEvent(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, err
	}
	if data == nil {
		return nil, errors.New("body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return data, nil
}

// Match returns the runs an event's data starts: each enabled workflow on the trigger whose
// conditions hold, with its rendered once_per key.
func (e *Engine) Match(trigger string, data map[string]any) ([]store.PlannedRun, []error) {
	var runs []store.PlannedRun
	var errs []error
	e.wfMu.RLock()
	candidates := e.byTrigger[trigger]
	e.wfMu.RUnlock()
	for _, w := range candidates {
		ok, err := w.Matches(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("workflow %s: %w", w.ID, err))
			continue
		}
		if !ok {
			continue
		}
		p := store.PlannedRun{Workflow: w.ID}
		if w.OncePer != nil {
			key, err := w.OncePer.Render(data)
			if err != nil {
				// A key that cannot be rendered still runs: the run then fails on the same
				// missing field, where an operator sees it.
				errs = append(errs, fmt.Errorf("workflow %s: once_per: %w", w.ID, err))
			}
			p.OnceKey = key
		}
		runs = append(runs, p)
	}
	return runs, errs
}

// Ingest stores an event and enqueues a run for each workflow it matches, all in one
// transaction. data is the decoded body (DecodeEvent).
func (e *Engine) Ingest(ctx context.Context, ev store.NewEvent, data map[string]any) (store.IngestResult, error) {
	runs, errs := e.Match(ev.Trigger, data)
	for _, err := range errs {
		e.log.Warn("condition error", "trigger", ev.Trigger, "err", err)
	}
	var enqueue store.Enqueue // nil: the store's run enqueuer (e.enqueue) takes the runs
	if e.matchLater(ev.Trigger, data) {
		// The delivery event came before nudge recorded the message it is about: workflows
		// that look at event.workflow or event.to are matched a moment later.
		runs, enqueue = nil, e.enqueueMatch
	}
	res, err := e.store.Ingest(ctx, ev, runs, enqueue)
	if err != nil {
		return res, err
	}
	e.metrics.EventsReceived.WithLabelValues(ev.Trigger).Inc()
	if d := ev.Effects; d != nil && d.Delivery != nil && res.Effects.MessageUpdated {
		e.metrics.Messages.WithLabelValues(d.Delivery.Status).Inc()
	}
	for _, r := range res.Runs {
		if r.Status == store.RunSkipped {
			e.metrics.Runs.WithLabelValues(r.Workflow, r.Status).Inc()
		}
	}
	return res, nil
}

// Replay starts a fresh run of a run's workflow on the same event.
func (e *Engine) Replay(ctx context.Context, runID int64) (store.Run, error) {
	return e.store.Replay(ctx, runID, e.enqueue)
}

// enqueue schedules runs in tx: one alone gets a job of its own, several share jobs.
func (e *Engine) enqueue(ctx context.Context, tx *sql.Tx, _ int64, runIDs []int64) error {
	var params []river.InsertManyParams
	switch {
	case len(runIDs) == 0:
		return nil
	case len(runIDs) == 1:
		params = []river.InsertManyParams{{Args: RunArgs{RunID: runIDs[0]}}}
	default:
		for ids := range slices.Chunk(runIDs, e.runsPerJob) {
			params = append(params, river.InsertManyParams{Args: RunsArgs{RunIDs: ids}})
		}
	}
	_, err := e.river.InsertManyTx(ctx, tx, params)
	return err
}

// PendingJobs counts jobs not yet finished (for the metric and the dashboard).
func (e *Engine) PendingJobs(ctx context.Context) (int64, error) {
	var n int64
	err := e.store.DB().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM river_job WHERE kind IN ('nudge_run', 'nudge_runs') AND state IN ('available', 'scheduled', 'retryable', 'running', 'pending')`).Scan(&n)
	return n, err
}

// AuthFailing reports whether sending is paused because the provider refused our credentials.
func (e *Engine) AuthFailing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.authUntil.IsZero()
}

// prober is a sender that can check its credentials without sending (the ChatArchitect client).
type prober interface {
	Probe(ctx context.Context) error
}

// sendingPaused reports whether runs must wait because the provider refused our credentials.
// Once the pause is over, one caller probes the credentials; until a probe succeeds (or, for
// a sender that cannot probe, until a send does) the others keep waiting.
func (e *Engine) sendingPaused(ctx context.Context) bool {
	e.mu.Lock()
	if e.authUntil.IsZero() {
		e.mu.Unlock()
		return false
	}
	if e.probing || e.now().Before(e.authUntil) {
		e.mu.Unlock()
		return true
	}
	p, ok := e.sender.(prober)
	if !ok {
		e.mu.Unlock()
		return false // the next send is the probe
	}
	e.probing = true
	e.mu.Unlock()
	err := p.Probe(ctx)
	e.mu.Lock()
	e.probing = false
	if err != nil {
		e.authUntil = e.now().Add(e.authPause)
	}
	e.mu.Unlock()
	if err != nil {
		e.log.Warn("provider still refuses our credentials", "err", err)
		return true
	}
	e.clearAuthAlert()
	e.log.Info("provider accepts our credentials again; sending resumes")
	return false
}

// pace keeps one recipient from getting two messages within a second. A run of a shared
// job does not wait here: it is handed to a job of its own that comes back when it may send.
func (e *Engine) pace(ctx context.Context, to string) error {
	e.paceMu.Lock()
	now := time.Now()
	wait := e.lastSend[to].Add(time.Second).Sub(now)
	if wait < 0 {
		wait = 0
	}
	if wait > 0 && inSharedJob(ctx) {
		e.paceMu.Unlock()
		return &waitError{until: e.now().Add(wait), reason: "pacing: one message per second to a recipient"}
	}
	e.lastSend[to] = now.Add(wait)
	if len(e.lastSend) > 10000 {
		for k, t := range e.lastSend {
			if now.Sub(t) > time.Second {
				delete(e.lastSend, k)
			}
		}
	}
	e.paceMu.Unlock()
	return sleep(ctx, wait)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
