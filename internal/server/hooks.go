package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"nudge/internal/engine"
	"nudge/internal/store"
	"nudge/internal/workflow"
)

var paygeeTriggers = map[string]string{
	"loan-state":       workflow.TriggerLoanState,
	"customer-state":   workflow.TriggerCustomerState,
	"sales-case-state": workflow.TriggerSalesCaseState,
}

// readBody enforces the content type and the size limit, answering the request itself when
// they fail.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body over 1 MiB")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "error reading body")
		return nil, false
	}
	return body, true
}

// paygeeHook stores a Paygee state change and answers 202 only once it is committed.
func (s *Server) paygeeHook(w http.ResponseWriter, r *http.Request) {
	trigger, ok := paygeeTriggers[r.PathValue("kind")]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown hook")
		return
	}
	if !secretEqual(hookToken(r), s.cfg.Paygee.WebhookToken) {
		writeError(w, http.StatusUnauthorized, "bad token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if secret := s.cfg.Paygee.SigningSecret; secret != "" && !validSignature(body, r.Header.Get("X-Paygee-Signature"), secret) {
		writeError(w, http.StatusUnauthorized, "bad signature")
		return
	}
	ev, data, err := ParsePaygeeEvent(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ev.Trigger = trigger
	s.ingest(w, r, ev, data)
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, ev store.NewEvent, data map[string]any) {
	res, err := s.engine.Ingest(r.Context(), ev, data)
	if err != nil {
		// Nothing was committed: tell the sender to come back.
		s.log.Error("error storing event", "trigger", ev.Trigger, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "database unavailable, retry later")
		return
	}
	if !res.Duplicate {
		s.log.Info("event stored", "event_id", res.EventID, "trigger", ev.Trigger, "state", ev.State, "runs", len(res.Runs))
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"event_id": res.EventID, "duplicate": res.Duplicate})
}

// ParsePaygeeEvent checks a Paygee body: a JSON object with a string `state`; `id`, when
// present, is the delivery id that makes a repeat a duplicate.
func ParsePaygeeEvent(body []byte) (store.NewEvent, map[string]any, error) {
	data, err := engine.DecodeEvent(body)
	if err != nil {
		return store.NewEvent{}, nil, fmt.Errorf("body must be a JSON object: %v", err)
	}
	state, ok := data["state"].(string)
	if !ok || strings.TrimSpace(state) == "" {
		return store.NewEvent{}, nil, errors.New(`missing "state"`)
	}
	if p, ok := data["payload"]; ok && p != nil {
		if _, ok := p.(map[string]any); !ok {
			return store.NewEvent{}, nil, errors.New(`"payload" must be an object`)
		}
	}
	ev := store.NewEvent{State: state, Body: body}
	switch id := data["id"].(type) {
	case string:
		ev.ExternalID = id
	case nil:
	default:
		ev.ExternalID = fmt.Sprint(id)
	}
	return ev, data, nil
}

// validSignature checks X-Paygee-Signature: sha256=<hex of HMAC-SHA256(body)>, in constant time.
func validSignature(body []byte, header, secret string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Paygee-Signature value for a body (the sandbox and tests send it).
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
