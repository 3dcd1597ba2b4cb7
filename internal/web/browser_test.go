package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"nudge/internal/sandbox"
	"nudge/internal/store"
)

// chromium returns the browser to drive: Debian's chromium. Without it the browser tests
// fail in CI (scripts/test.sh installs it) and are skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (scripts/test.sh installs it)")
	}
	t.Skip("chromium is not installed; run scripts/test.sh or apt-get install chromium")
	return ""
}

// newBrowser starts a headless chromium with a fresh profile; every action of a test runs
// under the returned context, bounded by timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page as NAME.png in $NUDGE_SCREENSHOTS, when it names a directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("NUDGE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs an action that reads something from the page.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// browserLogin logs in through the login form and lands on the dashboard.
func browserLogin(t *testing.T, ctx context.Context, e *env) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(e.url+"/runs"),
		chromedp.WaitVisible(chromedp.CSS("#token")), // redirected to the login page
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#dead-runs")),
	)
}

// An operator logs in, sees the runs, finds the dead one and replays it.
func TestBrowserRunsAndReplay(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := newBrowser(t, 90*time.Second)

	okRun := e.runsOf(e.hook(lateEvent("ok-1")))[0]
	e.waitRun(okRun.ID)
	e.ca.Faults().Push(sandbox.Fault{Status: 500, Times: 2}) // both attempts fail
	dead := e.waitRun(e.runsOf(e.hook(lateEvent("dead-1")))[0].ID)
	if dead.Status != store.RunDead {
		t.Fatalf("want a dead run, got %+v", dead)
	}

	// Log in with a wrong token first: the page says so.
	run(t, ctx,
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "wrong"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	)
	browserLogin(t, ctx, e)
	if got := strings.Join(strings.Fields(text(t, ctx, "#dead-runs")), " "); got != "1 dead runs, to replay" {
		t.Fatalf("dashboard dead runs: %q", got)
	}
	screenshot(t, ctx, "dashboard")

	run(t, ctx, chromedp.Navigate(e.url+"/runs"), chromedp.WaitVisible(chromedp.CSS("table")))
	list := text(t, ctx, "main")
	for _, want := range []string{fmt.Sprintf("#%d", okRun.ID), fmt.Sprintf("#%d", dead.ID), "succeeded", "dead"} {
		if !strings.Contains(list, want) {
			t.Fatalf("runs page lacks %q:\n%s", want, list)
		}
	}
	screenshot(t, ctx, "runs")

	run(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/runs/%d", e.url, dead.ID)),
		chromedp.WaitVisible(chromedp.CSS("#replay")),
	)
	if got := text(t, ctx, "#run-status"); got != "dead" {
		t.Fatalf("run status: %q", got)
	}
	screenshot(t, ctx, "run-detail")
	run(t, ctx,
		chromedp.Click(chromedp.CSS("#replay")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	mustContain(t, text(t, ctx, ".flash"), fmt.Sprintf("replay of run %d", dead.ID))

	// The replay goes through: reload its page until it has finished.
	loc := get(t, ctx, chromedp.Location())
	deadline := time.Now().Add(20 * time.Second)
	for {
		run(t, ctx, chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.CSS("#run-status")))
		status := text(t, ctx, "#run-status")
		if status == store.RunSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed run: %s", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(e.ca.Sent()); n != 2 {
		t.Fatalf("sends: %d, want 2", n)
	}
}

// An operator edits a workflow, sees the problem of a broken edit, and dry-runs the
// workflow against a stored event.
func TestBrowserWorkflowEditAndDryRun(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := newBrowser(t, 90*time.Second)
	evID := e.hook(lateEvent("dry-1"))
	e.waitRun(e.runsOf(evID)[0].ID)
	browserLogin(t, ctx, e)

	run(t, ctx,
		chromedp.Navigate(e.url+"/workflows"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/workflows/remind"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/workflows/remind"]`)),
		chromedp.WaitVisible(chromedp.CSS("#edit")),
		chromedp.Click(chromedp.CSS("#edit")),
		chromedp.WaitVisible(chromedp.CSS("#yaml")),
	)
	broken := "id: remind\non: paygee.loan_state\ndo:\n  - send_whatsapp:\n      to: customer\n      text: \"Hello {{payload.customer_name | shout}}\"\n"
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS("#yaml"), broken),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#problems")),
	)
	problems := text(t, ctx, "#problems")
	if !strings.Contains(problems, "Not saved") || !strings.Contains(problems, "line 6: do[0].send_whatsapp.text") || !strings.Contains(problems, "shout") {
		t.Fatalf("problems: %q", problems)
	}
	kept := get(t, ctx, chromedp.Value(chromedp.CSS("#yaml")))
	if kept != broken {
		t.Fatalf("the editor lost the text: %q", kept)
	}
	screenshot(t, ctx, "workflow-edit")
	if vs, _ := e.store.WorkflowVersions(context.Background(), "remind"); len(vs) != 1 {
		t.Fatalf("a broken edit was saved: %d versions", len(vs))
	}

	// Dry run of an edited (unsaved) text against the stored event.
	fixed := "id: remind\non: paygee.loan_state\nif: {state: late}\ndo:\n  - send_whatsapp:\n      to: customer\n      text: \"Habari {{payload.customer_name | first_name}}, balance {{payload.balance | money payload.currency}}\"\n      template: {name: payment_reminder, params: [\"{{payload.customer_name | first_name}}\", \"5\"]}\n"
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS("#yaml"), fixed),
		chromedp.SetValue(chromedp.CSS("#event"), fmt.Sprint(evID)),
		chromedp.Click(chromedp.CSS("#dryrun")),
		chromedp.WaitVisible(chromedp.CSS("#dryrun-result")),
	)
	result := text(t, ctx, "table.sim")
	for _, want := range []string{"matches", "+254712345678", "payment_reminder", "[Amina 5]", "would send"} {
		if !strings.Contains(result, want) {
			t.Fatalf("dry run lacks %q:\n%s", want, result)
		}
	}
	screenshot(t, ctx, "dry-run")
	if vs, _ := e.store.WorkflowVersions(context.Background(), "remind"); len(vs) != 1 {
		t.Fatalf("a dry run saved a version: %d", len(vs))
	}
}
