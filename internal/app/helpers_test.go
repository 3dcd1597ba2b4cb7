package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"nudge/internal/app"
	"nudge/internal/config"
	"nudge/internal/sandbox"
	"nudge/internal/store/storetest"
)

// backend is the database the suite runs on now.
var backend string

// TestMain runs the whole end-to-end suite once per database backend, SQLite then
// PostgreSQL (NUDGE_TEST_BACKENDS narrows it): every test's nudge starts on a fresh
// database of that backend.
func TestMain(m *testing.M) {
	code := 0
	for _, b := range storetest.Backends() {
		backend = b
		fmt.Printf("=== end-to-end tests on %s\n", b)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	os.Exit(code)
}

const (
	adminToken  = "admin-secret"
	paygeeToken = "paygee-secret"
	caToken     = "ca-secret"
)

// header is the part of every test config that wires nudge to the fake ChatArchitect;
// tests append their own defaults and workflows.
const header = `
server:
  listen: 127.0.0.1:0
  admin_token: ${ADMIN}
database: ${DB}
retry: {max_attempts: 3, base_delay: 20ms, max_delay: 100ms}
paygee:
  webhook_token: ${PAYGEE_TOKEN}
  signing_secret: ${SIGNING}
  api_url: ${PAYGEE_URL}
  api_key: paygee-key
chatarchitect:
  api_url: ${CA_URL}
  app_id: test-app
  app_secret: test-secret
  webhook_token: ${CA_TOKEN}
  rate: 1000
  hsm_text_matching: @HSM@
  timeout: @TIMEOUT@
`

type harness struct {
	t   *testing.T
	app *app.App
	ca  *sandbox.ChatArchitect
	pg  *sandbox.Paygee
}

// start runs a real nudge on loopback against a fake ChatArchitect; extra is YAML appended
// to the common header.
func start(t *testing.T, extra string, env ...string) *harness {
	t.Helper()
	return startWith(t, options{}, extra, env...)
}

// options tune a harness beyond its config.
type options struct {
	callbacks        bool // the fake posts delivery events back
	reminderInterval time.Duration
	authPause        time.Duration
	now              func() time.Time
	logger           *slog.Logger
}

func startWith(t *testing.T, o options, extra string, env ...string) *harness {
	t.Helper()
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "test-app", AppSecret: "test-secret",
		Callbacks: o.callbacks, CallbackDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	pg, err := sandbox.StartPaygee(sandbox.PaygeeOptions{APIKey: "paygee-key", Customers: []sandbox.PaygeeCustomer{
		{"id": "C-311", "name": "Amina Otieno", "phone": "0712 345 678", "language": "sw", "agent": map[string]any{"name": "Peter", "phone": "+254700000001"}},
		{"id": "C-999", "name": "No Phone"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	vars := map[string]string{
		"PAYGEE_URL": pg.URL(),
		"ADMIN":      adminToken, "PAYGEE_TOKEN": paygeeToken, "CA_TOKEN": caToken, "CA_URL": ca.URL(),
		"DB": storetest.DSN(t, backend), "SIGNING": "", "HSM": "false", "TIMEOUT": "30s",
	}
	t.Logf("backend %s", backend)
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	cfg, err := config.Parse("test.yaml", []byte(strings.NewReplacer("@HSM@", vars["HSM"], "@TIMEOUT@", vars["TIMEOUT"]).Replace(header)+extra), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(context.Background(), app.Options{Config: cfg, Listener: ln,
		ReminderInterval: o.reminderInterval, AuthPause: o.authPause, Now: o.now, Logger: o.logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	ca.SetWebhook(a.URL + "/hooks/chatarchitect?token=" + caToken)
	return &harness{t: t, app: a, ca: ca, pg: pg}
}

type response struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (h *harness) do(method, path string, body []byte, headers map[string]string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.app.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Raw: string(raw)}
	json.Unmarshal(raw, &r.Body)
	return r
}

// hook posts a Paygee event with the right token.
func (h *harness) hook(kind string, body any) response {
	h.t.Helper()
	b, _ := json.Marshal(body)
	return h.do("POST", "/hooks/paygee/"+kind, b, map[string]string{"Content-Type": "application/json", "X-Nudge-Token": paygeeToken})
}

func (h *harness) api(method, path string) response {
	h.t.Helper()
	return h.do(method, path, nil, map[string]string{"Authorization": "Bearer " + adminToken})
}

// runs lists runs through the admin API.
func (h *harness) runs(query string) []map[string]any {
	h.t.Helper()
	r := h.api("GET", "/api/v1/runs?"+query)
	if r.Status != 200 {
		h.t.Fatalf("runs: %d %s", r.Status, r.Raw)
	}
	var out []map[string]any
	for _, x := range r.Body["runs"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// waitRuns waits until every run is finished and there are at least n, and returns them.
func (h *harness) waitRuns(n int) []map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs := h.runs("limit=1000")
		done := len(runs) >= n
		for _, r := range runs {
			switch r["status"] {
			case "succeeded", "skipped", "failed", "dead":
			default:
				done = false
			}
		}
		if done {
			return runs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("runs not finished: %v", runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) waitSent(n int) []sandbox.SentMessage {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent, err := h.ca.WaitSent(ctx, n)
	if err != nil {
		h.t.Fatalf("waiting for %d sends, got %d: %v", n, len(h.ca.Sent()), err)
	}
	return sent
}

func loanEvent(id, state string, payload map[string]any) map[string]any {
	ev := map[string]any{"state": state, "payload": payload}
	if id != "" {
		ev["id"] = id
	}
	return ev
}

func amina(extra ...any) map[string]any {
	p := map[string]any{"loan_id": "L-1042", "customer_id": "C-311", "customer_name": "Amina Otieno",
		"customer_phone": "0712 345 678", "agent_name": "Peter", "agent_phone": "+254700000001",
		"balance": 1500, "currency": "KES", "language": "sw"}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

func mustContain(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%q does not contain %q", got, want)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
