//go:build linux

// Package scaleout_test runs several real `nudge serve` processes on one PostgreSQL
// database, the way nudge scales out: any instance takes hooks, the work is shared, a
// repeated event id is one event, the send rate is global, and the death of one instance
// leaves its work to the others.
package scaleout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nudge/internal/sandbox"
	"nudge/internal/store"
	"nudge/internal/store/storetest"
)

const config = `
server: {listen: "%s", admin_token: admin}
database: "%s"
retry: {max_attempts: 8, base_delay: 50ms, max_delay: 500ms}
defaults: {country: KE}
paygee: {webhook_token: hook}
chatarchitect: {api_url: "%s", app_id: a, app_secret: b, webhook_token: c, rate: %g}
workflows:
  - id: remind
    on: paygee.loan_state
    once_per: "{{payload.loan_id}}"
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["{{payload.loan_id}}"]}}}]
`

func phoneOf(i int) string { return fmt.Sprintf("2547%08d", 20000000+i) }

// instance is one `nudge serve` child process.
type instance struct {
	name string
	url  string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited, with err set
	err  error
}

func TestTwoInstancesShareTheWork(t *testing.T) {
	const (
		total = 300
		rate  = 30.0 // messages per second, both instances together
		burst = 30   // the engine's bucket holds one second of sends
	)
	dsn := storetest.PostgresDSN(t) + "&rescue_after=20s"
	bin := build(t)
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "a", AppSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()

	dir := t.TempDir()
	var insts []*instance
	for _, name := range []string{"a", "b"} {
		addr := freeAddr(t)
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, addr, dsn, ca.URL(), rate)), 0o600); err != nil {
			t.Fatal(err)
		}
		insts = append(insts, start(t, bin, name, cfg, "http://"+addr, filepath.Join(dir, name+".log")))
	}
	for _, in := range insts {
		in.waitReady(t)
	}
	a, b := insts[0], insts[1]

	// Every event is posted to both instances at the same moment: one of them stores it,
	// the other answers that it is a duplicate.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	type answer struct {
		status    int
		duplicate bool
		eventID   float64
	}
	answers := make([][2]answer, total)
	for i := range total {
		for k, in := range insts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				answers[i][k].status, answers[i][k].duplicate, answers[i][k].eventID = post(in.url, i)
			}()
		}
	}
	wg.Wait()
	for i, ans := range answers {
		if ans[0].status != 202 || ans[1].status != 202 {
			t.Fatalf("event %d answered %d and %d", i, ans[0].status, ans[1].status)
		}
		if ans[0].duplicate == ans[1].duplicate || ans[0].eventID != ans[1].eventID {
			t.Fatalf("event %d posted to both instances: %+v", i, ans)
		}
	}

	// Kill one instance while the sends go out; the other finishes the work, its own, the
	// killed one's queue, and (once River's rescuer takes them back) the killed one's
	// running jobs.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := ca.WaitSent(ctx, total/3); err != nil {
		t.Fatalf("sends did not start: %v\n%s\n%s", err, tail(a.log), tail(b.log))
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	killedAt := time.Now()
	t.Logf("instance a killed after %d sends", len(ca.Sent()))

	perDest := map[string]int{}
	for {
		for k := range perDest {
			delete(perDest, k)
		}
		for _, m := range ca.Sent() {
			perDest[m.Destination]++
		}
		if len(perDest) == total {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of %d messages were sent after the kill\n%s", len(perDest), total, tail(b.log))
		case <-b.done:
			t.Fatalf("instance b exited: %v\n%s", b.err, tail(b.log))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("all %d messages sent %v after the kill", total, time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // let a straggler show itself
	sent := ca.Sent()

	// Each message once. The only repeats allowed are sends that the killed instance had
	// made and not yet recorded when it died (ChatArchitect has no idempotency key): a
	// message first sent before the kill.
	first := map[string]time.Time{}
	repeats := 0
	for _, m := range sent {
		if at, ok := first[m.Destination]; ok {
			repeats++
			if at.After(killedAt) {
				t.Errorf("message to %s sent twice, first at %v, after the kill", m.Destination, at)
			}
			continue
		}
		first[m.Destination] = m.At
	}
	for i := range total {
		if perDest[phoneOf(i)] == 0 {
			t.Fatalf("event %d was never sent", i)
		}
	}
	t.Logf("%d repeats of sends in flight at the kill", repeats)
	if repeats > 100 {
		t.Fatalf("%d repeats: more than one instance's workers can have in flight", repeats)
	}

	// The rate holds across both instances: any stretch of sends is within the burst plus
	// the rate over its length. The times are when the provider got each send, not when its
	// token was taken: on a loaded machine sends granted up to deliveryJitter apart can
	// arrive together, so a stretch of arrivals is credited that much more time. Two
	// instances each sending at the full rate would still exceed this by far.
	const deliveryJitter = 250 * time.Millisecond
	times := make([]time.Time, len(sent))
	for i, m := range sent {
		times[i] = m.At
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			n := j - i + 1
			if limit := burst + rate*(times[j].Sub(times[i])+deliveryJitter).Seconds(); float64(n) > limit {
				t.Fatalf("%d sends in %v: the limit of %g/s (burst %d) allows %.0f", n, times[j].Sub(times[i]), rate, burst, limit)
			}
		}
	}

	// In the database: one event per id (and one duplicate), one run per event, all
	// succeeded, one message per run.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := st.CountRuns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.RunSucceeded] == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs: %v", counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var events, originals, runs, messages int
	db := st.DB()
	db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&events)
	db.QueryRow(`SELECT COUNT(*) FROM events WHERE duplicate_of IS NULL`).Scan(&originals)
	db.QueryRow(`SELECT COUNT(*) FROM runs`).Scan(&runs)
	db.QueryRow(`SELECT COUNT(*) FROM messages WHERE provider_id <> ''`).Scan(&messages)
	if events != 2*total || originals != total || runs != total || messages != total {
		t.Fatalf("%d events (%d originals), %d runs, %d messages; want %d, %d, %d, %d", events, originals, runs, messages, 2*total, total, total, total)
	}
}

func post(url string, i int) (status int, duplicate bool, eventID float64) {
	body := fmt.Sprintf(`{"id":"evt-%d","state":"late","payload":{"loan_id":"L%d","customer_phone":"+%s"}}`, i, i, phoneOf(i))
	req, _ := http.NewRequest("POST", url+"/hooks/paygee/loan-state", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Nudge-Token", "hook")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, false, 0
	}
	defer resp.Body.Close()
	var ans struct {
		EventID   float64 `json:"event_id"`
		Duplicate bool    `json:"duplicate"`
	}
	json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans.Duplicate, ans.EventID
}

// build compiles nudge into the test's temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nudge")
	out, err := exec.Command("go", "build", "-o", bin, "nudge/cmd/nudge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T, bin, name, cfg, url, logPath string) *instance {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the test binary itself be killed, its instances die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, url: url, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { in.err = cmd.Wait(); logf.Close(); close(in.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	return in
}

func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(in.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-in.done:
			t.Fatalf("instance %s exited before it was ready: %v\n%s", in.name, in.err, tail(in.log))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("instance %s did not become ready\n%s", in.name, tail(in.log))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
