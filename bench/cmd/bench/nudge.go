package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

const (
	paygeeToken   = "bench-paygee-token"
	signingSecret = "bench-signing-secret"
	caUser        = "bench-app"
	caPass        = "bench-secret"
)

// workflowYAML is the flow every scenario runs: state = days_late and days_late = 5 →
// one WhatsApp send to the customer (a template: the 24-hour window is closed).
const workflowYAML = `workflows:
  - id: late-5-days
    on: paygee.loan_state
    if:
      state: days_late
      payload.days_late: 5
    do:
      - send_whatsapp:
          to: customer
          text: "Habari {{payload.customer_name | first_name}}, your payment is {{payload.days_late}} days late."
          template:
            name: payment_reminder
            language: en
            params: ["{{payload.customer_name | first_name}}", "{{payload.days_late}}"]
`

// database hands out a fresh database per nudge process.
type database struct {
	adminDSN string // "" for SQLite
	seq      int
}

// fresh returns a DSN for a new, empty database, a function giving its size in bytes and a
// cleanup.
func (d *database) fresh(dir string) (dsn string, size func() int64, drop func(), err error) {
	if d.adminDSN == "" {
		file := filepath.Join(dir, "nudge.db")
		return "sqlite:" + file, func() int64 {
			var n int64
			for _, s := range []string{"", "-wal", "-shm"} {
				if fi, err := os.Stat(file + s); err == nil {
					n += fi.Size()
				}
			}
			return n
		}, func() {}, nil
	}
	d.seq++
	name := fmt.Sprintf("nudge_bench_%d_%d", os.Getpid(), d.seq)
	admin, err := sql.Open("pgx", d.adminDSN)
	if err != nil {
		return "", nil, nil, err
	}
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		return "", nil, nil, fmt.Errorf("create database: %w", err)
	}
	u, _ := url.Parse(d.adminDSN)
	u.Path = "/" + name
	dsn = u.String()
	size = func() int64 {
		var n int64
		admin.QueryRow(`SELECT pg_database_size($1)`, name).Scan(&n)
		return n
	}
	drop = func() {
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		admin.Close()
	}
	return dsn, size, drop, nil
}

// nudgeProc is a nudge serve process on a fresh database.
type nudgeProc struct {
	cmd     *exec.Cmd
	dir     string
	URL     string
	Pprof   string // base URL of the pprof endpoint, "" without -pprof
	size    func() int64
	drop    func()
	logFile *os.File
	exited  chan error
}

type nudgeOpts struct {
	bin     string
	db      *database
	sinkURL string
	rate    int
	pprof   bool
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startNudge(o nudgeOpts) (*nudgeProc, error) {
	dir, err := os.MkdirTemp("", "nudge-bench-")
	if err != nil {
		return nil, err
	}
	dsn, size, drop, err := o.db.fresh(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`server:
  listen: 127.0.0.1:%d
  admin_token: bench-admin-token
database: %q
defaults: {country: KE}
retry: {max_attempts: 3, base_delay: 1s, max_delay: 10s}
paygee:
  webhook_token: %s
  signing_secret: %s
chatarchitect:
  api_url: %s
  app_id: %s
  app_secret: %s
  webhook_token: bench-ca-token
  rate: %d
`, port, dsn, paygeeToken, signingSecret, o.sinkURL, caUser, caPass, o.rate) + workflowYAML
	cfgPath := filepath.Join(dir, "nudge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "nudge.log"))
	if err != nil {
		return nil, err
	}
	p := &nudgeProc{dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d", port), size: size, drop: drop, logFile: logFile, exited: make(chan error, 1)}
	p.cmd = exec.Command(o.bin, "serve", "--config", cfgPath)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.Env = os.Environ()
	if o.pprof {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", pp)
		p.cmd.Env = append(p.cmd.Env, "NUDGE_BENCH_PPROF="+addr)
		p.Pprof = "http://" + addr
	}
	if err := p.cmd.Start(); err != nil {
		p.cleanup()
		return nil, err
	}
	go func() { p.exited <- p.cmd.Wait() }()
	if err := awaitReady(answers("GET", p.URL+"/healthz", 200), p.exited, time.Minute, 50*time.Millisecond); err != nil {
		log := p.logTail()
		p.Stop()
		return nil, fmt.Errorf("nudge %v: %s", err, log)
	}
	return p, nil
}

func (p *nudgeProc) Pid() int { return p.cmd.Process.Pid }

// Size is the database's size in bytes (SQLite: the file, its WAL and shm).
func (p *nudgeProc) Size() int64 { return p.size() }

func (p *nudgeProc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "nudge.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop sends SIGTERM, waits up to 40s (then kills), and removes the database.
func (p *nudgeProc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cleanup()
}

func (p *nudgeProc) cleanup() {
	p.logFile.Close()
	p.drop()
	os.RemoveAll(p.dir)
}

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// rssSampler samples VmRSS of pid every interval until stopped.
type rssSample struct {
	T     time.Duration
	RSS   int64
	Phase string
}

type rssSampler struct {
	stop    chan struct{}
	done    chan struct{}
	phase   chan string
	samples []rssSample
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{}), phase: make(chan string, 4)}
	go func() {
		defer close(s.done)
		start, phase := time.Now(), "ingest"
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case ph := <-s.phase:
				phase = ph
			case <-t.C:
				s.samples = append(s.samples, rssSample{time.Since(start), procStatus(pid, "VmRSS"), phase})
			}
		}
	}()
	return s
}

func (s *rssSampler) Phase(p string) { s.phase <- p }
func (s *rssSampler) Stop() []rssSample {
	close(s.stop)
	<-s.done
	return s.samples
}

// cpuProfile fetches a CPU profile of seconds from a nudgeprof process into file, in the
// background; wait returns once it is written (or failed).
func cpuProfile(ctx context.Context, base string, seconds int, file string) (wait func() error) {
	errc := make(chan error, 1)
	go func() { errc <- fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds), file) }()
	return func() error { return <-errc }
}

func fetch(ctx context.Context, u, file string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadFrom(resp.Body)
	return err
}
