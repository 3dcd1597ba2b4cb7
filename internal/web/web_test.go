package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"nudge/internal/store"
	"nudge/internal/web"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()

	bad := b.login("wrong")
	if bad.Status != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", bad.Status)
	}
	mustContain(t, bad.Body, "Wrong admin token")
	if b.cookie("nudge_session") != "" {
		t.Fatal("a bad token got a session")
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after a bad login: %d", p.Status)
	}

	ok := b.login(adminToken)
	if ok.Status != http.StatusSeeOther || ok.Header.Get("Location") != "/" {
		t.Fatalf("good token: %d %s", ok.Status, ok.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, x := range (&http.Response{Header: ok.Header}).Cookies() {
		if x.Name == "nudge_session" {
			c = x
		}
	}
	if c == nil || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Fatalf("session cookie: %+v", c)
	}
	dash := b.get("/")
	if dash.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", dash.Status)
	}
	mustContain(t, dash.Body, "Dashboard")

	// The database keeps only the hash of the cookie's secret.
	var n int
	e.store.DB().QueryRow(`SELECT COUNT(*) FROM web_sessions WHERE id_hash = ?`, c.Value).Scan(&n)
	if n != 0 {
		t.Fatal("the session secret is stored in clear")
	}

	// Logout ends the session.
	if p := b.post("/logout", url.Values{"csrf": {csrf(t, dash)}}); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.Status)
	}
}

// Behind a TLS-terminating proxy the session cookie is Secure.
func TestSecureCookieBehindHTTPS(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()
	form := b.get("/login")
	req, _ := http.NewRequest("POST", e.url+"/login", strings.NewReader(url.Values{"csrf": {csrf(t, form)}, "token": {adminToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	p := b.do(req)
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "nudge_session" && c.Value != "" && !c.Secure {
			t.Fatalf("cookie not Secure behind https: %+v", c)
		}
	}
}

func TestUnauthenticatedRedirectsToLogin(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()
	for _, path := range []string{"/", "/workflows", "/workflows/remind", "/runs", "/runs/1", "/messages", "/contacts", "/tasks", "/nope"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Header.Get("Location"))
		}
	}
	p := b.post("/tasks/1/close", url.Values{})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Errorf("POST without a session: %d", p.Status)
	}
	// A made-up session cookie is no session.
	req, _ := http.NewRequest("GET", e.url+"/", nil)
	req.AddCookie(&http.Cookie{Name: "nudge_session", Value: "made-up"})
	if p := b.do(req); p.Status != http.StatusSeeOther {
		t.Errorf("made-up cookie: %d", p.Status)
	}
}

// A POST without the session's CSRF token, or with a wrong one, is refused and changes nothing.
func TestCSRFRefusal(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := context.Background()
	task, err := e.store.PrepareTask(ctx, 1, 0, "254700000001")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	token := b.mustLogin()

	closePath := fmt.Sprintf("/tasks/%d/close", task.Number)
	for name, form := range map[string]url.Values{
		"none":  {},
		"wrong": {"csrf": {"x" + token}},
		"empty": {"csrf": {""}},
	} {
		if p := b.post(closePath, form); p.Status != http.StatusForbidden {
			t.Errorf("%s token: %d", name, p.Status)
		}
		if p := b.post("/workflows/remind/enabled", url.Values{"csrf": form["csrf"], "enabled": {"false"}}); p.Status != http.StatusForbidden {
			t.Errorf("%s token, disable: %d", name, p.Status)
		}
		if p := b.post("/logout", form); p.Status != http.StatusForbidden {
			t.Errorf("%s token, logout: %d", name, p.Status)
		}
	}
	got, _ := e.store.Task(ctx, task.Number)
	if got.Status != store.TaskOpen {
		t.Fatalf("task closed by a refused POST: %s", got.Status)
	}
	if w, _ := e.engine.Workflow("remind"); !w.Enabled {
		t.Fatal("workflow disabled by a refused POST")
	}
	if vs, _ := e.store.WorkflowVersions(ctx, "remind"); len(vs) != 1 {
		t.Fatalf("versions: %d", len(vs))
	}
	if p := b.get("/"); p.Status != http.StatusOK {
		t.Fatalf("logged out by a refused POST: %d", p.Status)
	}

	// With the token, it works.
	if p := b.post(closePath, url.Values{"csrf": {token}}); p.Status != http.StatusSeeOther {
		t.Fatalf("close with token: %d %s", p.Status, p.Body)
	}
	got, _ = e.store.Task(ctx, task.Number)
	if got.Status != store.TaskClosed {
		t.Fatalf("task not closed: %s", got.Status)
	}

	// The login form has its own token.
	fresh := e.browser()
	fresh.get("/login")
	if p := fresh.post("/login", url.Values{"token": {adminToken}}); p.Status != http.StatusForbidden {
		t.Fatalf("login without csrf: %d", p.Status)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()
	b.mustLogin()
	e.clock.Advance(11 * time.Hour)
	if p := b.get("/"); p.Status != http.StatusOK {
		t.Fatalf("after 11h idle: %d", p.Status)
	}
	// Activity restarts the idle period.
	e.clock.Advance(11 * time.Hour)
	if p := b.get("/runs"); p.Status != http.StatusOK {
		t.Fatalf("after another 11h: %d", p.Status)
	}
	e.clock.Advance(12*time.Hour + time.Minute)
	if p := b.get("/"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Fatalf("after 12h idle: %d", p.Status)
	}
	var n int
	e.store.DB().QueryRow(`SELECT COUNT(*) FROM web_sessions`).Scan(&n)
	if n != 0 {
		t.Fatalf("expired session kept: %d", n)
	}
}

func TestSessionIDRotatedAtLogin(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()
	b.mustLogin()
	first := b.cookie("nudge_session")
	b.mustLogin()
	second := b.cookie("nudge_session")
	if first == "" || first == second {
		t.Fatalf("session id not rotated: %q %q", first, second)
	}
	// The old id no longer works; the new one does.
	for id, want := range map[string]int{first: http.StatusSeeOther, second: http.StatusOK} {
		req, _ := http.NewRequest("GET", e.url+"/", nil)
		req.AddCookie(&http.Cookie{Name: "nudge_session", Value: id})
		if p := (&browser{e: e, client: &http.Client{CheckRedirect: b.client.CheckRedirect}}).do(req); p.Status != want {
			t.Errorf("cookie %q: %d, want %d", id[:6], p.Status, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, testConfig)
	b := e.browser()
	check := func(what string, h http.Header) {
		t.Helper()
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", what, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", what, k, h.Get(k), v)
			}
		}
	}
	// The UI sets them itself, whatever serves it.
	for _, path := range []string{"/login", "/", "/static/style.css"} {
		rec := httptest.NewRecorder()
		e.ui.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		check("ui "+path, rec.Header())
	}
	check("login page", b.get("/login").Header)
	check("refused login", b.post("/login", url.Values{}).Header)
	token := b.mustLogin()
	for _, path := range []string{"/", "/workflows", "/workflows/remind/edit", "/runs", "/messages", "/contacts?phone=0712345678", "/tasks", "/nope"} {
		p := b.get(path)
		check(path, p.Header)
		if path != "/nope" && p.Status != http.StatusOK {
			t.Errorf("%s: %d", path, p.Status)
		}
	}
	check("refused post", b.post("/tasks/1/close", url.Values{"csrf": {"bad"}}).Header)
	check("post", b.post("/tasks/99/close", url.Values{"csrf": {token}}).Header)
}

func TestWorkflowEditValidatesAndVersions(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := context.Background()
	b := e.browser()
	token := b.mustLogin()
	edit := func(action, text string) page {
		return b.post("/workflows/remind/edit", url.Values{"csrf": {token}, "action": {action}, "yaml": {text}})
	}

	bad := edit("save", "id: remind\non: paygee.loan_state\ndo:\n  - send_whatsapp:\n      to: customer\n      txt: hello\n")
	if bad.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad workflow: %d", bad.Status)
	}
	mustContain(t, bad.Body, "line 6: do[0].send_whatsapp")
	mustContain(t, bad.Body, "txt")
	if p := edit("save", "id: remind\non: [oops\n"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "line ") {
		t.Fatalf("broken YAML: %d %s", p.Status, p.Body)
	}
	renamed := edit("save", "id: other\non: paygee.loan_state\ndo:\n  - send_whatsapp: {to: customer, text: hi}\n")
	mustContain(t, renamed.Body, "cannot change")
	if vs, _ := e.store.WorkflowVersions(ctx, "remind"); len(vs) != 1 {
		t.Fatalf("a bad edit was saved: %d versions", len(vs))
	}

	good := "# edited in the UI\nid: remind\non: paygee.loan_state\nif: {state: defaulted}\ndo:\n  - send_whatsapp: {to: customer, text: hi}\n"
	if p := edit("save", good); p.Status != http.StatusSeeOther {
		t.Fatalf("good edit: %d %s", p.Status, p.Body)
	}
	v, err := e.store.LatestWorkflowVersion(ctx, "remind", "")
	if err != nil || v.Version != 2 || v.Source != store.WorkflowFromUI || v.YAML != good {
		t.Fatalf("saved version: %+v %v", v, err)
	}
	// The engine runs it at once: a late event no longer matches, a defaulted one does.
	if runs := e.runsOf(e.hook(map[string]any{"state": "late", "payload": map[string]any{}})); len(runs) != 0 {
		t.Fatalf("old definition still runs: %v", runs)
	}
	if runs := e.runsOf(e.hook(map[string]any{"state": "defaulted", "payload": map[string]any{}})); len(runs) != 1 {
		t.Fatalf("new definition does not run: %v", runs)
	}

	// Disable, then enable: each a version, the comment kept.
	if p := b.post("/workflows/remind/enabled", url.Values{"csrf": {token}, "enabled": {"false"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", p.Status)
	}
	if w, _ := e.engine.Workflow("remind"); w.Enabled {
		t.Fatal("not disabled")
	}
	v, _ = e.store.LatestWorkflowVersion(ctx, "remind", "")
	if v.Enabled || !strings.Contains(v.YAML, "# edited in the UI") || !strings.Contains(v.YAML, "enabled: false") {
		t.Fatalf("disabled version: %+v", v)
	}
	b.post("/workflows/remind/enabled", url.Values{"csrf": {token}, "enabled": {"true"}})
	if w, _ := e.engine.Workflow("remind"); !w.Enabled {
		t.Fatal("not enabled again")
	}
	page := b.get("/workflows/remind")
	mustContain(t, page.Body, "v4")
	mustContain(t, page.Body, "# edited in the UI")
}

// The config file seeds the database; a UI edit wins until the file's definition changes.
func TestConfigSeedsAndNewestVersionWins(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := context.Background()
	restart := func(cfgText string) {
		t.Helper()
		cfg := *e.cfg
		if cfgText != "" {
			changed := newEnv(t, cfgText).cfg // a parsed config whose workflow differs
			cfg.Workflows = changed.Workflows
		}
		if _, err := web.New(ctx, web.Options{Config: &cfg, Store: e.store, Engine: e.engine}); err != nil {
			t.Fatal(err)
		}
	}
	vs, _ := e.store.WorkflowVersions(ctx, "remind")
	if len(vs) != 1 || vs[0].Source != store.WorkflowFromConfig || !strings.HasPrefix(vs[0].YAML, "id: remind\non: paygee.loan_state\n") {
		t.Fatalf("seed: %+v", vs)
	}
	restart("")
	if vs, _ := e.store.WorkflowVersions(ctx, "remind"); len(vs) != 1 {
		t.Fatalf("an unchanged file added a version: %d", len(vs))
	}

	b := e.browser()
	token := b.mustLogin()
	b.post("/workflows/remind/enabled", url.Values{"csrf": {token}, "enabled": {"false"}})
	restart("")
	if w, _ := e.engine.Workflow("remind"); w.Enabled {
		t.Fatal("restart with the same file undid the UI's change")
	}

	restart(strings.Replace(testConfig, "{state: late}", "{state: penalty}", 1))
	v, _ := e.store.LatestWorkflowVersion(ctx, "remind", "")
	w, _ := e.engine.Workflow("remind")
	if v.Version != 3 || v.Source != store.WorkflowFromConfig || !w.Enabled || !strings.Contains(v.YAML, "penalty") {
		t.Fatalf("changed file did not win: %+v enabled=%v", v, w.Enabled)
	}
}

func TestDryRunAndBulkReplay(t *testing.T) {
	e := newEnv(t, testConfig)
	ctx := context.Background()
	evID := e.hook(lateEvent("e1"))
	runs := e.runsOf(evID)
	e.waitRun(runs[0].ID)
	b := e.browser()
	token := b.mustLogin()

	v, _ := e.store.LatestWorkflowVersion(ctx, "remind", "")
	p := b.post("/workflows/remind/edit", url.Values{"csrf": {token}, "action": {"dryrun"}, "yaml": {v.YAML}, "event": {fmt.Sprint(evID)}})
	if p.Status != http.StatusOK {
		t.Fatalf("dry run: %d %s", p.Status, p.Body)
	}
	mustContain(t, p.Body, "payment_reminder")
	mustContain(t, p.Body, "[Amina 5]")
	mustContain(t, p.Body, `&#34;workflow&#34;:&#34;remind&#34;`)
	if vs, _ := e.store.WorkflowVersions(ctx, "remind"); len(vs) != 1 {
		t.Fatal("a dry run saved a version")
	}

	// Bulk replay asks for the count it showed; a stale count replays nothing.
	confirm := b.get("/runs/replay?workflow=remind")
	mustContain(t, confirm.Body, "Replay 1 run(s)")
	if p := b.post("/runs/replay", url.Values{"csrf": {token}, "workflow": {"remind"}, "count": {"2"}}); p.Status != http.StatusConflict {
		t.Fatalf("stale count: %d", p.Status)
	}
	if n := len(e.runsOf(evID)); n != 1 {
		t.Fatalf("stale count replayed: %d runs", n)
	}
	if p := b.post("/runs/replay", url.Values{"csrf": {token}, "workflow": {"remind"}, "count": {"1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("bulk replay: %d %s", p.Status, p.Body)
	}
	runs = e.runsOf(evID)
	if len(runs) != 2 || runs[0].ReplayOf != runs[1].ID {
		t.Fatalf("bulk replay: %+v", runs)
	}
}
