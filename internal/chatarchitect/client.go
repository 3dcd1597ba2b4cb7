// Package chatarchitect is nudge's client for the ChatArchitect.com WhatsApp API and its
// webhook decoder.
//
// The public material on ChatArchitect leaves much unsaid (see chatarchitect-api.md): the
// template send shape, the send response, the inbound webhook shape and the error codes are
// assumptions borrowed from Gupshup. Every such assumption lives in this package so that one
// change corrects it. The package never logs: errors carry what the caller needs, and never a
// secret or a phone number in their text.
package chatarchitect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultBaseURL     = "https://api.chatarchitect.com"
	DefaultTimeout     = 30 * time.Second
	DefaultTemplateTTL = 10 * time.Minute
)

// maxResponseBody bounds how much of a response is read and kept.
const maxResponseBody = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL     string        // "" → DefaultBaseURL; e.g. the sandbox fake's URL
	AppID       string        // Basic auth user
	AppSecret   string        // Basic auth password
	HTTPClient  *http.Client  // nil → a client with DefaultTimeout
	TemplateTTL time.Duration // how long the /getHSM list is cached; 0 → DefaultTemplateTTL
}

// Client calls the ChatArchitect API. It is safe for concurrent use. It makes one attempt
// per call: retries, backoff and rate limiting belong to the caller, guided by ClassOf.
type Client struct {
	baseURL   string
	appID     string
	appSecret string
	http      *http.Client
	ttl       time.Duration
	now       func() time.Time

	fetchMu sync.Mutex // serialises /getHSM fetches so a cold cache is filled once

	mu          sync.Mutex
	templates   []HSM
	fetchedAt   time.Time // zero: never fetched
	lastMissRef time.Time // last refresh forced by a template miss
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		appID:     cfg.AppID,
		appSecret: cfg.AppSecret,
		http:      cfg.HTTPClient,
		ttl:       cfg.TemplateTTL,
		now:       time.Now,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.ttl <= 0 {
		c.ttl = DefaultTemplateTTL
	}
	return c
}

// SendResult is what a successful send returns.
type SendResult struct {
	MessageID  string // the provider's id: the correlation key of later message-events
	TemplateID string // the resolved template id, for template sends
	Raw        []byte // the raw response body
}

// Send sends one message with a single POST /whatsappmessage. A template send first
// resolves the template id through the cached /getHSM list. Every failure is an *Error.
func (c *Client) Send(ctx context.Context, m Message) (SendResult, error) {
	to, err := normalizeDestination(m.To)
	if err != nil {
		return SendResult{}, err
	}
	var (
		body       map[string]any
		templateID string
	)
	if m.Template != nil {
		t, err := c.resolveTemplate(ctx, *m.Template)
		if err != nil {
			return SendResult{}, err
		}
		templateID = t.ID
		body = templateBody(to, t.ID, m.Template.Params)
	} else {
		payload, err := sessionPayload(m)
		if err != nil {
			return SendResult{}, err
		}
		body = map[string]any{"channel": "whatsapp", "destination": to, "payload": payload}
	}

	status, raw, hdr, err := c.post(ctx, "/whatsappmessage", body)
	if err != nil {
		return SendResult{}, networkError("send", err)
	}
	if err := c.checkStatus("send", status, raw, hdr); err != nil {
		return SendResult{}, err
	}
	resp := parseResponse(raw)
	if resp.isError() {
		return SendResult{}, resp.errorFor("send", status, raw)
	}
	if resp.id == "" {
		return SendResult{}, &Error{Provider: name, Class: Permanent, StatusCode: status,
			Message: "send: response has no message id", Body: raw}
	}
	return SendResult{MessageID: resp.id, TemplateID: templateID, Raw: raw}, nil
}

// RegisterWebhook points every callback kind (message, message-event, user-event) at url,
// with webhook_separate "false". Any 2xx that does not say "status":"error" is success.
func (c *Client) RegisterWebhook(ctx context.Context, url string) error {
	body := map[string]any{
		"channel":               "whatsapp",
		"webhook":               url,
		"webhook_separate":      "false",
		"webhook_message_event": url,
		"webhook_user_event":    url,
	}
	status, raw, hdr, err := c.post(ctx, "/webhook", body)
	if err != nil {
		return networkError("register webhook", err)
	}
	if err := c.checkStatus("register webhook", status, raw, hdr); err != nil {
		return err
	}
	if resp := parseResponse(raw); resp.isError() {
		return resp.errorFor("register webhook", status, raw)
	}
	return nil
}

// Probe checks the credentials the way ChatArchitect's own integrations do: an
// authenticated POST /whatsappmessage with only {"channel":"whatsapp"}. Any 2xx is
// success, whatever its body says (the request is incomplete on purpose).
func (c *Client) Probe(ctx context.Context) error {
	status, raw, hdr, err := c.post(ctx, "/whatsappmessage", map[string]any{"channel": "whatsapp"})
	if err != nil {
		return networkError("probe", err)
	}
	return c.checkStatus("probe", status, raw, hdr)
}

// post sends body as JSON with Basic auth and returns the status, the (bounded) body and
// the headers. err is set only when no response was received.
func (c *Client) post(ctx context.Context, path string, body any) (int, []byte, http.Header, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("error encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(data))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("error building request: %w", err)
	}
	req.SetBasicAuth(c.appID, c.appSecret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "nudge")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("error reading response: %w", err)
	}
	return resp.StatusCode, raw, resp.Header, nil
}

// checkStatus turns a non-2xx response into a classified *Error.
func (c *Client) checkStatus(op string, status int, raw []byte, hdr http.Header) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	e := &Error{Provider: name,
		Class:      classifyStatus(status),
		StatusCode: status,
		Body:       raw,
		Message:    op + ": " + http.StatusText(status),
	}
	if msg := parseResponse(raw).message; msg != "" {
		e.Message = op + ": " + redact(msg)
	}
	if e.Class == Transient {
		e.RetryAfter = ParseRetryAfter(hdr.Get("Retry-After"), c.now())
	}
	return e
}

// response is the lenient reading of a ChatArchitect JSON answer.
type response struct {
	status  string // "submitted", "success", "error", …
	message string
	id      string // messageId, else id, else message_id
	fields  map[string]any
}

func parseResponse(raw []byte) response {
	var r response
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r.fields); err != nil || r.fields == nil {
		return response{}
	}
	r.status = str(r.fields["status"])
	r.message = str(r.fields["message"])
	for _, k := range []string{"messageId", "id", "message_id"} {
		if id := str(r.fields[k]); id != "" {
			r.id = id
			break
		}
	}
	return r
}

func (r response) isError() bool {
	return strings.EqualFold(r.status, "error") || strings.EqualFold(r.status, "failed")
}

// errorFor classifies a 2xx that says "status":"error". Gupshup answers bad credentials
// with "Authentication Failed"; should such a body ever come with a 2xx, it is still Auth.
func (r response) errorFor(op string, status int, raw []byte) *Error {
	e := &Error{Provider: name, Class: Permanent, StatusCode: status, Body: raw, Message: op + ": rejected"}
	if r.message != "" {
		e.Message = op + ": " + redact(r.message)
	}
	if strings.Contains(strings.ToLower(r.message), "authentication") {
		e.Class = Auth
	}
	return e
}

// phoneLikeRE matches what could be a phone number in a provider's message.
var phoneLikeRE = regexp.MustCompile(`\+?[0-9][0-9 ]{5,}[0-9]`)

// redact keeps phone numbers a provider may echo out of error texts, which end up in logs.
func redact(msg string) string {
	const max = 200
	msg = phoneLikeRE.ReplaceAllString(msg, "[number]")
	if len(msg) > max {
		msg = strings.ToValidUTF8(msg[:max], "") + "…"
	}
	return msg
}

// str renders a JSON scalar as a string; anything else is "".
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return trimFloat(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

// errInvalid builds the Permanent error for a message that cannot be sent as given.
func errInvalid(msg string) *Error {
	return &Error{Provider: name, Class: Permanent, Message: "invalid message: " + msg}
}
