// Package paygee is nudge's client for Paygee's REST API: find, create and update a
// customer.
//
// Paygee's API is not public (see paygee-api.md): the paths, the bodies, the status codes
// and the error shapes here are assumptions. Every one of them lives in this package so
// that one change corrects them when Paygee's documentation arrives. The package never
// logs: errors carry what the caller needs, and never the API key or a phone number in
// their text.
package paygee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// maxResponseBody bounds how much of a response is read and kept.
const maxResponseBody = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL    string       // paygee.api_url, e.g. https://paygee.example/api/v1
	APIKey     string       // sent as Authorization: Bearer <key>
	HTTPClient *http.Client // nil → a client with DefaultTimeout
}

// Client calls the Paygee API. It is safe for concurrent use. It makes one attempt per
// call: retries and backoff belong to the caller, guided by ClassOf.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	now     func() time.Time
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	c := &Client{
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:  cfg.APIKey,
		http:    cfg.HTTPClient,
		now:     time.Now,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	return c
}

// Customer is a customer as Paygee answers it: {"id", "name", "phone", "state",
// "language", "agent": {"name", "phone"}} and whatever other fields it sends, all kept.
// Numbers are json.Number.
type Customer map[string]any

// ID is the customer's id, rendered as a string ("" if absent).
func (c Customer) ID() string { return scalar(c["id"]) }

// Phone is the customer's phone number as Paygee wrote it, not normalised ("" if absent).
func (c Customer) Phone() string { return scalar(c["phone"]) }

// Request is the HTTP call an action makes, for `nudge simulate` to print without
// making it. The API key is not part of it.
type Request struct {
	Method string         `json:"method"`
	URL    string         `json:"url"`
	Body   map[string]any `json:"body,omitempty"`
}

// DescribeFind is the call FindCustomer makes.
func (c *Client) DescribeFind(id string) Request {
	return Request{Method: http.MethodGet, URL: c.customerURL(id)}
}

// DescribeCreate is the call CreateCustomer makes.
func (c *Client) DescribeCreate(fields map[string]any) Request {
	return Request{Method: http.MethodPost, URL: c.baseURL + "/customers", Body: writeBody(fields)}
}

// DescribeUpdate is the call UpdateCustomer makes.
func (c *Client) DescribeUpdate(id string, fields map[string]any) Request {
	return Request{Method: http.MethodPatch, URL: c.customerURL(id), Body: writeBody(fields)}
}

// writeBody is the JSON object a write sends: a copy of fields, {} for none.
func writeBody(fields map[string]any) map[string]any {
	if fields == nil {
		return map[string]any{}
	}
	return cloneFields(fields)
}

func (c *Client) customerURL(id string) string {
	return c.baseURL + "/customers/" + url.PathEscape(id)
}

// FindCustomer looks a customer up by id with GET /customers/{id}. A 404 means there is
// no such customer: it returns (nil, false, nil), which is an answer, not an error.
func (c *Client) FindCustomer(ctx context.Context, id string) (Customer, bool, error) {
	const op = "find customer"
	if err := checkID(op, id); err != nil {
		return nil, false, err
	}
	status, raw, err := c.do(ctx, op, c.DescribeFind(id))
	if status == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	cust, err := decodeCustomer(op, status, raw, false)
	if err != nil {
		return nil, false, err
	}
	return cust, true, nil
}

// CreateCustomer creates a customer with POST /customers and returns it as Paygee answers
// (201 with the customer, its id assigned). Paygee requires "name" and "phone"; the caller
// checks that they are there, and Paygee answers 400 (Permanent) when they are not.
func (c *Client) CreateCustomer(ctx context.Context, fields map[string]any) (Customer, error) {
	const op = "create customer"
	status, raw, err := c.do(ctx, op, c.DescribeCreate(fields))
	if err != nil {
		return nil, err
	}
	return decodeCustomer(op, status, raw, true)
}

// UpdateCustomer changes the given fields of a customer with PATCH /customers/{id} and
// returns the customer as Paygee answers (200 with the customer). An unknown id is a
// Permanent error with StatusCode 404.
func (c *Client) UpdateCustomer(ctx context.Context, id string, fields map[string]any) (Customer, error) {
	const op = "update customer"
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	status, raw, err := c.do(ctx, op, c.DescribeUpdate(id, fields))
	if err != nil {
		return nil, err
	}
	return decodeCustomer(op, status, raw, true)
}

// checkID refuses ids that would not name one customer: "" would be the collection, and
// "." and ".." would be resolved as path steps by servers and proxies.
func checkID(op, id string) error {
	switch strings.TrimSpace(id) {
	case "", ".", "..":
		return &Error{Provider: name, Class: Permanent, Message: op + ": invalid customer id"}
	}
	return nil
}

// do makes the call req describes. It returns the status and the body of any response it
// received; err is a classified *Error for anything but a 2xx.
func (c *Client) do(ctx context.Context, op string, req Request) (int, []byte, error) {
	if c.baseURL == "" {
		return 0, nil, &Error{Provider: name, Class: Permanent, Message: op + ": no API URL configured"}
	}
	var body io.Reader
	if req.Body != nil {
		data, err := json.Marshal(req.Body)
		if err != nil {
			return 0, nil, &Error{Provider: name, Class: Permanent, Message: op + ": cannot encode the fields", Err: err}
		}
		body = bytes.NewReader(data)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return 0, nil, &Error{Provider: name, Class: Permanent, Message: op + ": invalid API URL"}
	}
	if c.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "nudge")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, nil, networkError(op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		// The answer was cut short: for a write, it may or may not have happened.
		return 0, nil, networkError(op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, raw, nil
	}
	e := &Error{Provider: name,
		Class:      classifyStatus(resp.StatusCode),
		StatusCode: resp.StatusCode,
		Body:       raw,
		Message:    op + ": " + statusText(resp.StatusCode),
	}
	if msg := errorMessage(raw); msg != "" {
		e.Message = op + ": " + redact(msg, c.apiKey)
	}
	if e.Class == Transient {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	return resp.StatusCode, raw, e
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "HTTP " + strconv.Itoa(code)
}

// decodeCustomer reads a 2xx answer as a customer object. A write answered with an empty
// body (204, say) did happen, so it is success with an empty Customer; anything else that
// is not a JSON object is Permanent.
func decodeCustomer(op string, status int, raw []byte, write bool) (Customer, error) {
	if write && len(bytes.TrimSpace(raw)) == 0 {
		return Customer{}, nil
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, &Error{Provider: name, Class: Permanent, StatusCode: status, Body: raw,
			Message: op + ": the answer is not a customer", Err: err}
	}
	return Customer(obj), nil
}

// decodeObject decodes one JSON object, keeping numbers as json.Number.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("null instead of an object")
	}
	return m, nil
}

// errorMessage finds the reason in an error body: {"error": "…"}, {"message": "…"}, or
// {"error": {"message": "…"}}.
func errorMessage(raw []byte) string {
	obj, err := decodeObject(raw)
	if err != nil {
		return ""
	}
	for _, k := range []string{"message", "error", "detail"} {
		switch v := obj[k].(type) {
		case string:
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		case map[string]any:
			if m := scalar(v["message"]); m != "" {
				return m
			}
		}
	}
	return ""
}

// scalar renders a JSON string or number as a string; anything else is "".
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// cloneFields deep-copies fields so that a Request or a cached Customer never shares maps
// or slices with the caller. nil stays nil.
func cloneFields(fields map[string]any) map[string]any {
	if fields == nil {
		return nil
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneFields(v)
	case Customer:
		return Customer(cloneFields(v))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}
