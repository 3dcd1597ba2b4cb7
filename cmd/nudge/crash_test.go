package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nudge/internal/sandbox"
)

// buildBinary builds nudge once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func nudgeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nudge-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "nudge")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// proc is a `nudge serve` child process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan error
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServe(t *testing.T, cfgPath, logPath string) *proc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nudgeBinary(t), "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

func (p *proc) waitReady(url string) {
	p.t.Helper()
	p.url = url
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-p.done:
			p.t.Fatalf("nudge exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.t.Fatal("nudge did not become ready")
}

const crashConfig = `
server: {listen: "%s", admin_token: admin}
database: sqlite:%s
retry: {max_attempts: 8, base_delay: 50ms, max_delay: 500ms}
defaults: {country: KE}
paygee: {webhook_token: hook}
chatarchitect: {api_url: "%s", app_id: a, app_secret: b, webhook_token: c, rate: 2000}
workflows:
  - id: remind
    on: paygee.loan_state
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["{{payload.n}}"]}}}]
`

// crashSetup starts a fake ChatArchitect that answers every request after delay, and writes
// a config for a nudge serve on a free port that uses it.
func crashSetup(t *testing.T, delay time.Duration) (ca *sandbox.ChatArchitect, cfgPath, logPath, url string) {
	t.Helper()
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "a", AppSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	ca.Faults().Push(sandbox.Fault{Delay: delay, Times: 1 << 30})
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath = filepath.Join(dir, "nudge.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(crashConfig, addr, filepath.Join(dir, "nudge.db"), ca.URL())), 0o600)
	return ca, cfgPath, filepath.Join(dir, "nudge.log"), "http://" + addr
}

func phoneOf(i int) string { return fmt.Sprintf("2547%08d", 10000000+i) }

// A kill -9 in the middle of a burst loses no acknowledged event: after a restart every
// acknowledged event's message goes out, and repeats are at most the sends in flight at the kill.
func TestCrashMidBurstLosesNothing(t *testing.T) {
	// A slow provider keeps sends in flight when the kill comes.
	ca, cfgPath, logPath, url := crashSetup(t, 30*time.Millisecond)

	const total = 400
	acked := make([]bool, total)
	var mu sync.Mutex
	post := func(i int) bool {
		body := fmt.Sprintf(`{"id":"evt-%d","state":"late","payload":{"n":"%d","customer_phone":"+%s"}}`, i, i, phoneOf(i))
		req, _ := http.NewRequest("POST", url+"/hooks/paygee/loan-state", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Nudge-Token", "hook")
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted
	}
	burst := func(from, to int, stopAfterAcks int, kill func()) {
		var wg sync.WaitGroup
		next := from
		ackedNow := 0
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if next >= to {
						mu.Unlock()
						return
					}
					i := next
					next++
					mu.Unlock()
					ok := post(i)
					mu.Lock()
					if ok {
						acked[i] = true
						ackedNow++
						if kill != nil && ackedNow == stopAfterAcks {
							kill()
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}

	p := startServe(t, cfgPath, logPath)
	p.waitReady(url)
	killed := false
	burst(0, total, total/2, func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		killed = true
	})
	if !killed {
		t.Fatal("the burst ended before the kill")
	}
	<-p.done
	sentAtKill := len(ca.Sent())
	firstRound := 0
	for _, a := range acked {
		if a {
			firstRound++
		}
	}
	t.Logf("killed after %d acknowledged events, %d sends", firstRound, sentAtKill)

	p = startServe(t, cfgPath, logPath)
	p.waitReady(url)
	var rest []int
	for i, a := range acked {
		if !a {
			rest = append(rest, i)
		}
	}
	for _, i := range rest {
		if post(i) {
			acked[i] = true
		}
	}
	for i, a := range acked {
		if !a {
			t.Fatalf("event %d never acknowledged", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := ca.WaitSent(ctx, total); err != nil {
		t.Fatalf("after the restart only %d of %d events were sent: %v\n%s", len(ca.Sent()), total, err, tail(logPath))
	}
	// Let stragglers land, then count.
	time.Sleep(300 * time.Millisecond)
	perDest := map[string]int{}
	for _, m := range ca.Sent() {
		perDest[m.Destination]++
	}
	repeats := 0
	for i := 0; i < total; i++ {
		n := perDest[phoneOf(i)]
		if n == 0 {
			t.Fatalf("event %d was acknowledged but never sent", i)
		}
		repeats += n - 1
	}
	// Sends in flight at the kill are those the provider accepted but nudge had not yet
	// recorded; with 100 workers there can be at most that many.
	t.Logf("%d repeats after the kill", repeats)
	if repeats > 100 {
		t.Fatalf("%d repeats: more than the sends that can be in flight", repeats)
	}
	var runs struct {
		Runs []map[string]any `json:"runs"`
	}
	req, _ := http.NewRequest("GET", url+"/api/v1/runs?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer admin")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&runs)
		resp.Body.Close()
		succeeded := 0
		for _, r := range runs.Runs {
			if r["status"] == "succeeded" {
				succeeded++
			}
		}
		if succeeded == total && len(runs.Runs) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs succeeded (%d runs)", succeeded, total, len(runs.Runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGTERM stops accepting, finishes in-flight work and exits 0 within the bound; a restart
// finishes whatever was left.
func TestGracefulShutdown(t *testing.T) {
	ca, cfgPath, logPath, url := crashSetup(t, 200*time.Millisecond)
	p := startServe(t, cfgPath, logPath)
	p.waitReady(url)
	const n = 20
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"id":"g-%d","state":"late","payload":{"n":"%d","customer_phone":"+%s"}}`, i, i, phoneOf(i))
		resp, err := http.Post(url+"/hooks/paygee/loan-state?token=hook", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("post %d: %v", i, err)
		}
		resp.Body.Close()
	}
	// Stop while sends are in flight (the provider takes 200 ms to answer each).
	for deadline := time.Now().Add(10 * time.Second); ca.Requests() < 3; { // the template lookup, then sends
		if time.Now().After(deadline) {
			t.Fatal("no send started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	inFlight := ca.Requests()
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, tail(logPath))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("nudge did not exit within 40s of SIGTERM")
	}
	t.Logf("exited %v after SIGTERM with %d of %d sent", time.Since(start).Round(time.Millisecond), len(ca.Sent()), n)
	if len(ca.Sent()) < inFlight-1 { // the first request was the template lookup
		t.Fatalf("sends in flight at SIGTERM were abandoned: %d requests, %d sent", inFlight, len(ca.Sent()))
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("still accepting after exit")
	}
	p = startServe(t, cfgPath, logPath)
	p.waitReady(url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ca.WaitSent(ctx, n); err != nil {
		t.Fatalf("after restart %d of %d sent", len(ca.Sent()), n)
	}
	if len(ca.Sent()) > n {
		t.Fatalf("%d sends for %d events after a graceful stop", len(ca.Sent()), n)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
