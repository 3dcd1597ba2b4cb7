// Package sandbox holds fake ChatArchitect and Paygee servers: real HTTP servers on
// loopback that follow the API documents, record what they receive and fail on request.
// The tests use them, and so does `nudge demo`.
package sandbox

import (
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is one scripted failure. A fake applies queued faults, in order, to the next
// requests it receives, before it does anything else with them.
type Fault struct {
	Status     int           // answer with this status (e.g. 500, 503, 429, 400, 401); 0 = answer normally after Delay
	RetryAfter time.Duration // sent as Retry-After in whole seconds when > 0
	Body       string        // response body; a JSON error body is used when empty
	Delay      time.Duration // wait this long before answering (or before dropping)
	Drop       bool          // close the connection without any answer
	Times      int           // number of requests this fault applies to; 0 means 1
}

// Faults is a queue of faults, safe for concurrent use.
type Faults struct {
	mu    sync.Mutex
	queue []Fault
}

// Push queues a fault.
func (q *Faults) Push(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	q.mu.Lock()
	q.queue = append(q.queue, f)
	q.mu.Unlock()
}

// Clear drops every queued fault.
func (q *Faults) Clear() {
	q.mu.Lock()
	q.queue = nil
	q.mu.Unlock()
}

func (q *Faults) next() (Fault, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return Fault{}, false
	}
	f := q.queue[0]
	q.queue[0].Times--
	if q.queue[0].Times <= 0 {
		q.queue = q.queue[1:]
	}
	return f, true
}

// Apply takes the next fault, if any, and acts it out on the request. It reports whether
// the request was fully handled (answered with an error or dropped); when it returns false
// the caller answers normally.
func (q *Faults) Apply(w http.ResponseWriter, r *http.Request) bool {
	f, ok := q.next()
	if !ok {
		return false
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	body := f.Body
	if body == "" {
		body = `{"status":"error","message":"` + http.StatusText(f.Status) + `"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	w.Write([]byte(body))
	return true
}

// serve runs a fake's handler on ln until the returned server is closed. Its error log is
// dropped: the fakes drop connections on purpose.
func serve(ln net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	return srv
}
