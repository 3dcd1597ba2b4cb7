package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// awaitReady polls ready until it says yes, the process exits, or limit passes. An exit's
// error is put back on exited (buffered) for whoever waits on the process next.
func awaitReady(ready func() bool, exited chan error, limit, every time.Duration) error {
	deadline := time.Now().Add(limit)
	for !ready() {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited at start (%v)", err)
		case <-time.After(every):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", limit)
		}
	}
	return nil
}

// answers is a readiness probe: a request to url gets status code.
func answers(method, url string, code int) func() bool {
	return func() bool {
		req, _ := http.NewRequest(method, url, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == code
	}
}

// stopGroup ends the process group cmd leads (a launcher and its children): SIGTERM, then
// SIGKILL after grace. exited is where cmd.Wait's result arrives.
func stopGroup(cmd *exec.Cmd, exited chan error, grace time.Duration) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}
