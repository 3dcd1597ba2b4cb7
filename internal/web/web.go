// Package web is nudge's server-rendered web UI: a dashboard, the workflows with their
// editor, dry run and version history, the run history with replay, messages, contacts and
// tasks. It is behind a login with the admin token, keeps its sessions in the database and
// protects every form against CSRF. Pages are html/template, embedded; there is no script.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"nudge/internal/config"
	"nudge/internal/engine"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

// DefaultSessionIdle is how long a session lasts without a request.
const DefaultSessionIdle = 12 * time.Hour

//go:embed templates static
var files embed.FS

// Options wire a UI. Config, Store and Engine are required.
type Options struct {
	Config *config.Config
	Store  *store.Store
	Engine *engine.Engine
	Logger *slog.Logger
	// Now is the clock of sessions and of the dashboard's periods; nil means time.Now.
	Now func() time.Time
	// SessionIdle ends a session after this long without a request (default 12h).
	SessionIdle time.Duration
}

// UI serves the web interface.
type UI struct {
	cfg    *config.Config
	store  *store.Store
	engine *engine.Engine
	log    *slog.Logger
	now    func() time.Time
	idle   time.Duration
	pages  map[string]*template.Template
	mux    *http.ServeMux

	// wfMu serialises workflow changes, so that the engine's list follows the database.
	wfMu sync.Mutex
}

// New builds the UI and loads the workflows from the database, seeding it from the config
// file (see LoadWorkflows); the engine then runs the stored versions.
func New(ctx context.Context, o Options) (*UI, error) {
	if o.Config == nil || o.Store == nil || o.Engine == nil {
		return nil, errors.New("web: config, store and engine are required")
	}
	u := &UI{cfg: o.Config, store: o.Store, engine: o.Engine, log: o.Logger, now: o.Now, idle: o.SessionIdle}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.idle <= 0 {
		u.idle = DefaultSessionIdle
	}
	var err error
	if u.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if err := u.loadWorkflows(ctx); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	m := http.NewServeMux()
	u.mux = m
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	m.HandleFunc("GET /login", u.loginForm)
	m.HandleFunc("POST /login", u.login)

	auth := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, u.requireSession(h)) }
	auth("POST /logout", u.logout)
	auth("GET /{$}", u.dashboard)
	auth("GET /workflows", u.workflowList)
	auth("GET /workflows/{id}", u.workflowShow)
	auth("GET /workflows/{id}/edit", u.workflowEditForm)
	auth("POST /workflows/{id}/edit", u.workflowEdit)
	auth("POST /workflows/{id}/enabled", u.workflowSetEnabled)
	auth("GET /runs", u.runList)
	auth("GET /runs/{id}", u.runShow)
	auth("POST /runs/{id}/replay", u.runReplay)
	auth("GET /runs/replay", u.bulkReplayConfirm)
	auth("POST /runs/replay", u.bulkReplay)
	auth("GET /messages", u.messageList)
	auth("GET /messages/{id}", u.messageShow)
	auth("GET /contacts", u.contactShow)
	auth("GET /tasks", u.taskList)
	auth("POST /tasks/{number}/close", u.taskClose)
	auth("/", func(w http.ResponseWriter, r *http.Request) {
		u.errorPage(w, r, http.StatusNotFound, "No such page.")
	})
}

// ServeHTTP serves a UI request with the security headers every UI response carries.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	u.mux.ServeHTTP(w, r)
}

// page is what every template gets: the page's own data and the session's CSRF token.
type page struct {
	Title       string
	Nav         string
	CSRF        string
	AuthFailing bool
	Flash       string
	Data        any
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ts":       formatTime,
		"tsp":      formatTimePtr,
		"ago":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"statusOK": statusClass,
		"add":      func(a, b int) int { return a + b },
		"deref":    func(b *bool) bool { return b != nil && *b },
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := name[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("error parsing template %s: %w", base, err)
		}
		pages[base[:len(base)-len(".html")]] = t
	}
	return pages, nil
}

// render writes a page. The session (for its CSRF token) comes from the request context.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := u.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	if se, ok := sessionFrom(r.Context()); ok {
		p.CSRF = se.CSRFToken
		p.AuthFailing = u.engine.AuthFailing()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", p); err != nil {
		u.log.Error("web: rendering page", "page", name, "err", err)
	}
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	u.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg})
}

// serverError answers a failed store call: not found, or a database problem (logged).
func (u *UI) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		u.errorPage(w, r, http.StatusNotFound, "Not found.")
		return
	}
	u.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	u.errorPage(w, r, http.StatusServiceUnavailable, "The database did not answer; try again.")
}

// redirect answers a successful POST with a 303 to a page of the UI.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func idValue(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// numberParam is a query parameter that must be a positive number (the flash messages
// after a redirect); anything else is "".
func numberParam(r *http.Request, name string) string {
	v := r.URL.Query().Get(name)
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
		return ""
	}
	return v
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

// statusClass maps a run or message status to a CSS class.
func statusClass(status string) string {
	switch status {
	case store.RunSucceeded, store.MsgDelivered, store.MsgRead, store.MsgSent, store.TaskClosed:
		return "ok"
	case store.RunFailed, store.RunDead:
		return "bad"
	case store.RunSkipped:
		return "muted"
	}
	return "wait"
}

// workflowsByID is a lookup of the engine's current workflows.
func (u *UI) workflowsByID() map[string]*workflow.Workflow {
	out := map[string]*workflow.Workflow{}
	for _, w := range u.engine.Workflows() {
		out[w.ID] = w
	}
	return out
}
