package paygee_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"nudge/internal/paygee"
	"nudge/internal/sandbox"
)

const pgKey = "pg-test-key"

// amina is the customer the fake starts with.
func amina() sandbox.PaygeeCustomer {
	return sandbox.PaygeeCustomer{
		"id": "C-311", "name": "Amina Otieno", "phone": "+254712345678", "state": "active",
		"language": "sw", "agent": map[string]any{"name": "Peter", "phone": "+254700000001"},
		"balance": 1500, "region": "west",
	}
}

func startFake(t *testing.T) *sandbox.Paygee {
	t.Helper()
	f, err := sandbox.StartPaygee(sandbox.PaygeeOptions{APIKey: pgKey, Customers: []sandbox.PaygeeCustomer{amina()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// clientFor returns a client with its own transport: a connection the fake drops must be
// a fresh one, or net/http would replay an idempotent request on a new one by itself.
func clientFor(f *sandbox.Paygee, timeout time.Duration) *paygee.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return paygee.New(paygee.Config{BaseURL: f.URL(), APIKey: pgKey,
		HTTPClient: &http.Client{Transport: tr, Timeout: timeout}})
}

func asError(t *testing.T, err error) *paygee.Error {
	t.Helper()
	var e *paygee.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *paygee.Error", err, err)
	}
	return e
}

func TestFindCustomer(t *testing.T) {
	f := startFake(t)
	c, found, err := clientFor(f, 0).FindCustomer(context.Background(), "C-311")
	if err != nil || !found {
		t.Fatalf("FindCustomer = %v, %v, %v", c, found, err)
	}
	if c.ID() != "C-311" || c.Phone() != "+254712345678" || c["name"] != "Amina Otieno" {
		t.Errorf("customer = %v", c)
	}
	if agent, _ := c["agent"].(map[string]any); agent["phone"] != "+254700000001" {
		t.Errorf("agent = %v", c["agent"])
	}
	if c["balance"] != json.Number("1500") || c["region"] != "west" {
		t.Errorf("balance %#v and region %#v: numbers must be json.Number, unknown fields kept", c["balance"], c["region"])
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/api/v1/customers/C-311" || reqs[0].Status != 200 {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestCustomerNumericID(t *testing.T) {
	c := paygee.Customer{"id": json.Number("311"), "phone": json.Number("254712345678")}
	if c.ID() != "311" || c.Phone() != "254712345678" {
		t.Errorf("ID() = %q, Phone() = %q", c.ID(), c.Phone())
	}
	if c := (paygee.Customer{}); c.ID() != "" || c.Phone() != "" {
		t.Errorf("empty customer: ID() = %q, Phone() = %q", c.ID(), c.Phone())
	}
}

// A 404 is an answer: no such customer.
func TestFindCustomerNotFound(t *testing.T) {
	f := startFake(t)
	c, found, err := clientFor(f, 0).FindCustomer(context.Background(), "C-999")
	if c != nil || found || err != nil {
		t.Fatalf("FindCustomer = %v, %v, %v; want nil, false, nil", c, found, err)
	}
}

func TestFindCustomerEscapesID(t *testing.T) {
	f := startFake(t)
	f.AddCustomer(sandbox.PaygeeCustomer{"id": "a/b c?d", "name": "Odd", "phone": "+254700000002"})
	c, found, err := clientFor(f, 0).FindCustomer(context.Background(), "a/b c?d")
	if err != nil || !found || c["name"] != "Odd" {
		t.Fatalf("FindCustomer = %v, %v, %v", c, found, err)
	}
}

func TestInvalidIDMakesNoRequest(t *testing.T) {
	f := startFake(t)
	cl := clientFor(f, 0)
	for _, id := range []string{"", " ", ".", ".."} {
		if _, _, err := cl.FindCustomer(context.Background(), id); paygee.ClassOf(err) != paygee.Permanent {
			t.Errorf("FindCustomer(%q): %v, want Permanent", id, err)
		}
		if _, err := cl.UpdateCustomer(context.Background(), id, map[string]any{"x": 1}); paygee.ClassOf(err) != paygee.Permanent {
			t.Errorf("UpdateCustomer(%q): %v, want Permanent", id, err)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

func TestCreateCustomer(t *testing.T) {
	f := startFake(t)
	fields := map[string]any{"name": "Baraka", "phone": "+254711000111", "score": json.Number("7"), "region": "east"}
	c, err := clientFor(f, 0).CreateCustomer(context.Background(), fields)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "C-1001" || c["name"] != "Baraka" || c["score"] != json.Number("7") || c["region"] != "east" {
		t.Errorf("created = %v", c)
	}
	if stored, ok := f.Customer("C-1001"); !ok || stored["phone"] != "+254711000111" {
		t.Errorf("fake holds %v, %v", stored, ok)
	}
	if r := f.Requests()[0]; r.Method != "POST" || r.Path != "/api/v1/customers" || r.Status != 201 {
		t.Errorf("request = %+v", r)
	}
}

// Paygee requires name and phone: its 400 is Permanent, with its reason and without the
// number in the error text.
func TestCreateCustomerRejected(t *testing.T) {
	f := startFake(t)
	_, err := clientFor(f, 0).CreateCustomer(context.Background(), map[string]any{"phone": "+254711000111"})
	e := asError(t, err)
	if e.Class != paygee.Permanent || e.StatusCode != 400 || e.Message != "create customer: name and phone are required" {
		t.Errorf("error = %#v", e)
	}
}

func TestUpdateCustomer(t *testing.T) {
	f := startFake(t)
	cl := clientFor(f, 0)
	c, err := cl.UpdateCustomer(context.Background(), "C-311", map[string]any{"state": "blocked", "note": "visit"})
	if err != nil {
		t.Fatal(err)
	}
	if c["state"] != "blocked" || c["note"] != "visit" || c["name"] != "Amina Otieno" || c.ID() != "C-311" {
		t.Errorf("updated = %v", c)
	}
	if r := f.Requests()[0]; r.Method != "PATCH" || r.Path != "/api/v1/customers/C-311" || r.Status != 200 {
		t.Errorf("request = %+v", r)
	}
	_, err = cl.UpdateCustomer(context.Background(), "C-999", map[string]any{"state": "blocked"})
	if e := asError(t, err); e.Class != paygee.Permanent || e.StatusCode != 404 {
		t.Errorf("unknown customer: %#v", e)
	}
}

// Every call, every status class.
func TestStatusClasses(t *testing.T) {
	ops := map[string]func(*paygee.Client) error{
		"find": func(c *paygee.Client) error {
			_, _, err := c.FindCustomer(context.Background(), "C-311")
			return err
		},
		"create": func(c *paygee.Client) error {
			_, err := c.CreateCustomer(context.Background(), map[string]any{"name": "B", "phone": "+254711000111"})
			return err
		},
		"update": func(c *paygee.Client) error {
			_, err := c.UpdateCustomer(context.Background(), "C-311", map[string]any{"state": "x"})
			return err
		},
	}
	tests := []struct {
		fault      sandbox.Fault
		class      paygee.Class
		retryAfter time.Duration
	}{
		{sandbox.Fault{Status: 400}, paygee.Permanent, 0},
		{sandbox.Fault{Status: 409}, paygee.Permanent, 0},
		{sandbox.Fault{Status: 401}, paygee.Auth, 0},
		{sandbox.Fault{Status: 403}, paygee.Auth, 0},
		{sandbox.Fault{Status: 500}, paygee.Transient, 0},
		{sandbox.Fault{Status: 503}, paygee.Transient, 0},
		{sandbox.Fault{Status: 503, RetryAfter: 7 * time.Second}, paygee.Transient, 7 * time.Second},
		{sandbox.Fault{Status: 429, RetryAfter: 3 * time.Second}, paygee.Transient, 3 * time.Second},
		{sandbox.Fault{Status: 400, RetryAfter: 3 * time.Second}, paygee.Permanent, 0}, // only a transient failure waits
	}
	f := startFake(t)
	cl := clientFor(f, 0)
	for name, op := range ops {
		for _, tt := range tests {
			f.Faults().Push(tt.fault)
			e := asError(t, op(cl))
			if e.Class != tt.class || e.StatusCode != tt.fault.Status || e.RetryAfter != tt.retryAfter {
				t.Errorf("%s, fault %+v: class %v, status %d, retry after %v; want %v, %d, %v",
					name, tt.fault, e.Class, e.StatusCode, e.RetryAfter, tt.class, tt.fault.Status, tt.retryAfter)
			}
			if len(e.Body) == 0 {
				t.Errorf("%s, fault %+v: no body kept", name, tt.fault)
			}
		}
	}
}

func TestWrongKeyIsAuth(t *testing.T) {
	f := startFake(t)
	cl := paygee.New(paygee.Config{BaseURL: f.URL(), APIKey: "wrong"})
	_, _, err := cl.FindCustomer(context.Background(), "C-311")
	if e := asError(t, err); e.Class != paygee.Auth || e.StatusCode != 401 || e.Message != "find customer: unauthorized" {
		t.Errorf("error = %#v", e)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error text %q holds the key", err)
	}
}

// Paygee may echo the phone and even the key: neither reaches the error text.
func TestErrorTextRedacted(t *testing.T) {
	f := startFake(t)
	f.Faults().Push(sandbox.Fault{Status: 422, Body: `{"error":"phone +254711000111 already used (key ` + pgKey + `)"}`})
	_, err := clientFor(f, 0).CreateCustomer(context.Background(), map[string]any{"name": "B", "phone": "+254711000111"})
	e := asError(t, err)
	if e.Class != paygee.Permanent {
		t.Errorf("class = %v", e.Class)
	}
	if text := err.Error(); strings.Contains(text, "254711000111") || strings.Contains(text, pgKey) ||
		!strings.Contains(text, "already used") {
		t.Errorf("error text = %q", text)
	}
}

func TestSlowAnswerIsTransient(t *testing.T) {
	f := startFake(t)
	f.Faults().Push(sandbox.Fault{Delay: 2 * time.Second})
	start := time.Now()
	_, _, err := clientFor(f, 100*time.Millisecond).FindCustomer(context.Background(), "C-311")
	e := asError(t, err)
	if e.Class != paygee.Transient || e.StatusCode != 0 || e.Message != "find customer: timed out" {
		t.Errorf("error = %#v", e)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}

	f.Faults().Push(sandbox.Fault{Delay: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = clientFor(f, 0).CreateCustomer(ctx, map[string]any{"name": "B", "phone": "+254711000111"})
	if e := asError(t, err); e.Class != paygee.Transient || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: %#v", e)
	}
}

func TestDroppedConnectionIsTransient(t *testing.T) {
	f := startFake(t)
	for name, op := range map[string]func(*paygee.Client) error{
		"find": func(c *paygee.Client) error {
			_, _, err := c.FindCustomer(context.Background(), "C-311")
			return err
		},
		"update": func(c *paygee.Client) error {
			_, err := c.UpdateCustomer(context.Background(), "C-311", map[string]any{"state": "x"})
			return err
		},
	} {
		f.Faults().Push(sandbox.Fault{Drop: true})
		e := asError(t, op(clientFor(f, 0)))
		if e.Class != paygee.Transient || e.StatusCode != 0 || e.Err == nil {
			t.Errorf("%s: error = %#v", name, e)
		}
	}
}

func TestNoServerIsTransient(t *testing.T) {
	f := startFake(t)
	cl := clientFor(f, 0)
	f.Close()
	_, _, err := cl.FindCustomer(context.Background(), "C-311")
	if e := asError(t, err); e.Class != paygee.Transient || strings.Contains(err.Error(), "C-311") {
		t.Errorf("error = %q (%v)", err, e.Class)
	}
}

func TestNoBaseURL(t *testing.T) {
	_, _, err := paygee.New(paygee.Config{}).FindCustomer(context.Background(), "C-311")
	if paygee.ClassOf(err) != paygee.Permanent {
		t.Errorf("error = %v, want Permanent", err)
	}
}

// Answers the fake never gives: a 2xx that is not a customer, an empty 2xx to a write.
func TestOddAnswers(t *testing.T) {
	var answer string
	var status int
	var gotAuth, gotType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	cl := paygee.New(paygee.Config{BaseURL: srv.URL + "/", APIKey: "k"})
	ctx := context.Background()

	status, answer = 200, `["not", "an", "object"]`
	if _, _, err := cl.FindCustomer(ctx, "C-1"); paygee.ClassOf(err) != paygee.Permanent {
		t.Errorf("array: %v", err)
	}
	if gotAuth != "Bearer k" {
		t.Errorf("Authorization = %q", gotAuth)
	}
	status, answer = 200, ``
	if _, _, err := cl.FindCustomer(ctx, "C-1"); paygee.ClassOf(err) != paygee.Permanent {
		t.Errorf("empty find: %v", err)
	}
	status, answer = 204, ``
	if c, err := cl.UpdateCustomer(ctx, "C-1", map[string]any{"a": 1}); err != nil || c == nil || len(c) != 0 {
		t.Errorf("204 update = %v, %v; want an empty customer", c, err)
	}
	if gotType != "application/json" {
		t.Errorf("Content-Type = %q", gotType)
	}
	status, answer = 502, `<html>Bad Gateway</html>`
	_, err := cl.CreateCustomer(ctx, map[string]any{"name": "a", "phone": "1"})
	if e := asError(t, err); e.Class != paygee.Transient || e.Message != "create customer: Bad Gateway" {
		t.Errorf("502 = %#v", e)
	}
	status, answer = 500, `{"error":{"message":"database down"}}`
	_, err = cl.CreateCustomer(ctx, map[string]any{"name": "a", "phone": "1"})
	if e := asError(t, err); e.Message != "create customer: database down" {
		t.Errorf("nested error message = %q", e.Message)
	}
}

func TestRetryAfterDate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, _, err := paygee.New(paygee.Config{BaseURL: srv.URL}).FindCustomer(context.Background(), "C-1")
	if e := asError(t, err); e.Class != paygee.Transient || e.RetryAfter < 58*time.Minute || e.RetryAfter > time.Hour {
		t.Errorf("error = %#v", e)
	}
}

func TestDescribe(t *testing.T) {
	cl := paygee.New(paygee.Config{BaseURL: "https://paygee.example/api/v1/", APIKey: "secret"})
	fields := map[string]any{"name": "Amina", "phone": "+254712345678", "tags": []any{"a"}, "agent": map[string]any{"name": "Peter"}}
	tests := []struct {
		got, want paygee.Request
	}{
		{cl.DescribeFind("C-311"), paygee.Request{Method: "GET", URL: "https://paygee.example/api/v1/customers/C-311"}},
		{cl.DescribeFind("a/b c"), paygee.Request{Method: "GET", URL: "https://paygee.example/api/v1/customers/a%2Fb%20c"}},
		{cl.DescribeCreate(fields), paygee.Request{Method: "POST", URL: "https://paygee.example/api/v1/customers", Body: fields}},
		{cl.DescribeCreate(nil), paygee.Request{Method: "POST", URL: "https://paygee.example/api/v1/customers", Body: map[string]any{}}},
		{cl.DescribeUpdate("C-311", map[string]any{"state": "blocked"}), paygee.Request{Method: "PATCH",
			URL: "https://paygee.example/api/v1/customers/C-311", Body: map[string]any{"state": "blocked"}}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("got %#v, want %#v", tt.got, tt.want)
		}
	}

	// The description is a copy: changing the fields later does not change it.
	req := cl.DescribeCreate(fields)
	fields["name"] = "changed"
	fields["tags"].([]any)[0] = "changed"
	fields["agent"].(map[string]any)["name"] = "changed"
	if req.Body["name"] != "Amina" || req.Body["tags"].([]any)[0] != "a" || req.Body["agent"].(map[string]any)["name"] != "Peter" {
		t.Errorf("description changed with the fields: %v", req.Body)
	}

	data, err := json.Marshal(cl.DescribeUpdate("C-311", map[string]any{"state": "blocked"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"method":"PATCH","url":"https://paygee.example/api/v1/customers/C-311","body":{"state":"blocked"}}`; string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
	if strings.Contains(string(data), "secret") {
		t.Error("the description holds the key")
	}
}

// What Describe says is what the call does.
func TestDescribeMatchesCall(t *testing.T) {
	f := startFake(t)
	cl := clientFor(f, 0)
	ctx := context.Background()
	fields := map[string]any{"name": "Baraka", "phone": "+254711000111", "score": json.Number("7")}
	descs := []paygee.Request{cl.DescribeFind("C-311"), cl.DescribeCreate(fields), cl.DescribeUpdate("C-311", map[string]any{"state": "x"})}
	cl.FindCustomer(ctx, "C-311")
	cl.CreateCustomer(ctx, fields)
	cl.UpdateCustomer(ctx, "C-311", map[string]any{"state": "x"})
	reqs := f.Requests()
	if len(reqs) != len(descs) {
		t.Fatalf("%d requests, want %d", len(reqs), len(descs))
	}
	for i, d := range descs {
		r := reqs[i]
		if r.Method != d.Method || f.URL()+strings.TrimPrefix(r.Path, "/api/v1") != d.URL || !reflect.DeepEqual(r.Body, d.Body) {
			t.Errorf("request %d = %s %s %v; described %s %s %v", i, r.Method, r.Path, r.Body, d.Method, d.URL, d.Body)
		}
	}
}
