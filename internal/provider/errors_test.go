package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"
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
		{now.Add(90 * time.Second).Format(httpDate), 90 * time.Second},
		{now.Add(-time.Minute).Format(httpDate), 0},
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
		{"transient", &Error{Provider: "p", Class: Transient}, Transient},
		{"permanent", &Error{Provider: "p", Class: Permanent}, Permanent},
		{"auth", &Error{Provider: "p", Class: Auth}, Auth},
		{"wrapped", fmt.Errorf("error sending step 2: %w", &Error{Provider: "p", Class: Auth}), Auth},
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
		400: Permanent, 404: Permanent, 409: Permanent, 413: Permanent, 422: Permanent, 302: Permanent,
		401: Auth, 403: Auth,
		408: Transient, 429: Transient, 500: Transient, 502: Transient, 503: Transient, 504: Transient,
	}
	for code, want := range tests {
		if got := ClassifyStatus(code); got != want {
			t.Errorf("ClassifyStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Transient: "transient", Permanent: "permanent", Auth: "auth", 9: "class(9)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestErrorTextNamesTheProvider(t *testing.T) {
	err := &Error{Provider: "p", Class: Transient, StatusCode: 503, RetryAfter: 2 * time.Second,
		Message: "send: busy", Body: []byte("254712345678"), Err: io.ErrUnexpectedEOF}
	want := "p: send: busy (HTTP 503) (retry after 2s): unexpected EOF"
	if got := err.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
