package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"nudge/bench/load"
	"nudge/bench/sink"
	"nudge/internal/chatarchitect"
	"nudge/internal/sandbox"
)

type bench struct {
	f       flags
	bin     string
	stamp   string
	db      *database
	sink    *sink.Sink
	profDir string
	tables  []*table
	notes   []string
	burstMD string
}

// table is one results table; each row holds the values of every run.
type table struct {
	title, note string
	cols        []string // first column is the row name
	formats     []string // per value column
	rows        []*trow
}

type trow struct {
	name string
	runs [][]float64
}

func (b *bench) table(title, note string, cols, formats []string) *table {
	t := &table{title: title, note: note, cols: cols, formats: formats}
	b.tables = append(b.tables, t)
	return t
}

func (t *table) row(name string) *trow {
	r := &trow{name: name}
	t.rows = append(t.rows, r)
	return r
}

func (r *trow) add(vals ...float64) { r.runs = append(r.runs, vals) }

func (r *trow) median(i int) float64 {
	var xs []float64
	for _, v := range r.runs {
		xs = append(xs, v[i])
	}
	return median(xs)
}

func (b *bench) startSink() error {
	s, err := sink.Start(caUser, caPass)
	b.sink = s
	return err
}

func (b *bench) nudgeOpts(rate int) nudgeOpts {
	return nudgeOpts{bin: b.bin, db: b.db, sinkURL: b.sink.URL, rate: rate, pprof: b.f.pprof}
}

// profile starts a CPU profile of p for the first run of a scenario when -pprof is on.
func (b *bench) profile(ctx context.Context, p *nudgeProc, run int, name string) func() {
	if !b.f.pprof || run > 0 || p.Pprof == "" {
		return func() {}
	}
	file := filepath.Join(b.profDir, fmt.Sprintf("%s-%s.pprof", b.stamp, name))
	wait := cpuProfile(ctx, p.Pprof, b.f.pprofSecs, file)
	return func() {
		if err := wait(); err != nil {
			logf("profile %s: %v", name, err)
			return
		}
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=45", b.bin, file).CombinedOutput()
		if err != nil {
			logf("pprof %s: %v", name, err)
		}
		os.WriteFile(strings.TrimSuffix(file, ".pprof")+".top.txt", top, 0o644)
		cum, _ := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=60", b.bin, file).CombinedOutput()
		os.WriteFile(strings.TrimSuffix(file, ".pprof")+".cum.txt", cum, 0o644)
		logf("profile written: %s (+ .top.txt, .cum.txt)", file)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sinkCheck measures whether the sandbox fake or the lean sink could be the bottleneck:
// nudge's own ChatArchitect client sending template messages at 16 concurrent.
func (b *bench) sinkCheck(ctx context.Context) error {
	t := b.table("Sink check: can the provider stand-in keep up?",
		"nudge's ChatArchitect client (as configured by nudge: default transport) sending template messages straight to the stand-in, 16 concurrent, no nudge in between.",
		[]string{"stand-in", "sends/s", "p50 ms", "p99 ms"}, []string{"%.0f", "%.2f", "%.2f"})
	fake, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: caUser, AppSecret: caPass})
	if err != nil {
		return err
	}
	defer fake.Close()
	n := pick(b.f.quick, 3000, 10000)
	for _, target := range []struct{ name, url string }{{"sandbox.StartChatArchitect (the fake)", fake.URL()}, {"bench/sink (lean)", b.sink.URL}} {
		r := t.row(target.name)
		for run := 0; run < b.f.runs; run++ {
			fake.Reset()
			c := chatarchitect.New(chatarchitect.Config{BaseURL: target.url, AppID: caUser, AppSecret: caPass})
			lat := make([]time.Duration, n)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= n || cctx.Err() != nil {
							return
						}
						t0 := time.Now()
						_, err := c.Send(cctx, chatarchitect.Message{To: load.Phone(i),
							Template: &chatarchitect.Template{Name: "payment_reminder", Language: "en", Params: []string{"Amina", "5"}}})
						lat[i] = time.Since(t0)
						if err != nil {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			cancel()
			el := time.Since(start)
			if f := failed.Load(); f > 0 {
				return fmt.Errorf("sink check on %s: %d sends failed", target.name, f)
			}
			r.add(float64(n)/el.Seconds(), ms(load.Percentile(lat, 50)), ms(load.Percentile(lat, 99)))
			logf("sink check %s run %d: %.0f sends/s", target.name, run+1, float64(n)/el.Seconds())
		}
	}
	return nil
}

func (b *bench) hookURL(base string) string { return base + "/hooks/paygee/loan-state" }

// ingest: signed webhooks whose events match no workflow (days_late = 4 against a workflow
// that wants 5): each 202 means the event row is committed, nothing is queued.
func (b *bench) ingest(ctx context.Context) error {
	t := b.table("Ingest (events that match no workflow)",
		"Signed `days_late` webhooks with `days_late: 4`; the workflow wants 5, so the 202 covers: token, HMAC, JSON decode, condition evaluation, event row committed at synchronous=FULL. Closed loop unless a rate is given; latency is from the scheduled send to the 202.",
		[]string{"load", "events/s", "p50 ms", "p95 ms", "p99 ms", "non-2xx"}, []string{"%.0f", "%.2f", "%.2f", "%.2f", "%.0f"})
	type lvl struct {
		name        string
		conc, count int
		rate        float64
	}
	var levels []lvl
	for _, c := range strings.Split(b.f.conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("-concurrency: %v", err)
		}
		levels = append(levels, lvl{fmt.Sprintf("concurrency %d", n), n, b.f.count, 0})
	}
	secs := pick(b.f.quick, 5, 20)
	levels = append(levels, lvl{"1,000 events/s offered (open loop, up to 64 in flight)", 64, 1000 * secs, 1000})
	for _, l := range levels {
		r := t.row(l.name)
		for run := 0; run < b.f.runs; run++ {
			p, err := startNudge(b.nudgeOpts(100000))
			if err != nil {
				return err
			}
			done := b.profile(ctx, p, run, fmt.Sprintf("ingest-c%d-r%.0f", l.conc, l.rate))
			res, err := load.Run(ctx, load.Options{URL: b.hookURL(p.URL), Token: paygeeToken, Secret: signingSecret,
				Concurrency: l.conc, Count: l.count, Rate: l.rate, MaxDuration: 3 * time.Minute,
				Body: load.DaysLate(fmt.Sprintf("ing-%d", run), 4)})
			done()
			p.Stop()
			if err != nil {
				return err
			}
			r.add(res.PerSecond(), ms(res.Percentile(50)), ms(res.Percentile(95)), ms(res.Percentile(99)), float64(res.Failed))
			logf("ingest %s run %d: %.0f events/s p99 %.1f ms (%d ok, %d failed %s)", l.name, run+1, res.PerSecond(), ms(res.Percentile(99)), res.OK, res.Failed, res.FirstErr)
		}
	}
	return nil
}

// e2eResult is one end-to-end run: events posted, messages at the sink.
type e2eResult struct {
	ackPerSec, msgPerSec, p50, p99 float64
	delivered                      int
}

// e2eLoad posts count matching events at concurrency conc to url and waits (bounded) for
// every message at the sink.
func (b *bench) e2eLoad(ctx context.Context, hookURL string, conc, count int, tag string, wait time.Duration) (e2eResult, error) {
	b.sink.Track(count, load.PhoneIndex)
	res, err := load.Run(ctx, load.Options{URL: hookURL, Token: paygeeToken, Secret: signingSecret,
		Concurrency: conc, Count: count, MaxDuration: 3 * time.Minute, Body: load.DaysLate(tag, 5)})
	if err != nil {
		return e2eResult{}, err
	}
	if res.Failed > 0 {
		logf("%s: %d of %d posts failed (%s)", tag, res.Failed, res.Sent, res.FirstErr)
	}
	deadline := time.Now().Add(wait)
	var recv []int64
	for {
		recv = b.sink.Received()
		got := 0
		for _, t := range recv {
			if t != 0 {
				got++
			}
		}
		if got >= res.OK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lats []time.Duration
	var last int64
	for i, t := range recv {
		if t == 0 || res.PostedAt[i] == 0 {
			continue
		}
		lats = append(lats, time.Duration(t-res.PostedAt[i]))
		last = max(last, t)
	}
	out := e2eResult{ackPerSec: res.PerSecond(), delivered: len(lats)}
	if last > 0 {
		out.msgPerSec = float64(len(lats)) / time.Unix(0, last).Sub(res.Start).Seconds()
	}
	out.p50, out.p99 = ms(load.Percentile(lats, 50)), ms(load.Percentile(lats, 99))
	return out, nil
}

var e2eCols = []string{"system", "messages/s at the sink", "p50 ms webhook→sink", "p99 ms webhook→sink", "webhooks acknowledged/s", "delivered"}
var e2eFmts = []string{"%.0f", "%.1f", "%.1f", "%.0f", "%.0f"}

func (b *bench) e2eTable() *table {
	for _, t := range b.tables {
		if strings.HasPrefix(t.title, "End to end") {
			return t
		}
	}
	return b.table("End to end (each event → one WhatsApp template send at the sink), 16 concurrent",
		"Signed `days_late: 5` webhooks, each with a distinct phone (nudge paces 1 message/s per recipient); `chatarchitect.rate: 100000` so the rate limit is not what is measured. messages/s = messages at the sink / (last sink receipt − first post). nudge answers 202 once the event, its run and its job are committed, and sends afterwards; Node-RED answers after the sink call and keeps nothing; n8n answers after the sink call and saves each execution as n8n does by default (an execution row and its run data in SQLite, node and workflow events in n8nEventLog.log).",
		e2eCols, e2eFmts)
}

func (b *bench) endToEnd(ctx context.Context) error {
	r := b.e2eTable().row("nudge (" + b.dbName() + ")")
	for run := 0; run < b.f.runs; run++ {
		p, err := startNudge(b.nudgeOpts(100000))
		if err != nil {
			return err
		}
		done := b.profile(ctx, p, run, "e2e")
		res, err := b.e2eLoad(ctx, b.hookURL(p.URL), 16, b.f.count, fmt.Sprintf("e2e-%d", run), 5*time.Minute)
		done()
		p.Stop()
		if err != nil {
			return err
		}
		r.add(res.msgPerSec, res.p50, res.p99, res.ackPerSec, float64(res.delivered))
		logf("e2e nudge run %d: %.0f msgs/s, p50 %.1f ms p99 %.1f ms, acks %.0f/s, delivered %d", run+1, res.msgPerSec, res.p50, res.p99, res.ackPerSec, res.delivered)
	}
	return nil
}

func (b *bench) dbName() string {
	if b.db.adminDSN == "" {
		return "SQLite, synchronous=FULL"
	}
	return "PostgreSQL"
}

func (b *bench) nodeRED(ctx context.Context) error {
	n, err := startNodeRED(b.f.nodeRED, "bench/peers/node-red", b.sink.URL)
	if err != nil {
		return err
	}
	defer n.Stop()
	r := b.e2eTable().row("Node-RED 4.1.8 (in memory)")
	// One short warm-up so that V8 has compiled the flow.
	if _, err := b.e2eLoad(ctx, b.hookURL(n.URL), 16, min(1000, b.f.count), "nr-warm", time.Minute); err != nil {
		return err
	}
	for run := 0; run < b.f.runs; run++ {
		res, err := b.e2eLoad(ctx, b.hookURL(n.URL), 16, b.f.count, fmt.Sprintf("nr-%d", run), time.Minute)
		if err != nil {
			return err
		}
		r.add(res.msgPerSec, res.p50, res.p99, res.ackPerSec, float64(res.delivered))
		logf("e2e node-red run %d: %.0f msgs/s, p50 %.1f ms p99 %.1f ms, delivered %d, peak RSS %s", run+1, res.msgPerSec, res.p50, res.p99, res.delivered, mib(procStatus(n.Pid(), "VmHWM")))
	}
	return nil
}

// n8n runs the same flow as nodeRED on n8n, one process for the warm-up and all runs.
func (b *bench) n8n(ctx context.Context) error {
	n, err := startN8N(b.f.n8n, "bench/peers/n8n", b.sink.URL)
	if err != nil {
		return err
	}
	defer n.Stop()
	t := b.e2eTable()
	r := t.row("n8n 2.8.4 (SQLite, executions saved)")
	// n8n does under 100 executions/s here: the full pass's 20,000 events would outlast the
	// load generator's 3-minute limit, so its runs are capped.
	count := min(b.f.count, 3000)
	if count < b.f.count {
		t.note += fmt.Sprintf(" n8n's runs post %d events, not %d: at under 100 executions/s, 20,000 would outlast the load generator's 3-minute limit.", count, b.f.count)
	}
	if _, err := b.e2eLoad(ctx, b.hookURL(n.URL), 16, min(1000, count), "n8n-warm", time.Minute); err != nil {
		return err
	}
	for run := 0; run < b.f.runs; run++ {
		res, err := b.e2eLoad(ctx, b.hookURL(n.URL), 16, count, fmt.Sprintf("n8n-%d", run), time.Minute)
		if err != nil {
			return err
		}
		r.add(res.msgPerSec, res.p50, res.p99, res.ackPerSec, float64(res.delivered))
		logf("e2e n8n run %d: %.0f msgs/s, p50 %.1f ms p99 %.1f ms, delivered %d, peak RSS %s (+ task runner %s)", run+1, res.msgPerSec, res.p50, res.p99, res.delivered, mib(procStatus(n.Pid(), "VmHWM")), mib(n.runnerHWM()))
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// burst: N matching events as fast as nudge takes them (64 concurrent) while the workers
// drain at chatarchitect.rate; then the drain rate is measured over a window. One run.
func (b *bench) burst(ctx context.Context) error {
	n := b.f.burst
	p, err := startNudge(b.nudgeOpts(b.f.drainRate))
	if err != nil {
		return err
	}
	defer p.Stop()
	logf("burst: %d events at 64 concurrent, drain rate %d/s", n, b.f.drainRate)
	rss := sampleRSS(p.Pid(), time.Second)
	done := b.profile(ctx, p, 0, "burst-ingest")
	start := time.Now()
	// progress, so that a long full run shows life.
	stopProg := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProg:
				return
			case <-t.C:
				logf("burst: %s in, %d messages at the sink, RSS %s", time.Since(start).Round(time.Second), b.sink.Count(), mib(procStatus(p.Pid(), "VmRSS")))
			}
		}
	}()
	sinkBefore := b.sink.Count()
	res, err := load.Run(ctx, load.Options{URL: b.hookURL(p.URL), Token: paygeeToken, Secret: signingSecret,
		Concurrency: 64, Count: n, MaxDuration: b.f.burstMax, Body: load.DaysLate("burst", 5)})
	close(stopProg)
	done()
	if err != nil {
		rss.Stop()
		return err
	}
	ingest := res.Elapsed
	sentDuringIngest := b.sink.Count() - sinkBefore
	rssAfterIngest := procStatus(p.Pid(), "VmRSS")
	logf("burst: ingested %d in %s (%.0f events/s, %d failed %s); %d sent meanwhile", res.OK, ingest.Round(time.Millisecond), res.PerSecond(), res.Failed, res.FirstErr, sentDuringIngest)
	rss.Phase("drain")
	c0, t0 := b.sink.Count(), time.Now()
	time.Sleep(b.f.drainWindow)
	c1, el := b.sink.Count(), time.Since(t0)
	achieved := float64(c1-c0) / el.Seconds()
	samples := rss.Stop()
	hwm := procStatus(p.Pid(), "VmHWM")
	size := p.Size()
	logf("burst: drain %.1f/s of %d/s configured; peak RSS %s; database %s", achieved, b.f.drainRate, mib(hwm), mib(size))

	var ingMax, drMin, drMax int64
	drMin = 1 << 62
	for _, s := range samples {
		if s.Phase == "ingest" {
			ingMax = max(ingMax, s.RSS)
		} else {
			drMin, drMax = min(drMin, s.RSS), max(drMax, s.RSS)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Morning burst (%s, one run)\n\n", b.dbName())
	fmt.Fprintf(&sb, "%d signed `days_late: 5` webhooks (each matches, so each stores an event and a run, and its River job: one per run, or shared by the runs stored in one transaction) posted at 64 concurrent, while the workers send at `chatarchitect.rate: %d`; then the drain is measured for %s.\n\n", n, b.f.drainRate, b.f.drainWindow)
	fmt.Fprintf(&sb, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&sb, "| events acknowledged | %d of %d (%d non-2xx) |\n", res.OK, n, res.Failed)
	fmt.Fprintf(&sb, "| ingest time | %s |\n", ingest.Round(time.Millisecond))
	fmt.Fprintf(&sb, "| ingest rate | %.0f events/s |\n", res.PerSecond())
	if res.OK < n {
		fmt.Fprintf(&sb, "| ingest stopped by -burst-max | %s; at this rate %d events take %s |\n", b.f.burstMax, n, (time.Duration(float64(n)/res.PerSecond()) * time.Second).Round(time.Second))
	}
	fmt.Fprintf(&sb, "| 202 latency p50 / p99 | %.1f / %.1f ms |\n", ms(res.Percentile(50)), ms(res.Percentile(99)))
	fmt.Fprintf(&sb, "| messages sent during ingest | %d (%.1f/s) |\n", sentDuringIngest, float64(sentDuringIngest)/ingest.Seconds())
	fmt.Fprintf(&sb, "| drain rate after ingest | %.1f/s of %d/s configured (accuracy %.1f%%) |\n", achieved, b.f.drainRate, 100*achieved/float64(b.f.drainRate))
	fmt.Fprintf(&sb, "| peak RSS (VmHWM) | %s |\n", mib(hwm))
	fmt.Fprintf(&sb, "| RSS at end of ingest | %s |\n", mib(rssAfterIngest))
	if drMax > 0 {
		fmt.Fprintf(&sb, "| RSS during drain (min–max) | %s – %s |\n", mib(drMin), mib(drMax))
	}
	fmt.Fprintf(&sb, "| database size after | %s |\n", mib(size))
	fmt.Fprintf(&sb, "\nRSS over time (MiB, every %ds): ", max(1, len(samples)/30))
	step := max(1, len(samples)/30)
	for i := 0; i < len(samples); i += step {
		s := samples[i]
		tag := ""
		if s.Phase == "drain" && (i == 0 || samples[max(0, i-step)].Phase == "ingest") {
			tag = " | drain:"
		}
		fmt.Fprintf(&sb, "%s %.0f", tag, float64(s.RSS)/(1<<20))
	}
	sb.WriteString("\n")
	b.burstMD = sb.String()
	// the RSS series as CSV, for plots
	csv := "seconds,rss_bytes,phase\n"
	for _, s := range samples {
		csv += fmt.Sprintf("%.0f,%d,%s\n", s.T.Seconds(), s.RSS, s.Phase)
	}
	os.WriteFile(filepath.Join(b.f.out, b.stamp+"-burst-rss.csv"), []byte(csv), 0o644)
	return nil
}

func (b *bench) report() string {
	var sb strings.Builder
	mode := "full"
	if b.f.quick {
		mode = "quick (-quick)"
	}
	fmt.Fprintf(&sb, "# nudge benchmark results, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sb, "Pass: %s; database: %s; %d runs per scenario (medians; throughput also min–max); %d events per ingest/end-to-end run; all traffic on 127.0.0.1.\n\n", mode, b.dbName(), b.f.runs, b.f.count)
	sb.WriteString("| machine | |\n|---|---|\n")
	for _, kv := range machine(b.f.nodeRED, b.f.n8n) {
		fmt.Fprintf(&sb, "| %s | %s |\n", kv[0], kv[1])
	}
	sb.WriteString("\n")
	for _, t := range b.tables {
		if len(t.rows) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "## %s\n\n%s\n\n", t.title, t.note)
		sb.WriteString("| " + strings.Join(t.cols, " | ") + " |\n|" + strings.Repeat("---|", len(t.cols)) + "\n")
		for _, r := range t.rows {
			cells := []string{r.name}
			for i, f := range t.formats {
				c := fmt.Sprintf(f, r.median(i))
				if i == 0 && len(r.runs) > 1 {
					lo, hi := r.runs[0][0], r.runs[0][0]
					for _, v := range r.runs {
						lo, hi = min(lo, v[0]), max(hi, v[0])
					}
					c += fmt.Sprintf(" ("+f+"–"+f+")", lo, hi)
				}
				cells = append(cells, c)
			}
			sb.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
		// One ratio line per peer (Node-RED, n8n), named by the first word of its row.
		if strings.HasPrefix(t.title, "End to end") && strings.HasPrefix(t.rows[0].name, "nudge") {
			sep := "\n"
			for _, p := range t.rows[1:] {
				if p.median(0) <= 0 {
					continue
				}
				sb.WriteString(sep)
				sep = ""
				fmt.Fprintf(&sb, "Ratio nudge / %s: throughput %.2f×, p50 latency %.2f×, p99 latency %.2f×.\n", strings.Fields(p.name)[0],
					t.rows[0].median(0)/p.median(0), t.rows[0].median(1)/p.median(1), t.rows[0].median(2)/p.median(2))
			}
		}
		sb.WriteString("\n")
	}
	if b.burstMD != "" {
		sb.WriteString(b.burstMD + "\n")
	}
	for _, n := range b.notes {
		fmt.Fprintf(&sb, "Note: %s\n", n)
	}
	return sb.String()
}

func checkLoopbackDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	return load.CheckLoopback("http://" + u.Host)
}
