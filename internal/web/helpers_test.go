package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"nudge/internal/chatarchitect"
	"nudge/internal/config"
	"nudge/internal/engine"
	"nudge/internal/sandbox"
	"nudge/internal/server"
	"nudge/internal/store"
	"nudge/internal/web"
)

const (
	adminToken  = "admin-secret"
	paygeeToken = "paygee-secret"
)

// testConfig is a config wired to a fake ChatArchitect, with one reminder workflow; runs
// die after two attempts so that a test can make a dead run quickly.
const testConfig = `
server:
  admin_token: ${ADMIN}
database: ${DB}
defaults: {country: KE}
retry: {max_attempts: 2, base_delay: 20ms, max_delay: 50ms}
paygee:
  webhook_token: ${PAYGEE_TOKEN}
chatarchitect:
  api_url: ${CA_URL}
  app_id: test-app
  app_secret: test-secret
  webhook_token: ca-secret
  rate: 1000
workflows:
  - id: remind
    on: paygee.loan_state
    if: {state: late}
    do:
      - send_whatsapp:
          to: customer
          template: {name: payment_reminder, language: en, params: ["{{payload.customer_name | first_name}}", "5"]}
`

// clock is a settable clock for sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a real nudge (SQLite store, engine, HTTP surface with the UI) on loopback, against
// a fake ChatArchitect.
type env struct {
	t      *testing.T
	cfg    *config.Config
	store  *store.Store
	engine *engine.Engine
	ui     *web.UI
	ca     *sandbox.ChatArchitect
	clock  *clock
	url    string
}

func newEnv(t *testing.T, yamlText string) *env {
	t.Helper()
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "test-app", AppSecret: "test-secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	dbPath := filepath.Join(t.TempDir(), "nudge.db")
	vars := map[string]string{"ADMIN": adminToken, "PAYGEE_TOKEN": paygeeToken, "CA_URL": ca.URL(), "DB": "sqlite:" + dbPath}
	cfg, err := config.Parse("test.yaml", []byte(yamlText), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	sender := chatarchitect.New(chatarchitect.Config{BaseURL: ca.URL(), AppID: "test-app", AppSecret: "test-secret"})
	eng, err := engine.New(ctx, engine.Options{Config: cfg, Store: st, Sender: sender})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, store: st, engine: eng, ca: ca, clock: &clock{t: time.Now()}}
	e.ui, err = web.New(ctx, web.Options{Config: cfg, Store: st, Engine: eng, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Options{Config: cfg, Engine: eng, Store: st, UI: e.ui}))
	e.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx)
		st.Close()
	})
	return e
}

// hook posts a Paygee loan-state event and returns its event id.
func (e *env) hook(body map[string]any) int64 {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.url+"/hooks/paygee/loan-state", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Nudge-Token", paygeeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		EventID int64 `json:"event_id"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("hook: %d", resp.StatusCode)
	}
	return out.EventID
}

func lateEvent(id string) map[string]any {
	return map[string]any{"id": id, "state": "late", "payload": map[string]any{
		"loan_id": "L-1042", "customer_name": "Amina Otieno", "customer_phone": "0712 345 678",
		"balance": 1500, "currency": "KES"}}
}

// waitRun waits until a run is finished and returns it.
func (e *env) waitRun(id int64) store.Run {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		run, err := e.store.Run(context.Background(), id)
		if err == nil && store.RunFinished(run.Status) {
			return run
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %d not finished: %+v %v", id, run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runsOf returns the runs of an event.
func (e *env) runsOf(eventID int64) []store.Run {
	e.t.Helper()
	runs, err := e.store.ListRuns(context.Background(), store.RunFilter{EventID: eventID})
	if err != nil {
		e.t.Fatal(err)
	}
	return runs
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.url+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of a page's forms.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no csrf token in page: %s", p.Body)
	}
	return m[1]
}

// login logs in with token and returns the answer to the POST.
func (b *browser) login(token string) page {
	b.e.t.Helper()
	form := b.get("/login")
	return b.post("/login", url.Values{"csrf": {csrf(b.e.t, form)}, "token": {token}})
}

// mustLogin logs in and returns the session's CSRF token.
func (b *browser) mustLogin() string {
	b.e.t.Helper()
	if p := b.login(adminToken); p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("login: %d %s", p.Status, p.Body)
	}
	return csrf(b.e.t, b.get("/"))
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func mustContain(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("page does not contain %q:\n%s", want, got)
	}
}
