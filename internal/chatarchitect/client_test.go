package chatarchitect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// stub is a scripted ChatArchitect: it records every request and answers /getHSM with
// templates and everything else with respond (a 202 with a messageId by default).
type stub struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	reqs      []stubReq
	templates string
	respond   func(w http.ResponseWriter, r *http.Request)
}

type stubReq struct {
	Path string
	Auth string
	Type string
	Body map[string]any
}

const stubTemplates = `{"status":"success","templates":[
 {"id":"t-pay-en","elementName":"payment_reminder","languageCode":"en","category":"UTILITY","templateType":"TEXT","status":"APPROVED","data":"Hello {{1}}, you are {{2}} days late."},
 {"id":"t-pay-sw","elementName":"payment_reminder","languageCode":"sw","category":"UTILITY","templateType":"TEXT","status":"APPROVED","data":"Habari {{1}}, siku {{2}}."},
 {"id":"t-pay-enus","elementName":"payment_reminder","languageCode":"en_US","category":"UTILITY","templateType":"TEXT","status":"APPROVED","data":"Hi {{1}}, {{2}} days."},
 {"id":"t-thanks-us","elementName":"thank_you","languageCode":"en_US","category":"UTILITY","templateType":"TEXT","status":"APPROVED","data":"Thank you {{1}}."},
 {"id":"t-offer-us","elementName":"offer","languageCode":"en_US","status":"APPROVED","data":"Offer {{1}}"},
 {"id":"t-offer-gb","elementName":"offer","languageCode":"en_GB","status":"APPROVED","data":"Offer {{1}}"},
 {"id":"t-new","elementName":"brand_new","languageCode":"en","status":"PENDING","data":"New {{1}}"},
 {"id":8,"elementName":"numeric_id","languageCode":"en","status":"approved","data":"No params"}
]}`

func newStub(t *testing.T) *stub {
	s := &stub{t: t, templates: stubTemplates}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(data, &body)
		s.mu.Lock()
		s.reqs = append(s.reqs, stubReq{Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
			Type: r.Header.Get("Content-Type"), Body: body})
		templates, respond := s.templates, s.respond
		s.mu.Unlock()
		if r.URL.Path == "/getHSM" {
			io.WriteString(w, templates)
			return
		}
		if respond != nil {
			respond(w, r)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"submitted","messageId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35"}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) client() *Client {
	return New(Config{BaseURL: s.srv.URL + "/", AppID: "app", AppSecret: "s3cret"})
}

func (s *stub) requests(path string) []stubReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stubReq
	for _, r := range s.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *stub) answer(status int, body string, header ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// jsonOf round-trips v so that it compares equal to a decoded request body.
func jsonOf(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSendBodies(t *testing.T) {
	const to = "254712345678"
	tests := []struct {
		name string
		msg  Message
		want map[string]any
	}{
		{"text", Message{To: to, Text: "Hi John, how are you?"},
			map[string]any{"type": "text", "message": "Hi John, how are you?"}},
		{"text with plus and spaces", Message{To: "+254 712 345 678", Text: "Hi"},
			map[string]any{"type": "text", "message": "Hi"}},
		{"hsm text", Message{To: to, Text: "Hello Amina, you are 5 days late.", IsHSM: true},
			map[string]any{"type": "text", "message": "Hello Amina, you are 5 days late.", "isHSM": "true"}},
		{"image", Message{To: to, Media: &Media{Type: "image", URL: "https://cdn.example/a.jpg", Caption: "Sample image"}},
			map[string]any{"type": "image", "originalUrl": "https://cdn.example/a.jpg", "previewUrl": "https://cdn.example/a.jpg", "caption": "Sample image"}},
		{"image caption from text", Message{To: to, Text: "Look", Media: &Media{Type: "IMAGE", URL: "https://cdn.example/a.jpg"}},
			map[string]any{"type": "image", "originalUrl": "https://cdn.example/a.jpg", "previewUrl": "https://cdn.example/a.jpg", "caption": "Look"}},
		{"audio drops caption", Message{To: to, Media: &Media{Type: "audio", URL: "https://cdn.example/a.mp3", Caption: "ignored"}},
			map[string]any{"type": "audio", "url": "https://cdn.example/a.mp3"}},
		{"video", Message{To: to, Media: &Media{Type: "video", URL: "https://cdn.example/a.mp4", Caption: "Clip"}},
			map[string]any{"type": "video", "url": "https://cdn.example/a.mp4", "caption": "Clip"}},
		{"file", Message{To: to, Media: &Media{Type: "file", URL: "https://cdn.example/a.pdf", Filename: "invoice.pdf", Caption: "Your invoice"}},
			map[string]any{"type": "file", "url": "https://cdn.example/a.pdf", "filename": "invoice.pdf", "caption": "Your invoice"}},
		{"document default filename", Message{To: to, Media: &Media{Type: "document", URL: "https://cdn.example/docs/statement.pdf?sig=1"}},
			map[string]any{"type": "file", "url": "https://cdn.example/docs/statement.pdf?sig=1", "filename": "statement.pdf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t)
			res, err := s.client().Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.MessageID != "ee4a68a0-1203-4c85-8dc3-49d0b3226a35" || res.TemplateID != "" || len(res.Raw) == 0 {
				t.Fatalf("result = %+v", res)
			}
			reqs := s.requests("")
			if len(reqs) != 1 || reqs[0].Path != "/whatsappmessage" {
				t.Fatalf("requests = %+v", reqs)
			}
			r := reqs[0]
			if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("app:s3cret")); r.Auth != want {
				t.Errorf("Authorization = %q, want %q", r.Auth, want)
			}
			if r.Type != "application/json" {
				t.Errorf("Content-Type = %q", r.Type)
			}
			want := jsonOf(t, map[string]any{"channel": "whatsapp", "destination": to, "payload": tt.want})
			if !reflect.DeepEqual(r.Body, want) {
				t.Errorf("body = %v\nwant   %v", r.Body, want)
			}
		})
	}
}

func TestSendInvalidMessageMakesNoRequest(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{"no destination", Message{Text: "hi"}},
		{"letters in destination", Message{To: "2547123abc", Text: "hi"}},
		{"short destination", Message{To: "12345", Text: "hi"}},
		{"empty text", Message{To: "254712345678", Text: "  "}},
		{"media without url", Message{To: "254712345678", Media: &Media{Type: "image"}}},
		{"relative media url", Message{To: "254712345678", Media: &Media{Type: "image", URL: "/a.jpg"}}},
		{"unknown media type", Message{To: "254712345678", Media: &Media{Type: "hologram", URL: "https://x.test/a"}}},
		{"template without name", Message{To: "254712345678", Template: &Template{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t)
			_, err := s.client().Send(context.Background(), tt.msg)
			if ClassOf(err) != Permanent {
				t.Fatalf("err = %v, class %v; want Permanent", err, ClassOf(err))
			}
			if strings.Contains(err.Error(), "2547123") {
				t.Errorf("error text carries the phone: %v", err)
			}
			if n := len(s.requests("")); n != 0 {
				t.Fatalf("%d requests made", n)
			}
		})
	}
}

func TestSendTemplate(t *testing.T) {
	tests := []struct {
		name, tmpl, lang string
		params           []string
		wantID           string
		wantErr          bool
	}{
		{"exact en", "payment_reminder", "en", []string{"Amina", "5"}, "t-pay-en", false},
		{"exact sw", "payment_reminder", "sw", []string{"Amina", "5"}, "t-pay-sw", false},
		{"exact region, any case and dash", "payment_reminder", "EN-us", []string{"Amina", "5"}, "t-pay-enus", false},
		{"bare language finds unique region", "thank_you", "en", []string{"Amina"}, "t-thanks-us", false},
		{"empty language with one template", "thank_you", "", []string{"Amina"}, "t-thanks-us", false},
		{"numeric id, lowercase status, no params", "numeric_id", "en", nil, "8", false},
		{"ambiguous regions", "offer", "en", []string{"x"}, "", true},
		{"empty language with several templates", "payment_reminder", "", []string{"a", "b"}, "", true},
		{"region not listed", "thank_you", "en_GB", []string{"Amina"}, "", true},
		{"not approved", "brand_new", "en", []string{"x"}, "", true},
		{"unknown name", "nope", "en", nil, "", true},
		{"unknown language", "payment_reminder", "fr", []string{"a", "b"}, "", true},
		{"too few params", "payment_reminder", "en", []string{"Amina"}, "", true},
		{"too many params", "thank_you", "en", []string{"Amina", "extra"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t)
			res, err := s.client().Send(context.Background(), Message{To: "254712345678", Text: "ignored",
				Template: &Template{Name: tt.tmpl, Language: tt.lang, Params: tt.params}})
			sends := s.requests("/whatsappmessage")
			if tt.wantErr {
				if ClassOf(err) != Permanent {
					t.Fatalf("err = %v; want Permanent", err)
				}
				if len(sends) != 0 {
					t.Fatalf("sent %d messages", len(sends))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.TemplateID != tt.wantID || res.MessageID == "" {
				t.Fatalf("result = %+v, want template %s", res, tt.wantID)
			}
			params := tt.params
			if params == nil {
				params = []string{}
			}
			want := jsonOf(t, map[string]any{"channel": "whatsapp", "destination": "254712345678",
				"template": map[string]any{"id": tt.wantID, "params": params}})
			if len(sends) != 1 || !reflect.DeepEqual(sends[0].Body, want) {
				t.Fatalf("sends = %+v\nwant %v", sends, want)
			}
			hsm := s.requests("/getHSM")
			if len(hsm) != 1 || hsm[0].Body["channel"] != "whatsapp" || hsm[0].Body["getHSM"] != "true" {
				t.Fatalf("getHSM requests = %+v", hsm)
			}
		})
	}
}

func TestUnknownTemplateIsErrUnknownTemplate(t *testing.T) {
	s := newStub(t)
	_, err := s.client().Send(context.Background(), Message{To: "254712345678", Template: &Template{Name: "nope", Language: "en"}})
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("err = %v; want ErrUnknownTemplate", err)
	}
}

func TestTemplateCache(t *testing.T) {
	s := newStub(t)
	c := s.client()
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	send := func(name string) error {
		_, err := c.Send(context.Background(), Message{To: "254712345678",
			Template: &Template{Name: name, Language: "en", Params: []string{"A", "5"}}})
		return err
	}
	for range 3 {
		if err := send("payment_reminder"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.requests("/getHSM")); n != 1 {
		t.Fatalf("getHSM fetched %d times within the TTL, want 1", n)
	}

	// A template approved after the list was cached is found by one forced refresh.
	s.mu.Lock()
	s.templates = strings.Replace(stubTemplates, `"elementName":"brand_new","languageCode":"en","status":"PENDING","data":"New {{1}}"`,
		`"elementName":"brand_new","languageCode":"en","status":"APPROVED","data":"New {{1}} {{2}}"`, 1)
	s.mu.Unlock()
	now = now.Add(time.Minute)
	if err := send("brand_new"); err != nil {
		t.Fatalf("newly approved template: %v", err)
	}
	if n := len(s.requests("/getHSM")); n != 2 {
		t.Fatalf("getHSM fetched %d times, want 2", n)
	}
	// Misses do not refresh more than once a minute.
	for range 3 {
		if err := send("still_unknown"); ClassOf(err) != Permanent {
			t.Fatalf("err = %v", err)
		}
	}
	if n := len(s.requests("/getHSM")); n != 2 {
		t.Fatalf("getHSM fetched %d times after misses, want 2", n)
	}
	now = now.Add(missRefreshEvery)
	send("still_unknown")
	if n := len(s.requests("/getHSM")); n != 3 {
		t.Fatalf("getHSM fetched %d times, want 3", n)
	}
	// The TTL expires.
	now = now.Add(DefaultTemplateTTL)
	if err := send("payment_reminder"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests("/getHSM")); n != 4 {
		t.Fatalf("getHSM fetched %d times after the TTL, want 4", n)
	}
}

func TestTemplateCacheConcurrentColdStart(t *testing.T) {
	s := newStub(t)
	c := s.client()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := c.Send(context.Background(), Message{To: "254712345678",
				Template: &Template{Name: "thank_you", Language: "en", Params: []string{"A"}}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(s.requests("/getHSM")); n != 1 {
		t.Fatalf("getHSM fetched %d times, want 1", n)
	}
}

func TestTemplates(t *testing.T) {
	s := newStub(t)
	list, err := s.client().Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 8 {
		t.Fatalf("got %d templates", len(list))
	}
	want := HSM{ID: "t-pay-en", ElementName: "payment_reminder", LanguageCode: "en", Category: "UTILITY",
		TemplateType: "TEXT", Status: "APPROVED", Data: "Hello {{1}}, you are {{2}} days late."}
	if list[0] != want || list[0].Params() != 2 || !list[0].Approved() {
		t.Fatalf("first = %+v", list[0])
	}
	if list[6].Approved() || list[7].ID != "8" {
		t.Fatalf("got %+v, %+v", list[6], list[7])
	}

	for _, body := range []string{`[{"id":"x","elementName":"a"}]`, `{"data":[{"id":"x","elementName":"a"}]}`} {
		s.mu.Lock()
		s.templates = body
		s.mu.Unlock()
		list, err := s.client().Templates(context.Background())
		if err != nil || len(list) != 1 || list[0].ID != "x" {
			t.Fatalf("%s: %+v, %v", body, list, err)
		}
	}
	for _, body := range []string{`{"status":"error","message":"nope"}`, `<html>`, `{"templates":"x"}`} {
		s.mu.Lock()
		s.templates = body
		s.mu.Unlock()
		if _, err := s.client().Templates(context.Background()); ClassOf(err) != Permanent {
			t.Fatalf("%s: err = %v", body, err)
		}
	}
}

func TestSendResponses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		header     []string
		wantID     string
		wantClass  Class
		wantRetry  time.Duration
		wantInText string
	}{
		{"gupshup 202", 202, `{"status":"submitted","messageId":"m1"}`, nil, "m1", 0, 0, ""},
		{"200 with id", 200, `{"id":"m2"}`, nil, "m2", 0, 0, ""},
		{"message_id", 201, `{"message_id":"m3","status":"success"}`, nil, "m3", 0, 0, ""},
		{"numeric id", 200, `{"messageId":12345678901234567890}`, nil, "12345678901234567890", 0, 0, ""},
		{"2xx status error", 200, `{"status":"error","message":"Invalid Destination"}`, nil, "", Permanent, 0, "Invalid Destination"},
		{"2xx auth error", 200, `{"status":"error","message":"Authentication Failed"}`, nil, "", Auth, 0, "Authentication Failed"},
		{"2xx without id", 202, `{"status":"submitted"}`, nil, "", Permanent, 0, "no message id"},
		{"2xx not json", 200, `OK`, nil, "", Permanent, 0, "no message id"},
		{"400", 400, `{"status":"error","message":"Invalid payload type"}`, nil, "", Permanent, 0, "Invalid payload type"},
		{"400 echoing the number", 400, `{"status":"error","message":"Invalid destination +254 712 345678"}`, nil, "", Permanent, 0, "Invalid destination [number]"},
		{"404", 404, `not found`, nil, "", Permanent, 0, "Not Found"},
		{"401", 401, `{"status":"error","message":"Authentication Failed"}`, nil, "", Auth, 0, "Authentication Failed"},
		{"403", 403, ``, nil, "", Auth, 0, "Forbidden"},
		{"429 seconds", 429, `{"status":"error","message":"Too Many Requests"}`, []string{"Retry-After", "7"}, "", Transient, 7 * time.Second, "HTTP 429"},
		{"429 without header", 429, ``, nil, "", Transient, 0, "Too Many Requests"},
		{"503 date", 503, ``, []string{"Retry-After", "Tue, 01 Dec 2026 06:01:00 GMT"}, "", Transient, time.Minute, "Service Unavailable"},
		{"500", 500, `{"status":"error","message":"Internal Server Error"}`, nil, "", Transient, 0, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t)
			s.answer(tt.status, tt.body, tt.header...)
			c := s.client()
			c.now = func() time.Time { return time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC) }
			res, err := c.Send(context.Background(), Message{To: "254712345678", Text: "hi"})
			if tt.wantClass == 0 {
				if err != nil || res.MessageID != tt.wantID || string(res.Raw) != tt.body {
					t.Fatalf("res = %+v, err = %v", res, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, not an *Error", err)
			}
			if e.Class != tt.wantClass || e.StatusCode != tt.status || e.RetryAfter != tt.wantRetry || string(e.Body) != tt.body {
				t.Fatalf("error = %+v", e)
			}
			if !strings.Contains(e.Error(), tt.wantInText) {
				t.Fatalf("Error() = %q, want it to contain %q", e.Error(), tt.wantInText)
			}
		})
	}
}

func TestSendNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s := newStub(t)
		s.srv.Close()
		_, err := s.client().Send(context.Background(), Message{To: "254712345678", Text: "hi"})
		var e *Error
		if !errors.As(err, &e) || e.Class != Transient || e.StatusCode != 0 || e.Err == nil {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		s := newStub(t)
		release := make(chan struct{})
		defer close(release)
		s.respond = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		c := New(Config{BaseURL: s.srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		_, err := c.Send(context.Background(), Message{To: "254712345678", Text: "hi"})
		if ClassOf(err) != Transient || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := newStub(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.client().Send(ctx, Message{To: "254712345678", Text: "hi"})
		if ClassOf(err) != Transient || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("getHSM unreachable", func(t *testing.T) {
		s := newStub(t)
		s.srv.Close()
		_, err := s.client().Send(context.Background(), Message{To: "254712345678", Template: &Template{Name: "thank_you", Language: "en"}})
		if ClassOf(err) != Transient {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRegisterWebhook(t *testing.T) {
	s := newStub(t)
	s.answer(200, `{"status":"success"}`)
	const url = "https://nudge.example/hooks/chatarchitect?token=t0k"
	if err := s.client().RegisterWebhook(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	reqs := s.requests("/webhook")
	want := map[string]any{"channel": "whatsapp", "webhook": url, "webhook_separate": "false",
		"webhook_message_event": url, "webhook_user_event": url}
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].Body, want) {
		t.Fatalf("requests = %+v", reqs)
	}

	s.answer(200, ``)
	if err := s.client().RegisterWebhook(context.Background(), url); err != nil {
		t.Fatalf("empty 2xx: %v", err)
	}
	s.answer(200, `{"status":"error","message":"Only HTTPS is accepted"}`)
	if err := s.client().RegisterWebhook(context.Background(), url); ClassOf(err) != Permanent {
		t.Fatalf("2xx error: %v", err)
	}
	s.answer(401, `{"status":"error","message":"Authentication Failed"}`)
	if err := s.client().RegisterWebhook(context.Background(), url); ClassOf(err) != Auth {
		t.Fatalf("401: %v", err)
	}
}

func TestProbe(t *testing.T) {
	s := newStub(t)
	s.answer(200, `{"status":"error","message":"destination is required"}`)
	if err := s.client().Probe(context.Background()); err != nil {
		t.Fatalf("2xx with an error body: %v", err)
	}
	reqs := s.requests("/whatsappmessage")
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].Body, map[string]any{"channel": "whatsapp"}) {
		t.Fatalf("requests = %+v", reqs)
	}
	s.answer(401, `{"status":"error","message":"Authentication Failed"}`)
	if err := s.client().Probe(context.Background()); ClassOf(err) != Auth {
		t.Fatalf("401: %v", err)
	}
	s.answer(502, ``)
	if err := s.client().Probe(context.Background()); ClassOf(err) != Transient {
		t.Fatalf("502: %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(Config{})
	if c.baseURL != DefaultBaseURL || c.http.Timeout != DefaultTimeout || c.ttl != DefaultTemplateTTL {
		t.Fatalf("defaults: %q %v %v", c.baseURL, c.http.Timeout, c.ttl)
	}
}
