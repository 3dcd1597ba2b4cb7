package paygee

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

// cacheFake is a fake Paygee with one customer, C-311, and a cache over it on a clock the
// test moves.
func cacheFake(t *testing.T, ttl time.Duration) (*sandbox.Paygee, *Cache, *time.Time) {
	t.Helper()
	f, err := sandbox.StartPaygee(sandbox.PaygeeOptions{Customers: []sandbox.PaygeeCustomer{
		{"id": "C-311", "name": "Amina", "phone": "+254712345678", "agent": map[string]any{"name": "Peter"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	c := NewCache(New(Config{BaseURL: f.URL(), APIKey: sandbox.PaygeeDefaultAPIKey}), ttl)
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	return f, c, &now
}

func TestCacheDefaultTTL(t *testing.T) {
	if c := NewCache(New(Config{}), 0); c.ttl != DefaultCacheTTL || DefaultCacheTTL != 5*time.Minute {
		t.Errorf("ttl = %v", c.ttl)
	}
}

func TestCacheTTL(t *testing.T) {
	f, c, now := cacheFake(t, time.Minute)
	ctx := context.Background()
	for i := range 3 {
		cust, found, err := c.FindCustomer(ctx, "C-311")
		if err != nil || !found || cust.Phone() != "+254712345678" {
			t.Fatalf("lookup %d = %v, %v, %v", i, cust, found, err)
		}
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests for three lookups within the TTL, want 1", n)
	}
	*now = now.Add(time.Minute)
	if _, _, err := c.FindCustomer(ctx, "C-311"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("%d requests after the TTL, want 2", n)
	}
}

func TestCacheKeepsNotFound(t *testing.T) {
	f, c, now := cacheFake(t, time.Minute)
	ctx := context.Background()
	for range 2 {
		if cust, found, err := c.FindCustomer(ctx, "C-999"); cust != nil || found || err != nil {
			t.Fatalf("lookup = %v, %v, %v", cust, found, err)
		}
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	f.AddCustomer(sandbox.PaygeeCustomer{"id": "C-999", "name": "New", "phone": "+254700000009"})
	*now = now.Add(time.Minute)
	if _, found, _ := c.FindCustomer(ctx, "C-999"); !found {
		t.Error("still not found after the TTL")
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	f, c, _ := cacheFake(t, time.Minute)
	ctx := context.Background()
	f.Faults().Push(sandbox.Fault{Status: 503})
	if _, _, err := c.FindCustomer(ctx, "C-311"); ClassOf(err) != Transient {
		t.Fatalf("first lookup: %v, want Transient", err)
	}
	if _, found, err := c.FindCustomer(ctx, "C-311"); err != nil || !found {
		t.Fatalf("second lookup = %v, %v", found, err)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// Each caller gets its own copy: one that changes its customer does not change another's.
func TestCacheCopies(t *testing.T) {
	_, c, _ := cacheFake(t, time.Minute)
	ctx := context.Background()
	a, _, _ := c.FindCustomer(ctx, "C-311")
	a["name"] = "changed"
	a["agent"].(map[string]any)["name"] = "changed"
	b, _, _ := c.FindCustomer(ctx, "C-311")
	if b["name"] != "Amina" || b["agent"].(map[string]any)["name"] != "Peter" {
		t.Errorf("cached customer changed: %v", b)
	}
}

func TestCacheForget(t *testing.T) {
	f, c, _ := cacheFake(t, time.Minute)
	ctx := context.Background()
	c.FindCustomer(ctx, "C-311")
	f.AddCustomer(sandbox.PaygeeCustomer{"id": "C-311", "name": "Amina", "phone": "+254799999999"})
	c.Forget("C-311")
	if cust, _, _ := c.FindCustomer(ctx, "C-311"); cust.Phone() != "+254799999999" {
		t.Errorf("after Forget: phone %q", cust.Phone())
	}
}

// gatedServer answers every find after the gate opens, counting the calls and the calls
// whose caller went away.
type gatedServer struct {
	*httptest.Server
	gate            chan struct{}
	calls, canceled atomic.Int32
}

func startGated(t *testing.T) *gatedServer {
	g := &gatedServer{gate: make(chan struct{})}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		select {
		case <-g.gate:
			w.Write([]byte(`{"id":"C-311","phone":"+254712345678"}`))
		case <-r.Context().Done():
			g.canceled.Add(1)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

// waitWaiters waits until n callers wait for the lookup of id.
func waitWaiters(t *testing.T, c *Cache, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		got := 0
		if call := c.calls[id]; call != nil {
			got = call.waiters
		}
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait for %s, want %d", got, id, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCacheSharesConcurrentLookups(t *testing.T) {
	g := startGated(t)
	c := NewCache(New(Config{BaseURL: g.URL}), time.Minute)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			cust, found, err := c.FindCustomer(context.Background(), "C-311")
			if err == nil && (!found || cust.ID() != "C-311") {
				t.Errorf("lookup = %v, %v", cust, found)
			}
			errs <- err
		})
	}
	waitWaiters(t, c, "C-311", n)
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("%d calls for %d concurrent lookups, want 1", got, n)
	}
}

// One caller giving up does not fail the others; when all give up, the call stops.
func TestCacheCallerGivesUp(t *testing.T) {
	g := startGated(t)
	c := NewCache(New(Config{BaseURL: g.URL}), time.Minute)

	impatient, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, _, err := c.FindCustomer(impatient, "C-311")
		gaveUp <- err
	}()
	waitWaiters(t, c, "C-311", 1)
	patient := make(chan error, 1)
	go func() {
		_, found, err := c.FindCustomer(context.Background(), "C-311")
		if err == nil && !found {
			t.Error("patient caller: not found")
		}
		patient <- err
	}()
	waitWaiters(t, c, "C-311", 2)
	cancel()
	if err := <-gaveUp; ClassOf(err) != Transient {
		t.Errorf("impatient caller: %v, want Transient", err)
	}
	close(g.gate)
	if err := <-patient; err != nil {
		t.Errorf("patient caller: %v", err)
	}
	if got := g.calls.Load(); got != 1 {
		t.Errorf("%d calls, want 1", got)
	}

	// Now with nobody left: the call is canceled.
	g2 := startGated(t)
	c2 := NewCache(New(Config{BaseURL: g2.URL}), time.Minute)
	ctx, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := c2.FindCustomer(ctx, "C-311")
		done <- err
	}()
	waitWaiters(t, c2, "C-311", 1)
	for g2.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel2()
	if err := <-done; ClassOf(err) != Transient {
		t.Errorf("lone caller: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for g2.canceled.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call was not canceled")
		}
		time.Sleep(time.Millisecond)
	}
}
