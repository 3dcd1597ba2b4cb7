package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"nudge/internal/phone"
	"nudge/internal/store"
)

func (s *Server) apiRoutes() {
	api := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireAdmin(h)) }
	api("GET /api/v1/workflows", s.apiWorkflows)
	api("GET /api/v1/events", s.apiEvents)
	api("GET /api/v1/events/{id}", s.apiEvent)
	api("GET /api/v1/runs", s.apiRuns)
	api("GET /api/v1/runs/{id}", s.apiRun)
	api("POST /api/v1/runs/{id}/replay", s.apiReplay)
	api("GET /api/v1/messages", s.apiMessages)
	api("GET /api/v1/contacts/{phone}", s.apiContact)
	api("GET /api/v1/tasks", s.apiTasks)
	api("/api/", func(w http.ResponseWriter, r *http.Request) { writeError(w, http.StatusNotFound, "no such API call") })
}

// requireAdmin lets through requests with `Authorization: Bearer <admin token>`.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !secretEqual(strings.TrimSpace(token), s.cfg.Server.AdminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nudge"`)
			writeError(w, http.StatusUnauthorized, "admin token required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func limitParam(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	return n
}

func idParam(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "id must be a positive integer")
		return 0, false
	}
	return id, true
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func (s *Server) serverError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	s.log.Error("api error", "err", err)
	writeError(w, http.StatusServiceUnavailable, "database unavailable")
}

func (s *Server) apiWorkflows(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, wf := range s.engine.Workflows() {
		out = append(out, map[string]any{"id": wf.ID, "on": wf.On, "enabled": wf.Enabled, "steps": len(wf.Steps)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"workflows": out})
}

func eventJSON(ev store.Event) map[string]any {
	return map[string]any{"id": ev.ID, "trigger": ev.Trigger, "state": ev.State, "external_id": ev.ExternalID,
		"received_at": ts(ev.ReceivedAt), "duplicate": ev.DuplicateOf != 0}
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	evs, err := s.store.ListEvents(r.Context(), store.EventFilter{Trigger: r.URL.Query().Get("trigger"), Limit: limitParam(r)})
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := []map[string]any{}
	for _, ev := range evs {
		out = append(out, eventJSON(ev))
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (s *Server) apiEvent(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(w, r)
	if !ok {
		return
	}
	ev, err := s.store.Event(r.Context(), id)
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := eventJSON(ev)
	out["body"] = string(ev.Body)
	writeJSON(w, http.StatusOK, out)
}

func runJSON(run store.Run) map[string]any {
	return map[string]any{"id": run.ID, "event_id": run.EventID, "workflow": run.Workflow, "status": run.Status,
		"error": run.Error, "attempts": run.Attempts, "replay_of": run.ReplayOf,
		"created_at": ts(run.CreatedAt), "updated_at": ts(run.UpdatedAt)}
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RunFilter{Status: q.Get("status"), Workflow: q.Get("workflow"), Limit: limitParam(r)}
	if v := q.Get("event_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "event_id must be an integer")
			return
		}
		f.EventID = id
	}
	runs, err := s.store.ListRuns(r.Context(), f)
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := []map[string]any{}
	for _, run := range runs {
		out = append(out, runJSON(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(w, r)
	if !ok {
		return
	}
	run, err := s.store.Run(r.Context(), id)
	if err != nil {
		s.serverError(w, err)
		return
	}
	steps, err := s.store.Steps(r.Context(), id)
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := runJSON(run)
	st := []map[string]any{}
	for _, x := range steps {
		st = append(st, map[string]any{"index": x.Index, "id": x.StepID, "action": x.Action, "status": x.Status,
			"output": rawJSON(x.Output), "error": x.Error, "updated_at": ts(x.UpdatedAt)})
	}
	out["steps"] = st
	writeJSON(w, http.StatusOK, out)
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("{}"), nil
	}
	return r, nil
}

func (s *Server) apiReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := idParam(w, r)
	if !ok {
		return
	}
	run, err := s.engine.Replay(r.Context(), id)
	if err != nil {
		s.serverError(w, err)
		return
	}
	s.log.Info("run replayed", "run_id", run.ID, "replay_of", id)
	writeJSON(w, http.StatusAccepted, map[string]any{"run_id": run.ID})
}

func messageJSON(m store.Message) map[string]any {
	return map[string]any{"id": m.ID, "run_id": m.RunID, "workflow": m.Workflow, "to": m.To, "kind": m.Kind,
		"text": m.Text, "template": m.Template, "params": m.Params, "status": m.Status, "provider_id": m.ProviderID,
		"error": m.Error, "created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt)}
}

func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.MessageFilter{Status: q.Get("status"), Workflow: q.Get("workflow"), Limit: limitParam(r)}
	if to := q.Get("to"); to != "" {
		digits, err := phone.Normalize(to, s.cfg.Defaults.Country)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid phone number in to")
			return
		}
		f.To = digits
	}
	msgs, err := s.store.ListMessages(r.Context(), f)
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := []map[string]any{}
	for _, m := range msgs {
		out = append(out, messageJSON(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (s *Server) apiContact(w http.ResponseWriter, r *http.Request) {
	digits, err := phone.Normalize(r.PathValue("phone"), s.cfg.Defaults.Country)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid phone number")
		return
	}
	c, err := s.store.Contact(r.Context(), digits)
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone": c.Phone, "opted_out": c.OptedOut,
		"last_inbound_at": tsPtr(c.LastInboundAt), "window_open": c.WindowOpen(s.store.Now())})
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) {
	tasks, err := s.store.ListTasks(r.Context(), store.TaskFilter{Status: r.URL.Query().Get("status"), Limit: limitParam(r)})
	if err != nil {
		s.serverError(w, err)
		return
	}
	out := []map[string]any{}
	for _, t := range tasks {
		out = append(out, map[string]any{"number": t.Number, "to": t.To, "text": t.Text, "status": t.Status,
			"run_id": t.RunID, "created_at": ts(t.CreatedAt), "closed_at": tsPtr(t.ClosedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
}
