package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of ChatArchitectOptions.
const (
	ChatArchitectDefaultAppID         = "sandbox-app"
	ChatArchitectDefaultAppSecret     = "sandbox-secret"
	ChatArchitectDefaultCallbackDelay = 50 * time.Millisecond
)

// ChatArchitectOptions configures the fake ChatArchitect.
type ChatArchitectOptions struct {
	AppID, AppSecret string        // Basic auth credentials; "" → the ChatArchitectDefault… values
	Templates        []HSMTemplate // initial templates; nil → ChatArchitectDefaultTemplates()
	Callbacks        bool          // after each accepted send, POST its delivery events to the webhook
	CallbackDelay    time.Duration // before each event (so the sender has its messageId first); 0 → 50ms
	// MinimalEvents sends message-events in ChatArchitect's minimal documented form
	// {"type":…,"payload":{"id":<messageId>,"type":<status>}} instead of Gupshup's full form.
	MinimalEvents bool
	// AutoApprove makes templates created through /submit_template APPROVED at once
	// instead of PENDING.
	AutoApprove bool
}

// HSMTemplate is a template the fake knows. Data holds the text with {{n}} placeholders.
type HSMTemplate struct{ ID, ElementName, LanguageCode, Category, Status, Data string }

// ChatArchitectDefaultTemplates returns the templates a fake starts with when
// ChatArchitectOptions.Templates is nil. All are APPROVED.
func ChatArchitectDefaultTemplates() []HSMTemplate {
	return []HSMTemplate{
		{ID: "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a01", ElementName: "payment_reminder", LanguageCode: "en", Category: "UTILITY", Status: "APPROVED",
			Data: "Hello {{1}}, your payment is {{2}} days late. Please pay to keep your device running."},
		{ID: "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a02", ElementName: "payment_reminder", LanguageCode: "sw", Category: "UTILITY", Status: "APPROVED",
			Data: "Habari {{1}}, malipo yako yamechelewa siku {{2}}. Tafadhali lipa ili kifaa chako kiendelee kufanya kazi."},
		{ID: "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a03", ElementName: "agent_task", LanguageCode: "en", Category: "UTILITY", Status: "APPROVED",
			Data: "New task {{1}}: {{2}}. Reply DONE {{1}} when it is done."},
		{ID: "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a04", ElementName: "thank_you", LanguageCode: "en", Category: "UTILITY", Status: "APPROVED",
			Data: "Thank you {{1}}, we received your payment. Your account is in good standing."},
		{ID: "5d2a3c1e-0b7f-4e43-9a51-7c1f0e6b2a05", ElementName: "welcome", LanguageCode: "en", Category: "MARKETING", Status: "APPROVED",
			Data: "Karibu {{1}}! We received your down payment for {{2}}."},
	}
}

// SentMessage is one send the fake accepted.
type SentMessage struct {
	MessageID    string         // the messageId the fake answered with
	Destination  string         // digits only
	Kind         string         // "text", "template", or the payload type (image, audio, video, file, location, contact, list, quick_reply)
	Text         string         // the text; for a template, its Data with the params filled in; for media, the caption
	TemplateID   string         // template sends
	TemplateName string         // resolved from the id; for isHSM text, the template it matched
	Params       []string       // template params
	Media        map[string]any // the payload object of a non-text session message
	Body         []byte         // the raw request body
	At           time.Time
}

// ChatArchitect is a fake ChatArchitect API on loopback, following chatarchitect-api.md §9.
type ChatArchitect struct {
	opts      ChatArchitectOptions
	faults    Faults
	handler   http.Handler
	srv       *http.Server
	url       string
	transport *http.Transport
	hookHTTP  *http.Client // for callbacks and inbound messages
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // in-flight callback goroutines
	started   time.Time

	mu        sync.Mutex
	closed    bool
	templates []HSMTemplate
	sent      []SentMessage
	requests  int
	hooks     caHooks
	failures  map[string][]caFailure
	refusals  map[string][]int // destination → HTTP statuses for its next sends
	changed   chan struct{}    // closed and replaced whenever sent changes
}

// caHooks is the webhook registration.
type caHooks struct {
	main, events, users string
	separate            bool
}

type caFailure struct {
	code   int
	reason string
}

// StartChatArchitect starts a fake ChatArchitect on 127.0.0.1 at a free port.
func StartChatArchitect(opts ChatArchitectOptions) (*ChatArchitect, error) {
	if opts.AppID == "" {
		opts.AppID = ChatArchitectDefaultAppID
	}
	if opts.AppSecret == "" {
		opts.AppSecret = ChatArchitectDefaultAppSecret
	}
	if opts.CallbackDelay <= 0 {
		opts.CallbackDelay = ChatArchitectDefaultCallbackDelay
	}
	templates := slices.Clone(opts.Templates)
	if opts.Templates == nil {
		templates = ChatArchitectDefaultTemplates()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("error listening for the fake ChatArchitect: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	f := &ChatArchitect{
		opts:      opts,
		url:       "http://" + ln.Addr().String(),
		transport: transport,
		hookHTTP:  &http.Client{Transport: transport, Timeout: 5 * time.Second},
		started:   time.Now(),
		templates: templates,
		failures:  map[string][]caFailure{},
		refusals:  map[string][]int{},
		changed:   make(chan struct{}),
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.handler = http.HandlerFunc(f.serveHTTP)
	f.srv = serve(ln, f.handler)
	return f, nil
}

// URL is the base URL to configure the client with.
func (f *ChatArchitect) URL() string { return f.url }

// Handler serves the fake's API, for mounting it elsewhere.
func (f *ChatArchitect) Handler() http.Handler { return f.handler }

// Faults is the queue of scripted failures, applied to requests before authentication.
func (f *ChatArchitect) Faults() *Faults { return &f.faults }

// Close stops the server and waits for in-flight callbacks to stop.
func (f *ChatArchitect) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	err := f.srv.Close()
	f.cancel()
	f.wg.Wait()
	f.transport.CloseIdleConnections()
	return err
}

// Sent returns every accepted send, in order.
func (f *ChatArchitect) Sent() []SentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// Requests returns the number of requests received, accepted or not.
func (f *ChatArchitect) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// WaitSent waits until at least n sends were accepted, and returns them all. On ctx's end
// it returns those accepted so far and ctx's error.
func (f *ChatArchitect) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	for {
		f.mu.Lock()
		sent, changed := slices.Clone(f.sent), f.changed
		f.mu.Unlock()
		if len(sent) >= n {
			return sent, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return sent, ctx.Err()
		}
	}
}

// Reset forgets the accepted sends, the request count, queued faults and FailDestination
// settings. Templates and the webhook registration stay.
func (f *ChatArchitect) Reset() {
	f.faults.Clear()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = nil
	f.requests = 0
	f.failures = map[string][]caFailure{}
	f.refusals = map[string][]int{}
	f.notifyLocked()
}

// WebhookURL is the URL registered through /webhook (or SetWebhook); "" if none.
func (f *ChatArchitect) WebhookURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hooks.main
}

// SetWebhook registers url for every callback kind, as /webhook with webhook_separate
// "false" would.
func (f *ChatArchitect) SetWebhook(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = caHooks{main: url}
}

// FailDestination makes the next send to destination produce a `failed` delivery event
// with code and reason (e.g. 1002 "Number Does Not Exist On WhatsApp") instead of
// sent/delivered/read. Each call covers one send.
func (f *ChatArchitect) FailDestination(destination string, code int, reason string) {
	d := strings.TrimPrefix(destination, "+")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[d] = append(f.failures[d], caFailure{code: code, reason: reason})
}

// RefuseDestination makes the next n sends to destination fail with an HTTP status (a
// Fault that, unlike Faults, hits one recipient only, whatever else is sent meanwhile).
func (f *ChatArchitect) RefuseDestination(destination string, status, n int) {
	d := strings.TrimPrefix(destination, "+")
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.refusals[d] = append(f.refusals[d], status)
	}
}

// AddTemplate adds t, or replaces the template with its ID. An empty ID is generated and an
// empty Status is APPROVED. It returns the template as stored.
func (f *ChatArchitect) AddTemplate(t HSMTemplate) HSMTemplate {
	if t.ID == "" {
		t.ID = caNewUUID()
	}
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.IndexFunc(f.templates, func(h HSMTemplate) bool { return h.ID == t.ID }); i >= 0 {
		f.templates[i] = t
	} else {
		f.templates = append(f.templates, t)
	}
	return t
}

// Templates returns the templates the fake knows, whatever their status.
func (f *ChatArchitect) Templates() []HSMTemplate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.templates)
}

func (f *ChatArchitect) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// serveHTTP is the whole API: count, faults, auth, then the endpoint.
func (f *ChatArchitect) serveHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if f.faults.Apply(w, r) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(f.opts.AppID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(f.opts.AppSecret)) != 1 {
		caError(w, http.StatusUnauthorized, "Authentication Failed")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		caError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		caError(w, http.StatusBadRequest, "Could not read the request body")
		return
	}
	body, err := caDecodeObject(raw)
	if err != nil {
		caError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/whatsappmessage":
		f.handleSend(w, raw, body)
	case "/webhook":
		f.handleWebhook(w, body)
	case "/getHSM":
		f.handleGetHSM(w, body)
	case "/submit_template":
		f.handleSubmitTemplate(w, body)
	default:
		caError(w, http.StatusNotFound, "Not Found")
	}
}

func (f *ChatArchitect) handleSend(w http.ResponseWriter, raw []byte, body map[string]any) {
	if _, ok := body["webhook"]; ok { // legacy registration (chatarchitect-api.md §3.1)
		f.handleWebhook(w, body)
		return
	}
	if caStr(body["channel"]) != "whatsapp" {
		caError(w, http.StatusBadRequest, "Invalid channel")
		return
	}
	if len(body) == 1 { // the credential check: authenticated, incomplete, still 2xx
		caWriteJSON(w, http.StatusOK, map[string]any{"status": "error", "message": "Missing destination"})
		return
	}
	dest, ok := body["destination"].(string)
	if !ok || !caDigitsRE.MatchString(dest) {
		caError(w, http.StatusBadRequest, "Invalid destination")
		return
	}
	f.mu.Lock()
	var refuse int
	if q := f.refusals[dest]; len(q) > 0 {
		refuse, f.refusals[dest] = q[0], q[1:]
	}
	f.mu.Unlock()
	if refuse != 0 {
		caError(w, refuse, http.StatusText(refuse))
		return
	}
	m := SentMessage{Destination: dest, Body: raw}
	var (
		errMsg string
		hsm    bool
	)
	tmpl, hasTemplate := body["template"]
	payload, hasPayload := body["payload"]
	switch {
	case hasTemplate && hasPayload:
		errMsg = "Give either payload or template"
	case hasTemplate:
		errMsg = f.checkTemplate(&m, tmpl)
	case hasPayload:
		hsm, errMsg = f.checkPayload(&m, payload)
	default:
		errMsg = "Missing payload"
	}
	if errMsg != "" {
		caError(w, http.StatusBadRequest, errMsg)
		return
	}

	m.MessageID = caNewUUID()
	m.At = time.Now()
	f.mu.Lock()
	var fail *caFailure
	if q := f.failures[dest]; len(q) > 0 {
		fail = &q[0]
		f.failures[dest] = q[1:]
	} else if hsm && m.TemplateName == "" {
		fail = &caFailure{code: 4003, reason: "No template match"}
	}
	f.sent = append(f.sent, m)
	f.notifyLocked()
	f.mu.Unlock()

	kind := "session"
	if m.Kind == "template" {
		kind = "template"
	}
	f.scheduleEvents(m.MessageID, dest, kind, fail)
	caWriteJSON(w, http.StatusAccepted, map[string]any{"status": "submitted", "messageId": m.MessageID})
}

var (
	caDigitsRE      = regexp.MustCompile(`^[0-9]{7,15}$`)
	caPlaceholderRE = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)
	caElementNameRE = regexp.MustCompile(`^[a-z0-9_]{1,180}$`)
)

// checkTemplate validates a {"id":…,"params":[…]} template object and fills m.
func (f *ChatArchitect) checkTemplate(m *SentMessage, v any) string {
	t, ok := v.(map[string]any)
	if !ok {
		return "Invalid template"
	}
	id := caStr(t["id"])
	f.mu.Lock()
	i := slices.IndexFunc(f.templates, func(h HSMTemplate) bool { return h.ID == id })
	var h HSMTemplate
	if i >= 0 {
		h = f.templates[i]
	}
	f.mu.Unlock()
	if i < 0 {
		return "Template Not Found"
	}
	if !strings.EqualFold(h.Status, "APPROVED") {
		return "Template is not approved"
	}
	params := []string{}
	if p, ok := t["params"]; ok && p != nil {
		list, ok := p.([]any)
		if !ok {
			return "Template params must be a list"
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return "Template params must be strings"
			}
			params = append(params, s)
		}
	}
	if want := caCountPlaceholders(h.Data); want != len(params) {
		return fmt.Sprintf("Template params mismatch: expected %d, got %d", want, len(params))
	}
	m.Kind = "template"
	m.TemplateID = h.ID
	m.TemplateName = h.ElementName
	m.Params = params
	m.Text = caRender(h.Data, params)
	return ""
}

// checkPayload validates a session payload (§3.2) and fills m. It reports whether the
// text asked for HSM matching.
func (f *ChatArchitect) checkPayload(m *SentMessage, v any) (hsm bool, errMsg string) {
	p, ok := v.(map[string]any)
	if !ok {
		return false, "Invalid payload"
	}
	typ := caStr(p["type"])
	m.Kind = typ
	if typ != "text" {
		m.Media = p
		m.Text = caStr(p["caption"])
	}
	switch typ {
	case "text":
		text, _ := p["message"].(string)
		if strings.TrimSpace(text) == "" {
			return false, "Missing message"
		}
		m.Text = text
		if v, ok := p["isHSM"]; ok {
			on, valid := caBool(v)
			if !valid {
				return false, "isHSM must be true or false"
			}
			if on {
				m.TemplateName = f.matchHSM(text)
				return true, ""
			}
		}
	case "image":
		if !caURL(p["originalUrl"]) {
			return false, "Invalid originalUrl"
		}
		if pv, ok := p["previewUrl"]; ok && !caURL(pv) {
			return false, "Invalid previewUrl"
		}
	case "audio", "video":
		if !caURL(p["url"]) {
			return false, "Invalid url"
		}
	case "file":
		if !caURL(p["url"]) {
			return false, "Invalid url"
		}
		if caStr(p["filename"]) == "" {
			return false, "Missing filename"
		}
	case "location":
		lat, ok1 := caNumber(p["latitude"])
		lon, ok2 := caNumber(p["longitude"])
		if !ok1 || !ok2 || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return false, "Invalid latitude or longitude"
		}
	case "contact":
		if _, ok := p["contact"].(map[string]any); !ok {
			return false, "Missing contact"
		}
	case "quick_reply":
		opts, _ := p["options"].([]any)
		if len(opts) == 0 || len(opts) > 3 {
			return false, "quick_reply needs 1 to 3 options"
		}
		content, ok := p["content"].(map[string]any)
		if !ok {
			return false, "Missing content"
		}
		m.Text = caStr(content["text"])
	case "list":
		items, _ := p["items"].([]any)
		if len(items) == 0 {
			return false, "list needs items"
		}
		m.Text = caStr(p["body"])
	default:
		return false, "Invalid payload type"
	}
	return false, ""
}

// matchHSM returns the name of the approved template whose text, with each placeholder
// matching anything, is text; "" if none.
func (f *ChatArchitect) matchHSM(text string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.templates {
		if !strings.EqualFold(h.Status, "APPROVED") || h.Data == "" {
			continue
		}
		parts := caPlaceholderRE.Split(h.Data, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		if re, err := regexp.Compile(`^` + strings.Join(parts, `(.+?)`) + `$`); err == nil && re.MatchString(text) {
			return h.ElementName
		}
	}
	return ""
}

func (f *ChatArchitect) handleWebhook(w http.ResponseWriter, body map[string]any) {
	hook := caStr(body["webhook"])
	if !caURL(hook) {
		caError(w, http.StatusBadRequest, "Invalid webhook URL")
		return
	}
	h := caHooks{main: hook}
	if v, ok := body["webhook_separate"]; ok {
		on, valid := caBool(v)
		if !valid {
			caError(w, http.StatusBadRequest, "webhook_separate must be true or false")
			return
		}
		h.separate = on
	}
	for _, k := range []string{"webhook_message_event", "webhook_user_event"} {
		if v, ok := body[k]; ok && caStr(v) != "" && !caURL(v) {
			caError(w, http.StatusBadRequest, "Invalid "+k)
			return
		}
	}
	h.events = caStr(body["webhook_message_event"])
	h.users = caStr(body["webhook_user_event"])
	f.mu.Lock()
	f.hooks = h
	f.mu.Unlock()
	caWriteJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

func (f *ChatArchitect) handleGetHSM(w http.ResponseWriter, body map[string]any) {
	if ch, ok := body["channel"]; ok && caStr(ch) != "whatsapp" {
		caError(w, http.StatusBadRequest, "Invalid channel")
		return
	}
	if v, ok := body["getHSM"]; ok {
		if _, valid := caBool(v); !valid {
			caError(w, http.StatusBadRequest, "getHSM must be true or false")
			return
		}
	}
	f.mu.Lock()
	list := make([]map[string]any, 0, len(f.templates))
	for _, h := range f.templates {
		list = append(list, f.templateJSON(h))
	}
	f.mu.Unlock()
	caWriteJSON(w, http.StatusOK, map[string]any{"status": "success", "templates": list})
}

// templateJSON renders h as Gupshup lists templates (chatarchitect-api.md §3.4).
func (f *ChatArchitect) templateJSON(h HSMTemplate) map[string]any {
	example := caPlaceholderRE.ReplaceAllString(h.Data, "[$1]")
	meta, _ := json.Marshal(map[string]string{"example": example})
	return map[string]any{
		"id": h.ID, "elementName": h.ElementName, "languageCode": h.LanguageCode,
		"category": h.Category, "templateType": "TEXT", "status": h.Status, "data": h.Data,
		"meta": string(meta), "vertical": "TEXT", "namespace": "sandbox",
		"createdOn": f.started.UnixMilli(), "modifiedOn": f.started.UnixMilli(),
	}
}

func (f *ChatArchitect) handleSubmitTemplate(w http.ResponseWriter, body map[string]any) {
	t, ok := body["submit_template"].(map[string]any)
	if !ok {
		caError(w, http.StatusBadRequest, "Missing submit_template")
		return
	}
	h := HSMTemplate{
		ElementName:  caStr(t["elementName"]),
		LanguageCode: caStr(t["languageCode"]),
		Category:     strings.ToUpper(caStr(t["category"])),
		Data:         caStr(t["content"]),
		Status:       "PENDING",
	}
	if f.opts.AutoApprove {
		h.Status = "APPROVED"
	}
	typ := strings.ToUpper(caStr(t["templateType"]))
	switch {
	case !caElementNameRE.MatchString(h.ElementName):
		caError(w, http.StatusBadRequest, "Invalid elementName")
		return
	case h.LanguageCode == "":
		caError(w, http.StatusBadRequest, "Missing languageCode")
		return
	case !slices.Contains([]string{"AUTHENTICATION", "MARKETING", "UTILITY"}, h.Category):
		caError(w, http.StatusBadRequest, "Invalid category")
		return
	case typ != "" && !slices.Contains([]string{"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"}, typ):
		caError(w, http.StatusBadRequest, "Invalid templateType")
		return
	case strings.TrimSpace(h.Data) == "" || len(h.Data) > 1024:
		caError(w, http.StatusBadRequest, "Invalid content")
		return
	}
	f.mu.Lock()
	if slices.ContainsFunc(f.templates, func(o HSMTemplate) bool {
		return o.ElementName == h.ElementName && o.LanguageCode == h.LanguageCode
	}) {
		f.mu.Unlock()
		caError(w, http.StatusBadRequest, "Template already exists")
		return
	}
	h.ID = caNewUUID()
	f.templates = append(f.templates, h)
	f.mu.Unlock()
	caWriteJSON(w, http.StatusOK, map[string]any{"status": "success", "template": f.templateJSON(h)})
}

// caDecodeObject decodes a JSON object, keeping numbers as json.Number.
func caDecodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

func caWriteJSON(w http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

func caError(w http.ResponseWriter, status int, msg string) {
	caWriteJSON(w, status, map[string]any{"status": "error", "message": msg})
}

// caStr returns v as a string if it is a JSON string or number.
func caStr(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// caBool reads a boolean sent as a JSON bool or as the string "true"/"false".
func caBool(v any) (value, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func caNumber(v any) (float64, bool) {
	s := caStr(v)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// caURL reports whether v is an absolute http(s) URL. The real service wants HTTPS; the
// fake accepts http too, since test servers are plain HTTP.
func caURL(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func caCountPlaceholders(s string) int {
	n := 0
	for _, m := range caPlaceholderRE.FindAllStringSubmatch(s, -1) {
		if v, err := strconv.Atoi(m[1]); err == nil && v > n {
			n = v
		}
	}
	return n
}

func caRender(data string, params []string) string {
	return caPlaceholderRE.ReplaceAllStringFunc(data, func(ph string) string {
		n, _ := strconv.Atoi(caPlaceholderRE.FindStringSubmatch(ph)[1])
		if n >= 1 && n <= len(params) {
			return params[n-1]
		}
		return ph
	})
}

// caNewUUID returns a random (version 4) UUID.
func caNewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
