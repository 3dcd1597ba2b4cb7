package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// n8nProc is an n8n process running bench/peers/n8n/workflow.json.
type n8nProc struct {
	cmd    *exec.Cmd
	dir    string
	URL    string // the production webhook root: hooks are under /webhook/
	exited chan error
}

func startN8N(installDir, peerDir, sinkURL string) (*n8nProc, error) {
	bin := filepath.Join(installDir, "node_modules", ".bin", "n8n")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("n8n not installed in %s (npm install there from a package.json pinning n8n 2.8.4, with overrides xlsx 0.18.5): %w", installDir, err)
	}
	workflow, err := filepath.Abs(filepath.Join(peerDir, "workflow.json"))
	if err != nil {
		return nil, err
	}
	// A fresh user folder: a new SQLite database, encryption key and event log per start.
	dir, err := os.MkdirTemp("", "nudge-bench-n8n-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// The task broker listens even though the workflow has no Code node; 5679 may be taken.
	broker, err := freePort()
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "N8N_USER_FOLDER="+dir, "N8N_LISTEN_ADDRESS=127.0.0.1",
		"N8N_PORT="+strconv.Itoa(port), "N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1",
		"N8N_RUNNERS_BROKER_PORT="+strconv.Itoa(broker), "N8N_SECURE_COOKIE=false",
		// nothing that calls home: there is no network besides loopback
		"N8N_DIAGNOSTICS_ENABLED=false", "N8N_VERSION_NOTIFICATIONS_ENABLED=false",
		"N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED=false", "N8N_TEMPLATES_ENABLED=false",
		"N8N_DYNAMIC_BANNERS_ENABLED=false", "N8N_PERSONALIZATION_ENABLED=false", "N8N_HIRING_BANNER_ENABLED=false",
		"N8N_PYTHON_ENABLED=false",           // no Python runner (and no warning that its venv is missing)
		"N8N_BLOCK_ENV_ACCESS_IN_NODE=false", // the workflow reads $env like the Node-RED flow reads env
		"SINK_URL="+sinkURL, "SINK_USER="+caUser, "SINK_PASS="+caPass, "PAYGEE_TOKEN="+paygeeToken, "NODE_ENV=production")
	// Import and publish (2.x's word for activate) before start: the running server does not
	// pick up CLI changes.
	for _, args := range [][]string{{"import:workflow", "--input=" + workflow}, {"publish:workflow", "--id=nudgeBenchPaygee"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		out, err := c.CombinedOutput()
		cancel()
		if err != nil || strings.Contains(string(out), "GOT ERROR") || strings.Contains(string(out), "An error occurred") {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("n8n %s: %v: %s", args[0], err, out)
		}
	}
	n := &n8nProc{dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d/webhook", port), exited: make(chan error, 1)}
	n.cmd = exec.Command(bin, "start")
	logf, _ := os.Create(filepath.Join(dir, "n8n.log"))
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.Env = env
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { n.exited <- n.cmd.Wait() }()
	// Until the workflow is active the hook answers 404; then a POST without the token gets 401.
	if err := awaitReady(answers("POST", n.URL+"/hooks/paygee/loan-state", 401), n.exited, 2*time.Minute, 250*time.Millisecond); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "n8n.log"))
		n.Stop()
		return nil, fmt.Errorf("n8n %v: %s", err, b)
	}
	return n, nil
}

func (n *n8nProc) Pid() int { return n.cmd.Process.Pid }

// runnerHWM is the peak RSS of n8n's child processes (the JS task runner, idle here).
func (n *n8nProc) runnerHWM() int64 {
	var sum int64
	for _, c := range strings.Fields(readFile(fmt.Sprintf("/proc/%d/task/%d/children", n.Pid(), n.Pid()))) {
		if pid, err := strconv.Atoi(c); err == nil {
			sum += procStatus(pid, "VmHWM")
		}
	}
	return sum
}

// Stop ends the process group it started (n8n and its task runner).
func (n *n8nProc) Stop() {
	stopGroup(n.cmd, n.exited, 30*time.Second)
	os.RemoveAll(n.dir)
}
