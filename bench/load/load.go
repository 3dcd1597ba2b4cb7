// Package load posts signed Paygee webhooks to a URL at a bounded count, concurrency and
// (optionally) rate, and records the latency of every acknowledgement. It only ever talks
// to loopback addresses.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"nudge/internal/server"
)

// Options configure one load run. Count and MaxDuration both bound it.
type Options struct {
	URL         string        // e.g. http://127.0.0.1:8080/hooks/paygee/loan-state
	Token       string        // sent as X-Nudge-Token
	Secret      string        // signs X-Paygee-Signature; "" = unsigned
	Concurrency int           // requests in flight at most
	Count       int           // events to post
	Rate        float64       // events per second (open loop); 0 = as fast as acknowledged (closed loop)
	MaxDuration time.Duration // the run stops here even if Count is not reached
	Body        func(i int) []byte
	// FirstIndex offsets the event index handed to Body (distinct ids across runs).
	FirstIndex int
}

// Result is what a run measured.
type Result struct {
	Sent, OK, Failed int
	Statuses         map[int]int
	Elapsed          time.Duration // first post to last acknowledgement
	Latencies        []time.Duration
	// PostedAt[i] is when event FirstIndex+i was due to be posted (unix ns), 0 if never.
	PostedAt []int64
	Start    time.Time
	FirstErr string
}

// PerSecond is acknowledged (2xx) events per second.
func (r *Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the p-th percentile (0..100) of the latencies.
func (r *Result) Percentile(p float64) time.Duration {
	return Percentile(r.Latencies, p)
}

// Percentile of an unsorted slice (it is sorted in place).
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if !sort.SliceIsSorted(d, func(i, j int) bool { return d[i] < d[j] }) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	}
	k := int(float64(len(d)-1) * p / 100)
	return d[k]
}

// CheckLoopback refuses a URL whose host is not a loopback address.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load: %s is not a loopback address", u.Host)
	}
	return nil
}

// Client returns an HTTP client that keeps n connections open to one host.
func Client(n int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: n + 8, MaxIdleConnsPerHost: n + 8, MaxConnsPerHost: 0,
			IdleConnTimeout: 30 * time.Second, DisableCompression: true,
		},
	}
}

// Run posts the events and waits for every answer.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := CheckLoopback(o.URL); err != nil {
		return nil, err
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.MaxDuration)
	defer cancel()
	client := Client(o.Concurrency)
	defer client.CloseIdleConnections()

	type ticket struct {
		i   int
		due time.Time
	}
	tickets := make(chan ticket, o.Concurrency)
	res := &Result{Statuses: map[int]int{}, Latencies: make([]time.Duration, 0, o.Count), PostedAt: make([]int64, o.Count)}
	lat := make([]time.Duration, o.Count)
	done := make([]bool, o.Count)
	var mu sync.Mutex
	var sent atomic.Int64
	res.Start = time.Now()
	var last atomic.Int64
	go func() {
		defer close(tickets)
		start := time.Now()
		for i := 0; i < o.Count; i++ {
			due := time.Now()
			if o.Rate > 0 {
				due = start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case tickets <- ticket{i, due}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tickets {
				body := o.Body(o.FirstIndex + t.i)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
				if err != nil {
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				if o.Token != "" {
					req.Header.Set("X-Nudge-Token", o.Token)
				}
				if o.Secret != "" {
					req.Header.Set("X-Paygee-Signature", server.Sign(body, o.Secret))
				}
				res.PostedAt[t.i] = t.due.UnixNano()
				sent.Add(1)
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				now := time.Now()
				last.Store(now.UnixNano())
				mu.Lock()
				res.Statuses[status]++
				if status >= 200 && status < 300 {
					lat[t.i], done[t.i] = now.Sub(t.due), true
					res.OK++
				} else {
					res.Failed++
					if res.FirstErr == "" {
						if err != nil {
							res.FirstErr = err.Error()
						} else {
							res.FirstErr = fmt.Sprintf("status %d", status)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Sent = int(sent.Load())
	if l := last.Load(); l > 0 {
		res.Elapsed = time.Unix(0, l).Sub(res.Start)
	}
	for i, ok := range done {
		if ok {
			res.Latencies = append(res.Latencies, lat[i])
		}
	}
	return res, nil
}

// Phone is the distinct customer phone of event i (Kenyan mobile, valid E.164), so that
// nudge's one-message-per-second-per-recipient pacing never delays a send.
func Phone(i int) string { return fmt.Sprintf("+25471%07d", i%10_000_000) }

// PhoneIndex inverts Phone on the digits a sink receives (25471xxxxxxx); -1 if it is not one.
func PhoneIndex(digits string) int {
	if len(digits) != 12 || digits[:5] != "25471" {
		return -1
	}
	n := 0
	for _, c := range digits[5:] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// DaysLate returns a Paygee days_late event body for index i with the given days_late
// value and a distinct id and phone.
func DaysLate(run string, days int) func(i int) []byte {
	return func(i int) []byte {
		b, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("%s-%d", run, i), "state": "days_late", "previous_state": "late",
			"timestamp": "2026-12-01T06:00:00Z",
			"payload": map[string]any{
				"loan_id": fmt.Sprintf("L-%d", i), "customer_id": fmt.Sprintf("C-%d", i), "days_late": days,
				"customer_name": "Amina Otieno", "customer_phone": Phone(i),
				"agent_name": "Peter", "agent_phone": "+254700000001",
				"balance": 1500, "currency": "KES", "language": "en",
			},
		})
		return b
	}
}
