package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The hook answers an unauthenticated POST with 401 once the flow is deployed.
		resp, err := http.Post(n.URL+"/hooks/paygee/loan-state", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 401 {
				return n, nil
			}
		}
		select {
		case err := <-n.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "node-red.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("node-red exited (%v): %s", err, b)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.Stop()
			return nil, fmt.Errorf("node-red flow not answering within 60s")
		}
	}
}

func (n *nodeRED) Pid() int { return n.cmd.Process.Pid }

// Stop ends the process group it started (node-red's launcher and node).
func (n *nodeRED) Stop() {
	syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.exited
	}
	os.RemoveAll(n.dir)
}
