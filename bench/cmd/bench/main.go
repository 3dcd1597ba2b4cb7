// Command bench runs nudge's benchmark scenarios on loopback and writes a results table to
// bench/results/: ingest at several concurrencies, end to end to a sink, a morning burst,
// and the same flow on Node-RED and on n8n. Run from the module root:
//
//	go run ./bench/cmd/bench -quick      # a short pass (a few minutes)
//	go run ./bench/cmd/bench             # the full pass (1,000,000-event burst)
//	go run ./bench/cmd/bench -db postgres://postgres@127.0.0.1:5432/postgres
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

type flags struct {
	quick       bool
	runs        int
	db          string
	count       int
	burst       int
	drainRate   int
	drainWindow time.Duration
	scenarios   string
	pprof       bool
	pprofSecs   int
	nodeRED     string
	n8n         string
	out         string
	burstMax    time.Duration
	src         string
	conc        string
}

func main() {
	var f flags
	home, _ := os.UserHomeDir()
	flag.BoolVar(&f.quick, "quick", false, "short pass: fewer events per run and a 20,000-event burst")
	flag.IntVar(&f.runs, "runs", 3, "runs per scenario; tables show medians")
	flag.StringVar(&f.db, "db", "sqlite", `"sqlite" (a fresh temp file per run) or an admin postgres:// URL (a fresh database is created per run)`)
	flag.IntVar(&f.count, "count", 0, "events per ingest and end-to-end run (default 20000, -quick 3000)")
	flag.IntVar(&f.burst, "burst", 0, "events in the morning burst (default 1000000, -quick 20000)")
	flag.IntVar(&f.drainRate, "drain-rate", 200, "chatarchitect.rate (messages/s) while the burst drains")
	flag.DurationVar(&f.drainWindow, "drain-window", 0, "how long the drain rate is measured after the burst is ingested (default 60s, -quick 15s)")
	flag.StringVar(&f.scenarios, "scenarios", "sink,ingest,e2e,nodered,n8n,burst", "comma-separated scenarios to run")
	flag.StringVar(&f.conc, "concurrency", "1,16,64", "ingest concurrencies")
	flag.BoolVar(&f.pprof, "pprof", false, "run nudge in-process in bench/cmd/nudgeprof and take a CPU profile of each scenario's first run")
	flag.IntVar(&f.pprofSecs, "pprof-seconds", 10, "length of each CPU profile")
	flag.StringVar(&f.nodeRED, "node-red", filepath.Join(home, ".cache", "nudge-bench", "node-red"), "where node-red@4.1.8 is npm-installed")
	flag.StringVar(&f.n8n, "n8n", filepath.Join(home, ".cache", "nudge-bench", "n8n"), "where n8n@2.8.4 is npm-installed")
	flag.StringVar(&f.out, "out", "bench/results", "results directory")
	flag.StringVar(&f.src, "src", ".", "module root to build nudge from (e.g. a scratch copy with a proposed fix)")
	flag.DurationVar(&f.burstMax, "burst-max", 15*time.Minute, "the burst's ingest stops after this long (what was acknowledged by then is reported)")
	flag.Parse()
	if f.count == 0 {
		f.count = pick(f.quick, 3000, 20000)
	}
	if f.burst == 0 {
		f.burst = pick(f.quick, 20000, 1_000_000)
	}
	if f.drainWindow == 0 {
		f.drainWindow = time.Duration(pick(f.quick, 15, 60)) * time.Second
	}
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func pick(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}

func run(f flags) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the module root (where go.mod is)")
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	binDir, err := os.MkdirTemp("", "nudge-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)
	pkg := "./cmd/nudge"
	if f.pprof {
		pkg = "./bench/cmd/nudgeprof"
	}
	bin := filepath.Join(binDir, "nudge")
	logf("building %s in %s", pkg, f.src)
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = f.src
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	b := &bench{f: f, bin: bin, stamp: stamp, db: &database{}}
	if f.db != "sqlite" {
		if !strings.HasPrefix(f.db, "postgres://") && !strings.HasPrefix(f.db, "postgresql://") {
			return fmt.Errorf("-db: want sqlite or postgres://…")
		}
		if err := checkLoopbackDSN(f.db); err != nil {
			return err
		}
		b.db.adminDSN = f.db
	}
	if f.pprof {
		b.profDir = filepath.Join(f.out, "profiles")
		os.MkdirAll(b.profDir, 0o755)
	}
	if err := b.startSink(); err != nil {
		return err
	}
	defer b.sink.Close()

	want := map[string]bool{}
	for _, s := range strings.Split(f.scenarios, ",") {
		want[strings.TrimSpace(s)] = true
	}
	ctx := context.Background()
	if want["sink"] {
		if err := b.sinkCheck(ctx); err != nil {
			return err
		}
	}
	if want["ingest"] {
		if err := b.ingest(ctx); err != nil {
			return err
		}
	}
	if want["e2e"] {
		if err := b.endToEnd(ctx); err != nil {
			return err
		}
	}
	if want["nodered"] {
		if err := b.nodeRED(ctx); err != nil {
			logf("node-red: %v (skipped)", err)
			b.notes = append(b.notes, "Node-RED: "+err.Error())
		}
	}
	if want["n8n"] {
		if err := b.n8n(ctx); err != nil {
			logf("n8n: %v (skipped)", err)
			b.notes = append(b.notes, "n8n: "+err.Error())
		}
	}
	if want["burst"] {
		if err := b.burst(ctx); err != nil {
			return err
		}
	}
	report := b.report()
	fmt.Println()
	fmt.Print(report)
	mode := "full"
	if f.quick {
		mode = "quick"
	}
	dbName := "sqlite"
	if b.db.adminDSN != "" {
		dbName = "postgres"
	}
	file := filepath.Join(f.out, fmt.Sprintf("%s-%s-%s.md", stamp, mode, dbName))
	if err := os.WriteFile(file, []byte(report), 0o644); err != nil {
		return err
	}
	logf("wrote %s", file)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// machine describes where the numbers were taken.
func machine(nodeREDDir, n8nDir string) [][2]string {
	var rows [][2]string
	add := func(k, v string) { rows = append(rows, [2]string{k, v}) }
	add("CPUs (nproc)", fmt.Sprint(runtime.NumCPU()))
	add("CPU", cpuModel())
	add("memory", memTotal())
	add("kernel", strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")))
	gv, _ := exec.Command("go", "version").Output()
	add("Go", strings.TrimSpace(string(gv)))
	add("nudge commit", gitCommit())
	for _, m := range []string{"modernc.org/sqlite", "github.com/riverqueue/river", "github.com/jackc/pgx/v5"} {
		add(m, goModVersion(m))
	}
	nv, _ := exec.Command("node", "--version").Output()
	add("Node.js", strings.TrimSpace(string(nv)))
	add("Node-RED", npmVersion(nodeREDDir, "node-red"))
	add("n8n", npmVersion(n8nDir, "n8n"))
	return rows
}

func readFile(p string) string { b, _ := os.ReadFile(p); return string(b) }

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown"
}

func memTotal() string {
	for _, line := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(strings.TrimSpace(string(st))) > 0 {
		c += " (+ uncommitted changes)"
	}
	return c
}

func goModVersion(mod string) string {
	fh, err := os.Open("go.mod")
	if err != nil {
		return "?"
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1]
		}
	}
	return "?"
}

// npmVersion is the version of package pkg npm-installed in dir.
func npmVersion(dir, pkg string) string {
	b := readFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if i := strings.Index(b, `"version"`); i >= 0 {
		rest := b[i+len(`"version"`):]
		if j := strings.Index(rest, `"`); j >= 0 {
			if k := strings.Index(rest[j+1:], `"`); k >= 0 {
				return rest[j+1 : j+1+k]
			}
		}
	}
	return "not installed"
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
