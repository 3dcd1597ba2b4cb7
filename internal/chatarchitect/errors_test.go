package chatarchitect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"0", 0},
		{"-5", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"1.5", 1500 * time.Millisecond},
		{"soon", 0},
		{"NaN", 0},
		{now.Add(90 * time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 90 * time.Second},
		{now.Add(-time.Minute).Format("Mon, 02 Jan 2006 15:04:05 GMT"), 0},
		{"Tue, 01 Dec 2026 06:00:30 GMT", 30 * time.Second},
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, 0},
		{"transient", &Error{Provider: name, Class: Transient}, Transient},
		{"permanent", &Error{Provider: name, Class: Permanent}, Permanent},
		{"auth", &Error{Provider: name, Class: Auth}, Auth},
		{"wrapped", fmt.Errorf("error sending step 2: %w", &Error{Provider: name, Class: Auth}), Auth},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, Transient},
		{"eof", io.ErrUnexpectedEOF, Transient},
		{"canceled", context.Canceled, Transient},
		{"deadline", context.DeadlineExceeded, Transient},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.err); got != tt.want {
			t.Errorf("%s: ClassOf = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := map[int]Class{
		400: Permanent, 404: Permanent, 409: Permanent, 413: Permanent, 422: Permanent,
		401: Auth, 403: Auth,
		408: Transient, 429: Transient, 500: Transient, 502: Transient, 503: Transient, 504: Transient,
	}
	for code, want := range tests {
		if got := classifyStatus(code); got != want {
			t.Errorf("classifyStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestErrorTextLeavesOutBody(t *testing.T) {
	e := &Error{Provider: name, Class: Permanent, StatusCode: 400, Message: "send: Invalid destination",
		Body: []byte(`{"destination":"254712345678"}`), RetryAfter: 0}
	got := e.Error()
	if strings.Contains(got, "254712345678") {
		t.Fatalf("Error() leaks the body: %s", got)
	}
	if want := "chatarchitect: send: Invalid destination (HTTP 400)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	cause := errors.New("boom")
	e = &Error{Provider: name, Class: Transient, Message: "send: no response", Err: cause, RetryAfter: 2 * time.Second}
	if !errors.Is(e, cause) {
		t.Fatal("Unwrap does not reach the cause")
	}
	if got, want := e.Error(), "chatarchitect: send: no response (retry after 2s): boom"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Transient: "transient", Permanent: "permanent", Auth: "auth", 9: "class(9)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}
