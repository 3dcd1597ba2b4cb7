package server

import (
	"net/http"
)

// chatarchitectHook receives inbound messages and delivery events.
func (s *Server) chatarchitectHook(w http.ResponseWriter, r *http.Request) {
	if !secretEqual(hookToken(r), s.cfg.ChatArchitect.WebhookToken) {
		writeError(w, http.StatusUnauthorized, "bad token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	ev, data, status, err := s.engine.ParseChatArchitect(r.Context(), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if status != 0 {
		writeJSON(w, status, map[string]any{"ignored": ev.State})
		return
	}
	s.ingest(w, r, ev, data)
}
