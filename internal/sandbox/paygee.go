package sandbox

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// PaygeeDefaultAPIKey is the key a fake Paygee wants when PaygeeOptions.APIKey is "".
const PaygeeDefaultAPIKey = "sandbox-paygee-key"

// pgAPIPrefix is the path of the API on the fake; URL() includes it.
const pgAPIPrefix = "/api/v1"

// pgFirstID is the number of the first id the fake assigns (C-1001).
const pgFirstID = 1001

// PaygeeOptions configures the fake Paygee.
type PaygeeOptions struct {
	APIKey    string           // the Bearer key; "" → PaygeeDefaultAPIKey
	Customers []PaygeeCustomer // initial customers; each must have an "id"
}

// PaygeeCustomer is a customer as the fake stores and answers it: {"id", "name", "phone",
// "state", "language", "agent": {"name", "phone"}} and any other field. "id" is required.
type PaygeeCustomer map[string]any

// PaygeeRequest is one request the fake received.
type PaygeeRequest struct {
	Method string
	Path   string         // unescaped, including /api/v1
	Body   map[string]any // the JSON object sent, numbers as json.Number; nil if none or not an object
	Status int            // status answered; 0 if the connection was dropped or the caller gave up
}

// Paygee is a fake Paygee REST API on loopback, following paygee-api.md: find, create and
// update customers under /api/v1, with a Bearer key. It is safe for concurrent use.
type Paygee struct {
	opts    PaygeeOptions
	faults  Faults
	handler http.Handler
	srv     *http.Server
	url     string

	mu        sync.Mutex
	closed    bool
	customers map[string]PaygeeCustomer
	nextID    int
	requests  []PaygeeRequest
}

// StartPaygee starts a fake Paygee on 127.0.0.1 at a free port.
func StartPaygee(opts PaygeeOptions) (*Paygee, error) {
	if opts.APIKey == "" {
		opts.APIKey = PaygeeDefaultAPIKey
	}
	f := &Paygee{opts: opts, customers: map[string]PaygeeCustomer{}, nextID: pgFirstID}
	for i, c := range opts.Customers {
		if pgID(c["id"]) == "" {
			return nil, fmt.Errorf("error starting the fake Paygee: customer %d has no id", i)
		}
		f.putLocked(c)
	}
	f.opts.Customers = nil // the map is the state from now on
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("error listening for the fake Paygee: %w", err)
	}
	f.url = "http://" + ln.Addr().String() + pgAPIPrefix
	f.handler = http.HandlerFunc(f.serveHTTP)
	f.srv = serve(ln, f.handler)
	return f, nil
}

// URL is the base URL to configure the client with, /api/v1 included.
func (f *Paygee) URL() string { return f.url }

// Handler serves the fake's API (paths start with /api/v1), for mounting it elsewhere.
func (f *Paygee) Handler() http.Handler { return f.handler }

// Faults is the queue of scripted failures, applied to requests before authentication.
func (f *Paygee) Faults() *Faults { return &f.faults }

// Close stops the server.
func (f *Paygee) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	return f.srv.Close()
}

// Customer returns a copy of the customer with id.
func (f *Paygee) Customer(id string) (PaygeeCustomer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.customers[id]
	if !ok {
		return nil, false
	}
	return pgClone(c), true
}

// AddCustomer adds c, or replaces the customer with its id. c must have an "id": without
// one AddCustomer panics, as adding it is a mistake in the test or demo that calls it.
func (f *Paygee) AddCustomer(c PaygeeCustomer) {
	if pgID(c["id"]) == "" {
		panic("sandbox: Paygee.AddCustomer: customer has no id")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(c)
}

// putLocked stores a copy of c under its id, with "id" as a string.
func (f *Paygee) putLocked(c PaygeeCustomer) {
	c = pgClone(c)
	id := pgID(c["id"])
	c["id"] = id
	f.customers[id] = c
}

// Requests returns every request received, in the order they were answered.
func (f *Paygee) Requests() []PaygeeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.requests)
	for i := range out {
		out[i].Body = pgCloneMap(out[i].Body)
	}
	return out
}

// serveHTTP is the whole API: record, faults, auth, then the endpoint.
func (f *Paygee) serveHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	body, _ := caDecodeObject(raw)
	rec := &pgRecorder{ResponseWriter: w, f: f,
		req: PaygeeRequest{Method: r.Method, Path: r.URL.Path, Body: body}}
	defer rec.record(0) // dropped, or the caller went away during a delay

	if f.faults.Apply(rec, r) {
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth)), []byte(f.opts.APIKey)) != 1 {
		pgError(rec, http.StatusUnauthorized, "unauthorized")
		return
	}

	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, pgAPIPrefix+"/customers")
	switch {
	case !ok:
		pgError(rec, http.StatusNotFound, "not found")
	case rest == "" || rest == "/":
		if r.Method != http.MethodPost {
			pgNotAllowed(rec, http.MethodPost)
			return
		}
		f.handleCreate(rec, raw)
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/"):
		id, err := url.PathUnescape(rest[1:])
		if err != nil {
			pgError(rec, http.StatusNotFound, "not found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			f.handleFind(rec, id)
		case http.MethodPatch:
			f.handleUpdate(rec, id, raw)
		default:
			pgNotAllowed(rec, http.MethodGet+", "+http.MethodPatch)
		}
	default:
		pgError(rec, http.StatusNotFound, "not found")
	}
}

func (f *Paygee) handleFind(w http.ResponseWriter, id string) {
	c, ok := f.Customer(id)
	if !ok {
		pgError(w, http.StatusNotFound, "customer not found")
		return
	}
	caWriteJSON(w, http.StatusOK, c)
}

func (f *Paygee) handleCreate(w http.ResponseWriter, raw []byte) {
	fields, err := caDecodeObject(raw)
	if err != nil {
		pgError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	if strings.TrimSpace(pgID(fields["name"])) == "" || strings.TrimSpace(pgID(fields["phone"])) == "" {
		pgError(w, http.StatusBadRequest, "name and phone are required")
		return
	}
	f.mu.Lock()
	c := PaygeeCustomer(pgCloneMap(fields))
	for {
		id := "C-" + strconv.Itoa(f.nextID)
		f.nextID++
		if _, taken := f.customers[id]; !taken {
			c["id"] = id // Paygee assigns the id; one sent is ignored
			break
		}
	}
	f.customers[c["id"].(string)] = c
	out := pgClone(c)
	f.mu.Unlock()
	caWriteJSON(w, http.StatusCreated, out)
}

func (f *Paygee) handleUpdate(w http.ResponseWriter, id string, raw []byte) {
	fields, err := caDecodeObject(raw)
	if err != nil {
		pgError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	f.mu.Lock()
	c, ok := f.customers[id]
	if !ok {
		f.mu.Unlock()
		pgError(w, http.StatusNotFound, "customer not found")
		return
	}
	for k, v := range pgCloneMap(fields) {
		if k != "id" { // the id is the customer's name in the URL: it does not change
			c[k] = v
		}
	}
	out := pgClone(c)
	f.mu.Unlock()
	caWriteJSON(w, http.StatusOK, out)
}

// pgRecorder records a request in the fake's log with the status it is answered, just
// before the answer leaves, so that a caller that has its answer also finds the request in
// Requests().
type pgRecorder struct {
	http.ResponseWriter
	f    *Paygee
	req  PaygeeRequest
	done bool
}

func (w *pgRecorder) record(status int) {
	if w.done {
		return
	}
	w.done = true
	w.req.Status = status
	w.f.mu.Lock()
	w.f.requests = append(w.f.requests, w.req)
	w.f.mu.Unlock()
}

func (w *pgRecorder) WriteHeader(status int) {
	w.record(status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *pgRecorder) Write(b []byte) (int, error) {
	w.record(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Hijack lets Fault.Drop close the connection.
func (w *pgRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("sandbox: cannot hijack the connection")
	}
	w.record(0)
	return hj.Hijack()
}

// Unwrap is for http.ResponseController.
func (w *pgRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func pgError(w http.ResponseWriter, status int, msg string) {
	caWriteJSON(w, status, map[string]any{"error": msg})
}

func pgNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	pgError(w, http.StatusMethodNotAllowed, "method not allowed")
}

// pgID renders an id (or any scalar) given as a JSON string or number; anything else is "".
func pgID(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func pgClone(c PaygeeCustomer) PaygeeCustomer { return PaygeeCustomer(pgCloneMap(c)) }

// pgCloneMap deep-copies a decoded JSON object, so that no caller shares the fake's state.
func pgCloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = pgCloneValue(v)
	}
	return out
}

func pgCloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return pgCloneMap(v)
	case PaygeeCustomer:
		return pgClone(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = pgCloneValue(e)
		}
		return out
	}
	return v
}
