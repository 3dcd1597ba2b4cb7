package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCheck(t *testing.T) {
	out, _, err := runCLI(t, "check", "--config", "testdata/nudge.yaml")
	if err != nil || !strings.Contains(out, "ok, 2 workflows") {
		t.Fatalf("check: %v %q", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("server:\n  listn: x\nworkflows:\n  - id: A\n    on: paygee.nope\n    do: []\n"), 0o600)
	_, errOut, err := runCLI(t, "check", "--config", bad)
	if err != exitCode(1) {
		t.Fatalf("exit: %v", err)
	}
	for _, want := range []string{bad + `:2: unknown key "server.listn"`, bad + ":4:", bad + ":5:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	_, errOut, err = runCLI(t, "check", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil {
		t.Fatal("a missing file passed")
	}
}

func TestSimulatePrintsWhatWouldBeSent(t *testing.T) {
	out, errOut, err := runCLI(t, "simulate", "--config", "testdata/nudge.yaml", "--trigger", "paygee.loan_state", "--event", "testdata/days_late.json")
	if err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got %d:\n%s", len(lines), out)
	}
	if lines[0]["matched"] != true || lines[0]["once_per"] != "L-1042:5" {
		t.Fatalf("match line: %v", lines[0])
	}
	send := lines[1]
	tpl := send["template"].(map[string]any)
	if send["to"] != "254712345678" || send["kind"] != "template" || tpl["name"] != "payment_reminder" || tpl["language"] != "sw" {
		t.Fatalf("send line: %v", send)
	}
	if p := tpl["params"].([]any); p[0] != "Amina" || p[1] != "5" {
		t.Fatalf("params: %v", p)
	}
	req := lines[2]["request"].(map[string]any)
	if req["method"] != "PATCH" || req["url"] != "https://paygee.example/api/v1/customers/C-311" || req["body"].(map[string]any)["reminded"] != "5 days" {
		t.Fatalf("paygee request: %v", lines[2])
	}
	if lines[3]["workflow"] != "default-task" || lines[3]["matched"] != false {
		t.Fatalf("last line: %v", lines[3])
	}
	// A dry run writes nothing: no database file appears.
	if _, err := os.Stat("nudge.db"); err == nil {
		t.Fatal("simulate created nudge.db")
	}
}

func TestSimulateRefusesBadInput(t *testing.T) {
	if _, _, err := runCLI(t, "simulate", "--config", "testdata/nudge.yaml", "--trigger", "paygee.nope", "--event", "testdata/days_late.json"); err == nil {
		t.Fatal("unknown trigger accepted")
	}
	notJSON := filepath.Join(t.TempDir(), "e.json")
	os.WriteFile(notJSON, []byte("[1]"), 0o600)
	if _, _, err := runCLI(t, "simulate", "--config", "testdata/nudge.yaml", "--trigger", "paygee.loan_state", "--event", notJSON); err == nil {
		t.Fatal("array event accepted")
	}
	if _, _, err := runCLI(t, "simulate", "--config", "testdata/nudge.yaml"); err != exitCode(2) {
		t.Fatalf("missing flags: %v", err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "nudge ") {
		t.Fatalf("version: %v %q", err, out)
	}
	if _, errOut, err := runCLI(t, "frobnicate"); err != exitCode(2) || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %v %q", err, errOut)
	}
}
