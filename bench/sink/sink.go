// Package sink is a lean stand-in for ChatArchitect: the same API as the sandbox fake
// (POST /whatsappmessage and /getHSM with Basic auth) without its bookkeeping, so that the
// provider side is never what a benchmark measures. It records when each destination was
// first reached.
package sink

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"nudge/internal/sandbox"
)

// Sink is a running sink.
type Sink struct {
	URL   string
	srv   *http.Server
	user  string
	pass  string
	hsm   []byte
	count atomic.Int64
	seq   atomic.Int64
	bad   atomic.Int64

	mu    sync.Mutex
	index func(dest string) int // destination → slot in recv, or -1
	recv  []int64               // unix ns of first receipt per slot
}

// Start listens on 127.0.0.1 at a free port.
func Start(user, pass string) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	for _, h := range sandbox.ChatArchitectDefaultTemplates() {
		list = append(list, map[string]any{"id": h.ID, "elementName": h.ElementName, "languageCode": h.LanguageCode,
			"category": h.Category, "templateType": "TEXT", "status": h.Status, "data": h.Data})
	}
	hsm, _ := json.Marshal(map[string]any{"status": "success", "templates": list})
	s := &Sink{URL: "http://" + ln.Addr().String(), user: user, pass: pass, hsm: hsm}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go s.srv.Serve(ln)
	return s, nil
}

// Track makes the sink record the first receipt time of each destination that index maps
// to a slot in [0, n); it resets the record.
func (s *Sink) Track(n int, index func(dest string) int) {
	s.mu.Lock()
	s.recv, s.index = make([]int64, n), index
	s.mu.Unlock()
}

// Received returns the receipt times recorded since Track.
func (s *Sink) Received() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recv
}

// Count is how many sends the sink accepted since it started.
func (s *Sink) Count() int64 { return s.count.Load() }

// Rejected counts requests refused for bad auth or shape.
func (s *Sink) Rejected() int64 { return s.bad.Load() }

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

type sendBody struct {
	Channel     string `json:"channel"`
	Destination string `json:"destination"`
}

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.pass)) != 1 {
		s.bad.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":"error","message":"Authentication Failed"}`)
		return
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/getHSM":
		w.Write(s.hsm)
	case "/whatsappmessage":
		var b sendBody
		if json.Unmarshal(raw, &b) != nil || b.Channel != "whatsapp" || b.Destination == "" {
			s.bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","message":"Invalid request"}`)
			return
		}
		now := time.Now().UnixNano()
		s.mu.Lock()
		if s.index != nil {
			if i := s.index(b.Destination); i >= 0 && i < len(s.recv) && s.recv[i] == 0 {
				s.recv[i] = now
			}
		}
		s.mu.Unlock()
		s.count.Add(1)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"submitted","messageId":"sink-`+strconv.FormatInt(s.seq.Add(1), 10)+`"}`)
	default:
		s.bad.Add(1)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"status":"error","message":"Not Found"}`)
	}
}
