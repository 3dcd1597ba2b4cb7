package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// nodeRED is a Node-RED process running bench/peers/node-red/flows.json.
type nodeRED struct {
	cmd    *exec.Cmd
	dir    string
	URL    string
	exited chan error
}

func startNodeRED(installDir, peerDir, sinkURL string) (*nodeRED, error) {
	bin := filepath.Join(installDir, "node_modules", ".bin", "node-red")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("node-red not installed in %s (npm install --prefix %s node-red@4.1.8): %w", installDir, installDir, err)
	}
	dir, err := os.MkdirTemp("", "nudge-bench-nodered-")
	if err != nil {
		return nil, err
	}
	flows, err := os.ReadFile(filepath.Join(peerDir, "flows.json"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.json"), flows, 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	settings, _ := filepath.Abs(filepath.Join(peerDir, "settings.js"))
	n := &nodeRED{dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan error, 1)}
	n.cmd = exec.Command(bin, "--settings", settings, "--userDir", dir, filepath.Join(dir, "flows.json"))
	logf, _ := os.Create(filepath.Join(dir, "node-red.log"))
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "SINK_URL="+sinkURL, "SINK_USER="+caUser,
		"SINK_PASS="+caPass, "PAYGEE_TOKEN="+paygeeToken, "NODE_ENV=production")
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { n.exited <- n.cmd.Wait() }()
	// The hook answers an unauthenticated POST with 401 once the flow is deployed.
	if err := awaitReady(answers("POST", n.URL+"/hooks/paygee/loan-state", 401), n.exited, time.Minute, 200*time.Millisecond); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "node-red.log"))
		n.Stop()
		return nil, fmt.Errorf("node-red %v: %s", err, b)
	}
	return n, nil
}

func (n *nodeRED) Pid() int { return n.cmd.Process.Pid }

// Stop ends the process group it started (node-red's launcher and node).
func (n *nodeRED) Stop() {
	stopGroup(n.cmd, n.exited, 20*time.Second)
	os.RemoveAll(n.dir)
}
