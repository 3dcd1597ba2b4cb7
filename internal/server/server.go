// Package server is nudge's HTTP surface (SPEC §7): the webhook hooks, health, metrics and
// the admin API. Handlers check and decode; the engine and the store do the work.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"nudge/internal/config"
	"nudge/internal/engine"
	"nudge/internal/metrics"
	"nudge/internal/store"
)

// MaxBodyBytes is the largest webhook body accepted (SPEC §7: 413 above it).
const MaxBodyBytes = 1 << 20

// Options wire a Server.
type Options struct {
	Config  *config.Config
	Engine  *engine.Engine
	Store   *store.Store
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// UI, when set, serves everything that is not a hook, the API, health or metrics.
	UI http.Handler
}

// Server routes requests.
type Server struct {
	cfg     *config.Config
	engine  *engine.Engine
	store   *store.Store
	metrics *metrics.Metrics
	log     *slog.Logger
	mux     *http.ServeMux
}

// New builds the server's routes.
func New(o Options) *Server {
	s := &Server{cfg: o.Config, engine: o.Engine, store: o.Store, metrics: o.Metrics, log: o.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mux.HandleFunc("POST /hooks/paygee/{kind}", s.paygeeHook)
	s.mux.HandleFunc("POST /hooks/chatarchitect", s.chatarchitectHook)
	s.mux.HandleFunc("/hooks/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "unknown hook")
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics.Handler())
	}
	s.apiRoutes()
	if o.UI != nil {
		s.mux.Handle("/", o.UI)
	}
	return s
}

// ServeHTTP serves a request with security headers and an access log line that never
// carries the query string (it may hold a token).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// secretEqual compares in constant time; hashing first hides the length too. An empty
// expected secret never matches.
func secretEqual(got, want string) bool {
	if want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// hookToken is the token of a hook request: ?token= or X-Nudge-Token.
func hookToken(r *http.Request) string {
	if t := r.Header.Get("X-Nudge-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("token")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// isJSONContentType accepts application/json and +json types, and a missing header.
func isJSONContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
