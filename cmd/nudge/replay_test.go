package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nudge/internal/app"
	"nudge/internal/config"
	"nudge/internal/sandbox"
	"nudge/internal/store"
)

// nudge replay --status dead makes fresh runs that a running nudge then executes.
func TestReplayCommand(t *testing.T) {
	ctx := context.Background()
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "a", AppSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "nudge.yaml")
	os.WriteFile(cfgPath, []byte(`
server: {listen: "127.0.0.1:0", admin_token: admin}
database: sqlite:`+filepath.Join(dir, "nudge.db")+`
retry: {max_attempts: 2, base_delay: 10ms, max_delay: 20ms}
defaults: {country: KE}
paygee: {webhook_token: hook}
chatarchitect: {api_url: "`+ca.URL()+`", app_id: a, app_secret: b, webhook_token: c}
workflows:
  - id: remind
    on: paygee.loan_state
    do: [{send_whatsapp: {to: customer, template: {name: thank_you, params: ["{{payload.customer_name}}"]}}}]
`), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	startApp := func() *app.App {
		a, err := app.Start(ctx, app.Options{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := startApp()
	ca.Faults().Push(sandbox.Fault{Status: 500, Times: 4}) // both attempts of both runs (lookup + send)
	for _, id := range []string{"e1", "e2"} {
		body := `{"id":"` + id + `","state":"late","payload":{"customer_name":"Amina","customer_phone":"0712345678"}}`
		resp, err := http.Post(a.URL+"/hooks/paygee/loan-state?token=hook", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("post: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		dead, _ := a.Store.ListRuns(ctx, store.RunFilter{Status: store.RunDead})
		if len(dead) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs not dead: %v", dead)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	a.Shutdown(sctx)
	cancel()
	ca.Faults().Clear()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"replay", "--config", cfgPath, "--status", "dead", "--dry-run"}, &out, &errOut); err != nil {
		t.Fatalf("dry run: %v %s", err, errOut.String())
	}
	if strings.Count(out.String(), "would replay") != 2 {
		t.Fatalf("dry run output: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"replay", "--config", cfgPath, "--status", "dead", "--workflow", "remind", "--since", "1h"}, &out, &errOut); err != nil {
		t.Fatalf("replay: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "replayed 2/2 runs") {
		t.Fatalf("replay output: %q", out.String())
	}
	out.Reset()
	run(ctx, []string{"replay", "--config", cfgPath, "--status", "dead", "--since", "2026-01-01T00:00:00Z", "--workflow", "other"}, &out, &errOut)
	if !strings.Contains(out.String(), "no runs to replay") {
		t.Fatalf("filtered replay: %q", out.String())
	}
	if err := run(ctx, []string{"replay", "--config", cfgPath, "--status", "queued"}, &out, &errOut); err != exitCode(2) {
		t.Fatalf("bad status: %v", err)
	}

	a = startApp()
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	if _, err := ca.WaitSent(wctx, 2); err != nil {
		t.Fatalf("replayed runs did not send: %v", err)
	}
}
