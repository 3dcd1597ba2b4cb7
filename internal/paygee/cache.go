package paygee

import (
	"context"
	"sync"
	"time"
)

// DefaultCacheTTL is how long a Cache keeps an answer when NewCache is given 0.
const DefaultCacheTTL = 5 * time.Minute

// Cache wraps FindCustomer with a short-lived cache, for the lookups of `to: customer`
// without a phone: a burst of events for one customer makes one call. Found and not-found
// answers are both kept for the TTL; errors are not kept. Concurrent lookups of one id
// share one call. It is safe for concurrent use.
type Cache struct {
	client *Client
	ttl    time.Duration
	now    func() time.Time

	mu        sync.Mutex
	entries   map[string]cacheEntry
	calls     map[string]*cacheCall // lookups in flight
	lastSweep time.Time
}

type cacheEntry struct {
	customer Customer
	found    bool
	expires  time.Time
}

// cacheCall is one FindCustomer shared by every caller that asks for its id meanwhile. It
// runs on its own context, canceled when the last caller waiting for it gives up, so that
// one caller's deadline does not fail the others.
type cacheCall struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int  // guarded by Cache.mu
	stale   bool // guarded by Cache.mu: Forget came during the call; do not keep its answer

	customer Customer // set before done is closed
	found    bool
	err      error
}

// NewCache returns a Cache over c whose answers live for ttl (0 → DefaultCacheTTL).
func NewCache(c *Client, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &Cache{
		client:  c,
		ttl:     ttl,
		now:     time.Now,
		entries: map[string]cacheEntry{},
		calls:   map[string]*cacheCall{},
	}
}

// FindCustomer is Client.FindCustomer through the cache. Each caller gets its own copy of
// the customer.
func (c *Cache) FindCustomer(ctx context.Context, id string) (Customer, bool, error) {
	if err := checkID("find customer", id); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return cloneCustomer(e.customer), e.found, nil
	}
	call, ok := c.calls[id]
	if !ok {
		callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		call = &cacheCall{done: make(chan struct{}), cancel: cancel}
		c.calls[id] = call
		go c.fetch(callCtx, id, call)
	}
	call.waiters++
	c.mu.Unlock()

	select {
	case <-call.done:
		return cloneCustomer(call.customer), call.found, call.err
	case <-ctx.Done():
		c.mu.Lock()
		call.waiters--
		if call.waiters == 0 {
			// Nobody wants the answer any more: stop the call, and let the next caller
			// start a fresh one rather than join one that is being canceled.
			call.cancel()
			if c.calls[id] == call {
				delete(c.calls, id)
			}
		}
		c.mu.Unlock()
		return nil, false, networkError("find customer", ctx.Err())
	}
}

// Forget drops what the cache holds for id, e.g. after the caller updated that customer.
// A lookup in flight still answers those waiting for it, but its answer is not kept.
func (c *Cache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
	if call, ok := c.calls[id]; ok {
		call.stale = true
		delete(c.calls, id)
	}
}

func (c *Cache) fetch(ctx context.Context, id string, call *cacheCall) {
	cust, found, err := c.client.FindCustomer(ctx, id)
	call.cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	call.customer, call.found, call.err = cust, found, err
	if c.calls[id] == call {
		delete(c.calls, id)
	}
	if err == nil && !call.stale {
		now := c.now()
		c.sweepLocked(now)
		c.entries[id] = cacheEntry{customer: cust, found: found, expires: now.Add(c.ttl)}
	}
	close(call.done)
}

// sweepLocked drops expired entries, at most once per TTL, so that the cache stays as
// small as the set of customers looked up lately.
func (c *Cache) sweepLocked(now time.Time) {
	if now.Sub(c.lastSweep) < c.ttl {
		return
	}
	c.lastSweep = now
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
}

func cloneCustomer(c Customer) Customer {
	if c == nil {
		return nil
	}
	return Customer(cloneFields(c))
}
