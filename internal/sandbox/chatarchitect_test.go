package sandbox_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"nudge/internal/chatarchitect"
	"nudge/internal/sandbox"
)

const caTo = "254712345678"

func caStartFake(t *testing.T, opts sandbox.ChatArchitectOptions) *sandbox.ChatArchitect {
	t.Helper()
	f, err := sandbox.StartChatArchitect(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func caClientFor(f *sandbox.ChatArchitect) *chatarchitect.Client {
	return chatarchitect.New(chatarchitect.Config{BaseURL: f.URL(),
		AppID: sandbox.ChatArchitectDefaultAppID, AppSecret: sandbox.ChatArchitectDefaultAppSecret})
}

// caPost sends body to the fake as the client would, and returns the status and the body.
func caPost(t *testing.T, f *sandbox.ChatArchitect, path, body string, auth bool) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.SetBasicAuth(sandbox.ChatArchitectDefaultAppID, sandbox.ChatArchitectDefaultAppSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s answered non-JSON %q", path, data)
	}
	return resp.StatusCode, out
}

var caUUIDv4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestChatArchitectSendText(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	res, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: "+" + caTo, Text: "Habari Amina"})
	if err != nil {
		t.Fatal(err)
	}
	if !caUUIDv4.MatchString(res.MessageID) {
		t.Fatalf("messageId %q is not a UUID v4", res.MessageID)
	}
	sent := f.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent = %+v", sent)
	}
	s := sent[0]
	if s.MessageID != res.MessageID || s.Destination != caTo || s.Kind != "text" || s.Text != "Habari Amina" ||
		s.At.IsZero() || !json.Valid(s.Body) || s.Media != nil {
		t.Fatalf("sent = %+v", s)
	}
	if f.Requests() != 1 {
		t.Fatalf("requests = %d", f.Requests())
	}
}

func TestChatArchitectSendTemplate(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	c := caClientFor(f)
	res, err := c.Send(context.Background(), chatarchitect.Message{To: caTo,
		Template: &chatarchitect.Template{Name: "payment_reminder", Language: "sw", Params: []string{"Amina", "5"}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := f.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent = %+v", sent)
	}
	s := sent[0]
	want := "Habari Amina, malipo yako yamechelewa siku 5. Tafadhali lipa ili kifaa chako kiendelee kufanya kazi."
	if s.Kind != "template" || s.TemplateName != "payment_reminder" || s.TemplateID != res.TemplateID ||
		!slices.Equal(s.Params, []string{"Amina", "5"}) || s.Text != want || s.MessageID != res.MessageID {
		t.Fatalf("sent = %+v", s)
	}
	// The template list is cached: a second send makes one request.
	before := f.Requests()
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo,
		Template: &chatarchitect.Template{Name: "thank_you", Language: "en", Params: []string{"Amina"}}}); err != nil {
		t.Fatal(err)
	}
	if n := f.Requests() - before; n != 1 {
		t.Fatalf("second template send made %d requests", n)
	}

	list, err := c.Templates(context.Background())
	if err != nil || len(list) != 5 {
		t.Fatalf("templates = %+v, %v", list, err)
	}
	for _, name := range []string{"payment_reminder", "agent_task", "thank_you", "welcome"} {
		if !slices.ContainsFunc(list, func(h chatarchitect.HSM) bool { return h.ElementName == name && h.Approved() }) {
			t.Errorf("default templates lack %s", name)
		}
	}
}

func TestChatArchitectUnknownTemplate(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	f.AddTemplate(sandbox.HSMTemplate{ElementName: "pending_one", LanguageCode: "en", Status: "PENDING", Data: "x"})
	c := caClientFor(f)
	for _, tmpl := range []chatarchitect.Template{
		{Name: "no_such_template", Language: "en"},
		{Name: "payment_reminder", Language: "fr", Params: []string{"a", "b"}},
		{Name: "pending_one", Language: "en"},
	} {
		_, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Template: &tmpl})
		if chatarchitect.ClassOf(err) != chatarchitect.Permanent || !errors.Is(err, chatarchitect.ErrUnknownTemplate) {
			t.Fatalf("%+v: err = %v", tmpl, err)
		}
	}
	// Wrong parameter count is caught before sending.
	_, err := c.Send(context.Background(), chatarchitect.Message{To: caTo,
		Template: &chatarchitect.Template{Name: "welcome", Language: "en", Params: []string{"only one"}}})
	if chatarchitect.ClassOf(err) != chatarchitect.Permanent {
		t.Fatalf("param count: err = %v", err)
	}
	if len(f.Sent()) != 0 {
		t.Fatalf("sent = %+v", f.Sent())
	}
}

func TestChatArchitectSendMedia(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	c := caClientFor(f)
	tests := []struct {
		media     chatarchitect.Media
		kind      string
		wantMedia map[string]any
	}{
		{chatarchitect.Media{Type: "image", URL: "https://cdn.example/a.jpg", Caption: "Your meter"}, "image",
			map[string]any{"type": "image", "originalUrl": "https://cdn.example/a.jpg", "previewUrl": "https://cdn.example/a.jpg", "caption": "Your meter"}},
		{chatarchitect.Media{Type: "audio", URL: "https://cdn.example/a.mp3"}, "audio",
			map[string]any{"type": "audio", "url": "https://cdn.example/a.mp3"}},
		{chatarchitect.Media{Type: "video", URL: "https://cdn.example/a.mp4", Caption: "How to pay"}, "video",
			map[string]any{"type": "video", "url": "https://cdn.example/a.mp4", "caption": "How to pay"}},
		{chatarchitect.Media{Type: "file", URL: "https://cdn.example/s.pdf", Filename: "statement.pdf", Caption: "Statement"}, "file",
			map[string]any{"type": "file", "url": "https://cdn.example/s.pdf", "filename": "statement.pdf", "caption": "Statement"}},
	}
	for i, tt := range tests {
		if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Media: &tt.media}); err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		s := f.Sent()[i]
		if s.Kind != tt.kind || !reflect.DeepEqual(s.Media, tt.wantMedia) || s.Text != tt.media.Caption {
			t.Errorf("%s: sent = %+v", tt.kind, s)
		}
	}
}

func TestChatArchitectAuth(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{AppID: "id1", AppSecret: "right"})
	bad := chatarchitect.New(chatarchitect.Config{BaseURL: f.URL(), AppID: "id1", AppSecret: "wrong"})
	_, err := bad.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"})
	var e *chatarchitect.Error
	if !errors.As(err, &e) || e.Class != chatarchitect.Auth || e.StatusCode != 401 ||
		string(e.Body) != `{"message":"Authentication Failed","status":"error"}` {
		t.Fatalf("err = %#v", err)
	}
	if err := bad.Probe(context.Background()); chatarchitect.ClassOf(err) != chatarchitect.Auth {
		t.Fatalf("probe: %v", err)
	}
	if _, err := bad.Templates(context.Background()); chatarchitect.ClassOf(err) != chatarchitect.Auth {
		t.Fatalf("templates: %v", err)
	}
	good := chatarchitect.New(chatarchitect.Config{BaseURL: f.URL(), AppID: "id1", AppSecret: "right"})
	if err := good.Probe(context.Background()); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if len(f.Sent()) != 0 || f.Requests() != 4 {
		t.Fatalf("sent %d, requests %d", len(f.Sent()), f.Requests())
	}
	code, body := caPost(t, f, "/whatsappmessage", `{"channel":"whatsapp"}`, false)
	if code != 401 || body["status"] != "error" || body["message"] != "Authentication Failed" {
		t.Fatalf("no auth: %d %v", code, body)
	}
}

func TestChatArchitectFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      sandbox.Fault
		timeout    time.Duration
		class      chatarchitect.Class
		status     int
		retryAfter time.Duration
	}{
		{"500", sandbox.Fault{Status: 500}, 0, chatarchitect.Transient, 500, 0},
		{"503", sandbox.Fault{Status: 503}, 0, chatarchitect.Transient, 503, 0},
		{"503 retry after", sandbox.Fault{Status: 503, RetryAfter: 2 * time.Second}, 0, chatarchitect.Transient, 503, 2 * time.Second},
		{"429 retry after", sandbox.Fault{Status: 429, RetryAfter: 3 * time.Second}, 0, chatarchitect.Transient, 429, 3 * time.Second},
		{"400", sandbox.Fault{Status: 400}, 0, chatarchitect.Permanent, 400, 0},
		{"401", sandbox.Fault{Status: 401}, 0, chatarchitect.Auth, 401, 0},
		{"403 custom body", sandbox.Fault{Status: 403, Body: `{"status":"error","message":"App suspended"}`}, 0, chatarchitect.Auth, 403, 0},
		{"slow", sandbox.Fault{Delay: time.Second}, 100 * time.Millisecond, chatarchitect.Transient, 0, 0},
		{"drop", sandbox.Fault{Drop: true}, 0, chatarchitect.Transient, 0, 0},
		{"slow drop", sandbox.Fault{Drop: true, Delay: 20 * time.Millisecond}, 0, chatarchitect.Transient, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := caStartFake(t, sandbox.ChatArchitectOptions{})
			cfg := chatarchitect.Config{BaseURL: f.URL(),
				AppID: sandbox.ChatArchitectDefaultAppID, AppSecret: sandbox.ChatArchitectDefaultAppSecret}
			if tt.timeout > 0 {
				cfg.HTTPClient = &http.Client{Timeout: tt.timeout}
			}
			c := chatarchitect.New(cfg)
			f.Faults().Push(tt.fault)
			_, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"})
			var e *chatarchitect.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, not an *Error", err)
			}
			if e.Class != tt.class || e.StatusCode != tt.status || e.RetryAfter != tt.retryAfter {
				t.Fatalf("error = %+v (%v)", e, e)
			}
			if chatarchitect.ClassOf(err) != tt.class {
				t.Fatalf("ClassOf = %v", chatarchitect.ClassOf(err))
			}
			if len(f.Sent()) != 0 || f.Requests() != 1 {
				t.Fatalf("sent %d, requests %d", len(f.Sent()), f.Requests())
			}
			// The fault is used up: the retry goes through.
			if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if len(f.Sent()) != 1 {
				t.Fatalf("sent %d after the retry", len(f.Sent()))
			}
		})
	}
}

func TestChatArchitectFaultTimesAndReset(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	c := caClientFor(f)
	f.Faults().Push(sandbox.Fault{Status: 502, Times: 2})
	for i := range 2 {
		if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); chatarchitect.ClassOf(err) != chatarchitect.Transient {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	f.Faults().Push(sandbox.Fault{Status: 500})
	f.FailDestination(caTo, 1002, "Number Does Not Exist On WhatsApp")
	f.Reset()
	if len(f.Sent()) != 0 || f.Requests() != 0 {
		t.Fatalf("after Reset: sent %d, requests %d", len(f.Sent()), f.Requests())
	}
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatalf("fault survived Reset: %v", err)
	}
}

func TestChatArchitectValidation(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	tests := []struct {
		name, body string
		status     int
		result     string // "status" field of the answer
	}{
		{"credential check", `{"channel":"whatsapp"}`, 200, "error"},
		{"wrong channel", `{"channel":"sms","destination":"254712345678","payload":{"type":"text","message":"x"}}`, 400, "error"},
		{"no channel", `{"destination":"254712345678","payload":{"type":"text","message":"x"}}`, 400, "error"},
		{"plus in destination", `{"channel":"whatsapp","destination":"+254712345678","payload":{"type":"text","message":"x"}}`, 400, "error"},
		{"number destination", `{"channel":"whatsapp","destination":254712345678,"payload":{"type":"text","message":"x"}}`, 400, "error"},
		{"no payload", `{"channel":"whatsapp","destination":"254712345678"}`, 400, "error"},
		{"payload and template", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"text","message":"x"},"template":{"id":"x"}}`, 400, "error"},
		{"unknown type", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"hologram"}}`, 400, "error"},
		{"text without message", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"text","text":"x"}}`, 400, "error"},
		{"text", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"text","message":"x"}}`, 202, "submitted"},
		{"text isHSM bool", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"text","message":"x","isHSM":false}}`, 202, "submitted"},
		{"text isHSM junk", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"text","message":"x","isHSM":"yes"}}`, 400, "error"},
		{"image without originalUrl", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"image","url":"https://x.test/a.jpg"}}`, 400, "error"},
		{"file without filename", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"file","url":"https://x.test/a.pdf"}}`, 400, "error"},
		{"audio bad url", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"audio","url":"a.mp3"}}`, 400, "error"},
		{"location", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"location","latitude":19.1453658,"longitude":72.8552172,"name":"Office"}}`, 202, "submitted"},
		{"location out of range", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"location","latitude":190,"longitude":72}}`, 400, "error"},
		{"contact", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"contact","contact":{"name":{"formattedName":"John"}}}}`, 202, "submitted"},
		{"quick_reply", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"quick_reply","msgid":"qr1","content":{"type":"text","text":"Pick one"},"options":[{"type":"text","title":"Yes"},{"type":"text","title":"No"}]}}`, 202, "submitted"},
		{"quick_reply four options", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"quick_reply","content":{"type":"text","text":"?"},"options":[{},{},{},{}]}}`, 400, "error"},
		{"list", `{"channel":"whatsapp","destination":"254712345678","payload":{"type":"list","title":"Menu","body":"Choose","globalButtons":[{"type":"text","title":"Open"}],"items":[{"title":"S","options":[{"type":"text","title":"Row 1","postbackText":"row1"}]}]}}`, 202, "submitted"},
		{"template unknown id", `{"channel":"whatsapp","destination":"254712345678","template":{"id":"nope","params":[]}}`, 400, "error"},
		{"template wrong params", `{"channel":"whatsapp","destination":"254712345678","template":{"id":"5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a05","params":["a"]}}`, 400, "error"},
		{"template number param", `{"channel":"whatsapp","destination":"254712345678","template":{"id":"5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a05","params":["a",5]}}`, 400, "error"},
		{"template", `{"channel":"whatsapp","destination":"254712345678","template":{"id":"5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a05","params":["a","b"]}}`, 202, "submitted"},
		{"not json", `hello`, 400, "error"},
		{"json array", `[]`, 400, "error"},
	}
	for _, tt := range tests {
		code, body := caPost(t, f, "/whatsappmessage", tt.body, true)
		if code != tt.status || body["status"] != tt.result {
			t.Errorf("%s: %d %v, want %d %s", tt.name, code, body, tt.status, tt.result)
		}
		if tt.result == "error" && body["message"] == "" {
			t.Errorf("%s: no message", tt.name)
		}
	}
	if n := len(f.Sent()); n != 7 {
		t.Fatalf("%d sends accepted, want 7", n)
	}
	if code, _ := caPost(t, f, "/nope", `{}`, true); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
}

func TestChatArchitectWebhookRegistration(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	if err := caClientFor(f).RegisterWebhook(context.Background(), "https://nudge.example/hooks/chatarchitect?token=x"); err != nil {
		t.Fatal(err)
	}
	if got := f.WebhookURL(); got != "https://nudge.example/hooks/chatarchitect?token=x" {
		t.Fatalf("webhook = %q", got)
	}
	// The legacy form on /whatsappmessage, with a JSON bool.
	code, body := caPost(t, f, "/whatsappmessage",
		`{"channel":"whatsapp","destination":"254712345678","webhook":"https://legacy.example/hook","webhook_separate":false,"optin":"true"}`, true)
	if code != 200 || body["status"] != "success" || f.WebhookURL() != "https://legacy.example/hook" {
		t.Fatalf("legacy: %d %v %q", code, body, f.WebhookURL())
	}
	for _, bad := range []string{`{"channel":"whatsapp"}`, `{"webhook":"not a url"}`,
		`{"webhook":"https://x.example","webhook_separate":"maybe"}`} {
		if code, _ := caPost(t, f, "/webhook", bad, true); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	f.SetWebhook("http://127.0.0.1:1/hook")
	if f.WebhookURL() != "http://127.0.0.1:1/hook" {
		t.Fatal("SetWebhook")
	}
}

func TestChatArchitectTemplatesEndpoints(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	code, body := caPost(t, f, "/getHSM", `{"channel":"whatsapp","destination":"254712345678","getHSM":true}`, true)
	list, _ := body["templates"].([]any)
	if code != 200 || body["status"] != "success" || len(list) != 5 {
		t.Fatalf("getHSM: %d %v", code, body)
	}
	first := list[0].(map[string]any)
	for _, k := range []string{"id", "elementName", "languageCode", "category", "templateType", "status", "data", "meta"} {
		if _, ok := first[k]; !ok {
			t.Errorf("template lacks %s: %v", k, first)
		}
	}
	submit := `{"channel":"whatsapp","submit_template":{"elementName":"due_soon","languageCode":"en","category":"UTILITY",
		"templateType":"TEXT","content":"Hi {{1}}, {{2}} is due on {{3}}.","example":"Hi [John], [KES 500] is due on [Monday]."}}`
	code, body = caPost(t, f, "/submit_template", submit, true)
	tmpl, _ := body["template"].(map[string]any)
	if code != 200 || body["status"] != "success" || tmpl["status"] != "PENDING" || tmpl["elementName"] != "due_soon" {
		t.Fatalf("submit: %d %v", code, body)
	}
	if code, _ := caPost(t, f, "/submit_template", submit, true); code != 400 {
		t.Fatalf("duplicate submit: %d", code)
	}
	for _, bad := range []string{`{}`, `{"submit_template":{"elementName":"Bad Name","languageCode":"en","category":"UTILITY","content":"x"}}`,
		`{"submit_template":{"elementName":"ok","languageCode":"en","category":"SPAM","content":"x"}}`,
		`{"submit_template":{"elementName":"ok","languageCode":"en","category":"UTILITY","content":""}}`} {
		if code, _ := caPost(t, f, "/submit_template", bad, true); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}

	// A pending template cannot be sent until it is approved.
	c := caClientFor(f)
	msg := chatarchitect.Message{To: caTo, Template: &chatarchitect.Template{Name: "due_soon", Language: "en", Params: []string{"A", "B", "C"}}}
	if _, err := c.Send(context.Background(), msg); !errors.Is(err, chatarchitect.ErrUnknownTemplate) {
		t.Fatalf("pending template: %v", err)
	}
	h := f.Templates()[5]
	h.Status = "APPROVED"
	f.AddTemplate(h)
	if _, err := c.Templates(context.Background()); err != nil { // refresh the client's cache
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("approved template: %v", err)
	}
	if s := f.Sent()[0]; s.Text != "Hi A, B is due on C." {
		t.Fatalf("sent = %+v", s)
	}

	auto := caStartFake(t, sandbox.ChatArchitectOptions{AutoApprove: true, Templates: []sandbox.HSMTemplate{}})
	if _, body := caPost(t, auto, "/submit_template", submit, true); body["template"].(map[string]any)["status"] != "APPROVED" {
		t.Fatalf("auto approve: %v", body)
	}
	if n := len(auto.Templates()); n != 1 {
		t.Fatalf("empty template list grew to %d", n)
	}
}

// caHookRecorder is a webhook receiver that answers 500 to its first failFirst requests.
type caHookRecorder struct {
	srv       *httptest.Server
	mu        sync.Mutex
	bodies    [][]byte
	attempts  int
	failFirst int
}

func caNewHookRecorder(t *testing.T, failFirst int) *caHookRecorder {
	h := &caHookRecorder{failFirst: failFirst}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		if h.attempts <= h.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		h.bodies = append(h.bodies, body)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *caHookRecorder) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// wait returns the first n webhooks received, decoded.
func (h *caHookRecorder) wait(t *testing.T, n int) []chatarchitect.Webhook {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.received()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d webhooks, want %d", len(h.received()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var out []chatarchitect.Webhook
	for _, b := range h.received()[:n] {
		w, err := chatarchitect.Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		out = append(out, w)
	}
	return out
}

func caStatuses(ws []chatarchitect.Webhook) []string {
	var out []string
	for _, w := range ws {
		if w.Event == nil {
			out = append(out, w.Type)
			continue
		}
		out = append(out, w.Event.Status)
	}
	return out
}

func TestChatArchitectCallbacks(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: 5 * time.Millisecond})
	c := caClientFor(f)
	if err := c.RegisterWebhook(context.Background(), hook.srv.URL); err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(context.Background(), chatarchitect.Message{To: caTo,
		Template: &chatarchitect.Template{Name: "thank_you", Language: "en", Params: []string{"Amina"}}})
	if err != nil {
		t.Fatal(err)
	}
	ws := hook.wait(t, 4)
	if got := caStatuses(ws); !slices.Equal(got, []string{"enqueued", "sent", "delivered", "read"}) {
		t.Fatalf("statuses = %v", got)
	}
	for i, w := range ws {
		e := w.Event
		if w.Type != chatarchitect.TypeMessageEvent || e.MessageID != res.MessageID || e.Destination != caTo ||
			e.At.IsZero() || w.Timestamp.IsZero() || e.Code != 0 {
			t.Errorf("event %d = %+v", i, e)
		}
		if i == 0 && e.ProviderID != res.MessageID {
			t.Errorf("enqueued id = %q, want the messageId", e.ProviderID)
		}
		if i > 0 && (!strings.HasPrefix(e.ProviderID, "gBEG") || e.ProviderID != ws[1].Event.ProviderID) {
			t.Errorf("event %d provider id = %q", i, e.ProviderID)
		}
	}
	inner := ws[0].Raw["payload"].(map[string]any)["payload"].(map[string]any)
	if inner["type"] != "template" || inner["whatsappMessageId"] != ws[1].Event.ProviderID {
		t.Errorf("enqueued inner payload = %v", inner)
	}
	time.Sleep(30 * time.Millisecond)
	if n := len(hook.received()); n != 4 {
		t.Fatalf("received %d webhooks, want 4", n)
	}
}

func TestChatArchitectCallbackFailures(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: time.Millisecond})
	f.SetWebhook(hook.srv.URL)
	c := caClientFor(f)
	f.FailDestination("+"+caTo, 1002, "Number Does Not Exist On WhatsApp")
	res, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"})
	if err != nil {
		t.Fatal(err) // delivery failures are not HTTP errors
	}
	ws := hook.wait(t, 1)
	e := ws[0].Event
	if e.Status != "failed" || e.MessageID != res.MessageID || e.Code != 1002 || e.Reason != "Number Does Not Exist On WhatsApp" {
		t.Fatalf("event = %+v", e)
	}

	// FailDestination covers one send: the next one is delivered. An asynchronous failure
	// (rate limit) comes after enqueued, keyed by gsId.
	f.FailDestination(caTo, 4001, "API Rate Limited")
	res2, _ := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "again"})
	hook.wait(t, 3)
	res3, _ := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "third"})
	ws = hook.wait(t, 7)
	if got := caStatuses(ws[1:]); !slices.Equal(got, []string{"enqueued", "failed", "enqueued", "sent", "delivered", "read"}) {
		t.Fatalf("statuses = %v", got)
	}
	if e := ws[2].Event; e.MessageID != res2.MessageID || e.ProviderID != "" || e.Code != 4001 || e.At.IsZero() {
		t.Fatalf("async failure = %+v", e)
	}
	if e := ws[6].Event; e.MessageID != res3.MessageID {
		t.Fatalf("read = %+v", e)
	}
}

func TestChatArchitectCallbackRetries(t *testing.T) {
	hook := caNewHookRecorder(t, 2)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: time.Millisecond})
	f.SetWebhook(hook.srv.URL)
	if _, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := caStatuses(hook.wait(t, 4)); !slices.Equal(got, []string{"enqueued", "sent", "delivered", "read"}) {
		t.Fatalf("statuses = %v", got)
	}

	// A webhook that always fails gets a few attempts per event, then the event is dropped.
	dead := caNewHookRecorder(t, 1000)
	f.SetWebhook(dead.srv.URL)
	if _, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		dead.mu.Lock()
		n := dead.attempts
		dead.mu.Unlock()
		if n == 16 {
			break
		}
		if n > 16 || time.Now().After(deadline) {
			t.Fatalf("%d attempts, want 4 per event", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChatArchitectCloseStopsCallbacks(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.SetWebhook(hook.srv.URL)
	if _, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	n := len(hook.received())
	time.Sleep(100 * time.Millisecond)
	if m := len(hook.received()); m != n || m == 4 {
		t.Fatalf("callbacks went on after Close: %d then %d", n, m)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := f.SendInbound(context.Background(), sandbox.InboundMessage{From: caTo, Text: "hi"}); err == nil {
		t.Fatal("SendInbound after Close succeeded")
	}
}

func TestChatArchitectMinimalEvents(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: time.Millisecond, MinimalEvents: true})
	f.SetWebhook(hook.srv.URL)
	res, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	ws := hook.wait(t, 4)
	for _, w := range ws {
		if _, ok := w.Raw["timestamp"]; ok || w.Event.MessageID != res.MessageID || w.Event.ProviderID != res.MessageID {
			t.Fatalf("minimal event = %s", hook.received()[0])
		}
	}
	want := `{"payload":{"id":"` + res.MessageID + `","type":"enqueued"},"type":"message-event"}`
	if got := string(hook.received()[0]); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestChatArchitectSeparateWebhooks(t *testing.T) {
	main, events := caNewHookRecorder(t, 0), caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: time.Millisecond})
	code, _ := caPost(t, f, "/webhook", `{"channel":"whatsapp","webhook":"`+main.srv.URL+`","webhook_separate":"true","webhook_message_event":"`+events.srv.URL+`"}`, true)
	if code != 200 {
		t.Fatalf("register: %d", code)
	}
	if _, err := caClientFor(f).Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	events.wait(t, 4)
	if err := f.SendInbound(context.Background(), sandbox.InboundMessage{From: caTo, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	if ws := main.wait(t, 1); len(main.received()) != 1 || ws[0].Type != chatarchitect.TypeMessage {
		t.Fatalf("main webhook got %d bodies", len(main.received()))
	}
}

func TestChatArchitectHSMTextMatching(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{Callbacks: true, CallbackDelay: time.Millisecond})
	f.SetWebhook(hook.srv.URL)
	c := caClientFor(f)
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, IsHSM: true,
		Text: "Thank you Amina, we received your payment. Your account is in good standing."}); err != nil {
		t.Fatal(err)
	}
	if s := f.Sent()[0]; s.Kind != "text" || s.TemplateName != "thank_you" {
		t.Fatalf("sent = %+v", s)
	}
	hook.wait(t, 4)
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, IsHSM: true, Text: "Pay now!"}); err != nil {
		t.Fatal(err)
	}
	ws := hook.wait(t, 6)
	if e := ws[5].Event; e.Status != "failed" || e.Code != 4003 {
		t.Fatalf("unmatched HSM text: %+v", e)
	}
}

func TestChatArchitectSendInbound(t *testing.T) {
	hook := caNewHookRecorder(t, 0)
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	ctx := context.Background()
	if err := f.SendInbound(ctx, sandbox.InboundMessage{From: caTo, Text: "hi"}); err == nil {
		t.Fatal("SendInbound without a webhook succeeded")
	}
	f.SetWebhook(hook.srv.URL)
	base := chatarchitect.Inbound{From: caTo, Name: "Amina"}
	with := func(mod func(*chatarchitect.Inbound)) chatarchitect.Inbound {
		m := base
		mod(&m)
		return m
	}
	tests := []struct {
		in   sandbox.InboundMessage
		want chatarchitect.Inbound
	}{
		{sandbox.InboundMessage{Text: "STOP"}, with(func(m *chatarchitect.Inbound) { m.Type, m.Text = "text", "STOP" })},
		{sandbox.InboundMessage{Type: "image", MediaURL: "https://media.example/1.jpg", Caption: "my meter"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.MediaURL, m.Caption, m.ContentType = "image", "https://media.example/1.jpg", "my meter", "image/jpeg"
		})},
		{sandbox.InboundMessage{Type: "audio", MediaURL: "https://media.example/1.ogg"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.MediaURL, m.ContentType = "audio", "https://media.example/1.ogg", "audio/ogg; codecs=opus"
		})},
		{sandbox.InboundMessage{Type: "video", MediaURL: "https://media.example/1.mp4"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.MediaURL, m.ContentType = "video", "https://media.example/1.mp4", "video/mp4"
		})},
		{sandbox.InboundMessage{Type: "file", MediaURL: "https://media.example/r.pdf", Filename: "receipt.pdf", Caption: "paid"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.MediaURL, m.Filename, m.Caption, m.ContentType = "file", "https://media.example/r.pdf", "receipt.pdf", "paid", "application/pdf"
		})},
		{sandbox.InboundMessage{Type: "location", Latitude: "-1.2921", Longitude: "36.8219"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.Latitude, m.Longitude = "location", "-1.2921", "36.8219"
		})},
		{sandbox.InboundMessage{Type: "button_reply", Text: "Pay now", ReplyID: "pay"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.Text, m.ReplyID = "button_reply", "Pay now", "pay"
		})},
		{sandbox.InboundMessage{Type: "list_reply", Text: "Balance", ReplyID: "bal"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.Text, m.ReplyID = "list_reply", "Balance", "bal"
		})},
		{sandbox.InboundMessage{Type: "quick_reply", Text: "View balance", ReplyID: "balance"}, with(func(m *chatarchitect.Inbound) {
			m.Type, m.Text, m.ReplyID = "quick_reply", "View balance", "balance"
		})},
	}
	for i, tt := range tests {
		tt.in.From, tt.in.Name = "+"+caTo, "Amina"
		if err := f.SendInbound(ctx, tt.in); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		w := hook.wait(t, i+1)[i]
		if w.Type != chatarchitect.TypeMessage || w.Message == nil || w.Timestamp.IsZero() {
			t.Fatalf("%d: %+v", i, w)
		}
		got := *w.Message
		if !strings.HasPrefix(got.ID, "gBEG") {
			t.Errorf("%d: id %q", i, got.ID)
		}
		got.ID = ""
		if got != tt.want {
			t.Errorf("%d: got  %+v\nwant %+v", i, got, tt.want)
		}
	}

	// Media without a URL gets a placeholder; bad input is refused.
	if err := f.SendInbound(ctx, sandbox.InboundMessage{From: caTo, Type: "sticker"}); err != nil {
		t.Fatal(err)
	}
	if w := hook.wait(t, len(tests)+1)[len(tests)]; w.Message.MediaURL == "" || w.Message.Type != "sticker" {
		t.Fatalf("sticker = %+v", w.Message)
	}
	for _, bad := range []sandbox.InboundMessage{{From: "abc"}, {From: caTo, Type: "location"}, {From: caTo, Type: "hologram"}} {
		if err := f.SendInbound(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	failing := caNewHookRecorder(t, 1)
	f.SetWebhook(failing.srv.URL)
	if err := f.SendInbound(ctx, sandbox.InboundMessage{From: caTo, Text: "hi"}); err == nil {
		t.Fatal("SendInbound ignored a 500")
	}
}

func TestChatArchitectWaitSent(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	c := caClientFor(f)
	go func() {
		for range 3 {
			time.Sleep(5 * time.Millisecond)
			c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"})
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sent, err := f.WaitSent(ctx, 3)
	if err != nil || len(sent) < 3 {
		t.Fatalf("WaitSent = %d, %v", len(sent), err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if sent, err := f.WaitSent(short, 10); !errors.Is(err, context.DeadlineExceeded) || len(sent) != 3 {
		t.Fatalf("WaitSent = %d, %v", len(sent), err)
	}
}

func TestChatArchitectHandler(t *testing.T) {
	f := caStartFake(t, sandbox.ChatArchitectOptions{})
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	c := chatarchitect.New(chatarchitect.Config{BaseURL: srv.URL,
		AppID: sandbox.ChatArchitectDefaultAppID, AppSecret: sandbox.ChatArchitectDefaultAppSecret})
	if _, err := c.Send(context.Background(), chatarchitect.Message{To: caTo, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(f.Sent()) != 1 {
		t.Fatal("send through Handler not recorded")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/getHSM", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(sandbox.ChatArchitectDefaultAppID+":"+sandbox.ChatArchitectDefaultAppSecret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}
