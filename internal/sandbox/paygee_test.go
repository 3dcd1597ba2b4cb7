package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

func pgStartFake(t *testing.T, opts sandbox.PaygeeOptions) *sandbox.Paygee {
	t.Helper()
	f, err := sandbox.StartPaygee(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// pgDo sends a request to the fake's API with key (none when "") and returns the status
// and the decoded answer.
func pgDo(t *testing.T, f *sandbox.Paygee, method, path, body, key string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.URL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s answered non-JSON %q", method, path, data)
	}
	return resp.StatusCode, out
}

func TestPaygeeURL(t *testing.T) {
	f := pgStartFake(t, sandbox.PaygeeOptions{})
	if !strings.HasPrefix(f.URL(), "http://127.0.0.1:") || !strings.HasSuffix(f.URL(), "/api/v1") {
		t.Errorf("URL() = %q", f.URL())
	}
	// Mounted elsewhere, the handler serves the same API.
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/customers", strings.NewReader(`{"name":"A","phone":"1"}`))
	req.Header.Set("Authorization", "Bearer "+sandbox.PaygeeDefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := f.Customer("C-1001"); resp.StatusCode != 201 || !ok {
		t.Errorf("through Handler(): %d, created %v", resp.StatusCode, ok)
	}
}

func TestPaygeeAuth(t *testing.T) {
	f := pgStartFake(t, sandbox.PaygeeOptions{Customers: []sandbox.PaygeeCustomer{{"id": "C-1", "name": "A", "phone": "1"}}})
	for _, key := range []string{"", "wrong", sandbox.PaygeeDefaultAPIKey + "x"} {
		status, body := pgDo(t, f, "GET", "/customers/C-1", "", key)
		if status != 401 || body["error"] != "unauthorized" {
			t.Errorf("key %q: %d %v", key, status, body)
		}
	}
	if status, _ := pgDo(t, f, "GET", "/customers/C-1", "", sandbox.PaygeeDefaultAPIKey); status != 200 {
		t.Errorf("default key: %d", status)
	}
	g := pgStartFake(t, sandbox.PaygeeOptions{APIKey: "mine"})
	if status, _ := pgDo(t, g, "GET", "/customers/C-1", "", sandbox.PaygeeDefaultAPIKey); status != 401 {
		t.Errorf("default key on a fake with its own: %d", status)
	}
}

func TestPaygeeCustomers(t *testing.T) {
	const key = "k"
	f := pgStartFake(t, sandbox.PaygeeOptions{APIKey: key, Customers: []sandbox.PaygeeCustomer{
		{"id": "C-311", "name": "Amina", "phone": "+254712345678", "agent": map[string]any{"name": "Peter"}},
		{"id": "C-1001", "name": "Taken", "phone": "+254700000000"},
		{"id": 42, "name": "Numeric", "phone": "+254700000042"},
	}})
	tests := []struct {
		method, path, body string
		status             int
		want               map[string]any // fields the answer must hold
	}{
		{"GET", "/customers/C-311", "", 200, map[string]any{"id": "C-311", "name": "Amina"}},
		{"GET", "/customers/42", "", 200, map[string]any{"id": "42"}},
		{"GET", "/customers/C-999", "", 404, map[string]any{"error": "customer not found"}},
		{"GET", "/customers", "", 405, nil},
		{"DELETE", "/customers/C-311", "", 405, nil},
		{"GET", "/loans/L-1", "", 404, nil},
		{"GET", "/customers/C-311/loans", "", 404, nil},
		{"POST", "/customers", `{"name":"Baraka"}`, 400, map[string]any{"error": "name and phone are required"}},
		{"POST", "/customers", `{"name":"","phone":"+254711000111"}`, 400, nil},
		{"POST", "/customers", `not json`, 400, nil},
		{"POST", "/customers", `{"id":"mine","name":"Baraka","phone":"+254711000111","score":7}`, 201,
			map[string]any{"id": "C-1002", "name": "Baraka", "score": float64(7)}}, // C-1001 is taken; a sent id is ignored
		{"POST", "/customers/", `{"name":"Chao","phone":"+254711000222"}`, 201, map[string]any{"id": "C-1003"}},
		{"PATCH", "/customers/C-311", `{"id":"other","state":"blocked","agent":{"name":"Mary"}}`, 200,
			map[string]any{"id": "C-311", "name": "Amina", "state": "blocked"}},
		{"PATCH", "/customers/C-999", `{"state":"blocked"}`, 404, nil},
		{"PATCH", "/customers/C-311", `[1]`, 400, nil},
	}
	for _, tt := range tests {
		status, body := pgDo(t, f, tt.method, tt.path, tt.body, key)
		if status != tt.status {
			t.Errorf("%s %s %s: status %d, want %d (%v)", tt.method, tt.path, tt.body, status, tt.status, body)
			continue
		}
		for k, v := range tt.want {
			if body[k] != v {
				t.Errorf("%s %s: %s = %#v, want %#v", tt.method, tt.path, k, body[k], v)
			}
		}
	}
	c, ok := f.Customer("C-311")
	if !ok || c["state"] != "blocked" || c["agent"].(map[string]any)["name"] != "Mary" {
		t.Errorf("C-311 after PATCH = %v", c)
	}
	if c, ok := f.Customer("C-1002"); !ok || c["phone"] != "+254711000111" || c["score"] != json.Number("7") {
		t.Errorf("C-1002 = %#v", c)
	}
	if _, ok := f.Customer("mine"); ok {
		t.Error("the id sent with POST was used")
	}
}

// The fake never shares its state with callers.
func TestPaygeeCopies(t *testing.T) {
	agent := map[string]any{"name": "Peter"}
	in := sandbox.PaygeeCustomer{"id": "C-1", "agent": agent}
	f := pgStartFake(t, sandbox.PaygeeOptions{Customers: []sandbox.PaygeeCustomer{in}})
	agent["name"] = "changed"
	c, _ := f.Customer("C-1")
	c["agent"].(map[string]any)["phone"] = "x"
	if c, _ := f.Customer("C-1"); c["agent"].(map[string]any)["name"] != "Peter" || len(c["agent"].(map[string]any)) != 1 {
		t.Errorf("customer = %v", c)
	}
}

func TestPaygeeCustomersNeedAnID(t *testing.T) {
	if _, err := sandbox.StartPaygee(sandbox.PaygeeOptions{Customers: []sandbox.PaygeeCustomer{{"name": "A"}}}); err == nil {
		t.Error("StartPaygee accepted a customer without id")
	}
	f := pgStartFake(t, sandbox.PaygeeOptions{})
	defer func() {
		if recover() == nil {
			t.Error("AddCustomer accepted a customer without id")
		}
	}()
	f.AddCustomer(sandbox.PaygeeCustomer{"name": "A"})
}

func TestPaygeeRequests(t *testing.T) {
	f := pgStartFake(t, sandbox.PaygeeOptions{Customers: []sandbox.PaygeeCustomer{{"id": "C-1", "name": "A", "phone": "1"}}})
	key := sandbox.PaygeeDefaultAPIKey
	pgDo(t, f, "GET", "/customers/C-1", "", key)
	pgDo(t, f, "PATCH", "/customers/C-1", `{"n":1}`, "")
	f.Faults().Push(sandbox.Fault{Status: 503, RetryAfter: 2 * time.Second})
	pgDo(t, f, "POST", "/customers", `{"name":"B","phone":"2"}`, key)
	f.Faults().Push(sandbox.Fault{Drop: true})
	req, _ := http.NewRequest("GET", f.URL()+"/customers/C-1", nil)
	if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
		resp.Body.Close()
		t.Error("a dropped connection answered")
	}

	got := f.Requests()
	want := []sandbox.PaygeeRequest{
		{Method: "GET", Path: "/api/v1/customers/C-1", Status: 200},
		{Method: "PATCH", Path: "/api/v1/customers/C-1", Body: map[string]any{"n": json.Number("1")}, Status: 401},
		{Method: "POST", Path: "/api/v1/customers", Body: map[string]any{"name": "B", "phone": "2"}, Status: 503},
		{Method: "GET", Path: "/api/v1/customers/C-1", Status: 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Requests() =\n%v\nwant\n%v", got, want)
	}
	if _, ok := f.Customer("C-1001"); ok {
		t.Error("a faulted POST created a customer")
	}
}

// Concurrent creates get distinct ids (and the race detector sees the locking).
func TestPaygeeConcurrent(t *testing.T) {
	f := pgStartFake(t, sandbox.PaygeeOptions{})
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, body := pgDo(t, f, "POST", "/customers", fmt.Sprintf(`{"name":"N%d","phone":"%d"}`, i, i), sandbox.PaygeeDefaultAPIKey)
			ids <- fmt.Sprint(body["id"])
			f.Requests()
			f.Customer("C-1001")
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %s given twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n || !seen["C-1001"] || !seen[fmt.Sprintf("C-%d", 1000+n)] {
		t.Errorf("ids = %v", seen)
	}
}

// PostPaygeeEvent against a hook that checks the token and the signature as nudge does.
func TestPostPaygeeEvent(t *testing.T) {
	const token, secret = "hook-token", "sign-me"
	var (
		mu      sync.Mutex
		gotBody []byte
		gotSig  string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("X-Paygee-Signature")
		mu.Lock()
		gotBody, gotSig = body, sig
		mu.Unlock()
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Nudge-Token") != token {
			http.Error(w, `{"error":"bad token"}`, 401)
			return
		}
		if sig != "" {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			hexSig, ok := strings.CutPrefix(sig, "sha256=")
			got, err := hex.DecodeString(hexSig)
			if !ok || err != nil || !hmac.Equal(got, mac.Sum(nil)) {
				http.Error(w, `{"error":"bad signature"}`, 401)
				return
			}
		}
		w.WriteHeader(202)
		w.Write([]byte(`{"event_id":1,"duplicate":false}`))
	}))
	defer hook.Close()
	ctx := context.Background()
	event := map[string]any{"id": "evt_1", "state": "days_late", "payload": map[string]any{"loan_id": "L-1", "days_late": 5}}

	status, body, err := sandbox.PostPaygeeEvent(ctx, hook.URL, token, secret, event)
	if err != nil || status != 202 || string(body) != `{"event_id":1,"duplicate":false}` {
		t.Fatalf("signed event: %d %s %v", status, body, err)
	}
	mu.Lock()
	var decoded map[string]any
	if json.Unmarshal(gotBody, &decoded) != nil || decoded["state"] != "days_late" || gotSig == "" {
		t.Errorf("hook got %s, signature %q", gotBody, gotSig)
	}
	mu.Unlock()

	// A raw body is sent byte for byte, and signed as it is.
	raw := []byte(`{"state": "late",  "payload": {"days_late": "5"}}`)
	for _, ev := range []any{raw, json.RawMessage(raw)} {
		if status, _, err := sandbox.PostPaygeeEvent(ctx, hook.URL, token, secret, ev); err != nil || status != 202 {
			t.Errorf("raw %T: %d %v", ev, status, err)
		}
		mu.Lock()
		if string(gotBody) != string(raw) {
			t.Errorf("raw %T: hook got %s", ev, gotBody)
		}
		mu.Unlock()
	}

	// No secret, no signature header; the wrong secret is refused by the hook.
	if status, _, err := sandbox.PostPaygeeEvent(ctx, hook.URL, token, "", event); err != nil || status != 202 {
		t.Errorf("unsigned: %d %v", status, err)
	}
	mu.Lock()
	if gotSig != "" {
		t.Errorf("unsigned event carried %q", gotSig)
	}
	mu.Unlock()
	if status, _, _ := sandbox.PostPaygeeEvent(ctx, hook.URL, token, "other", event); status != 401 {
		t.Errorf("wrong secret: %d", status)
	}
	if status, _, _ := sandbox.PostPaygeeEvent(ctx, hook.URL, "", secret, event); status != 401 {
		t.Errorf("no token: %d", status)
	}

	// Errors: an event that is not JSON, no server.
	if _, _, err := sandbox.PostPaygeeEvent(ctx, hook.URL, token, secret, func() {}); err == nil {
		t.Error("a func was sent")
	}
	hook.Close()
	if _, _, err := sandbox.PostPaygeeEvent(ctx, hook.URL, token, secret, event); err == nil {
		t.Error("no error without a server")
	}
}
