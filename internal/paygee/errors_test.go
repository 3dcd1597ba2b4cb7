package paygee

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
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
		{"0", 0},
		{"-5", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"1.5", 1500 * time.Millisecond},
		{"soon", 0},
		{"NaN", 0},
		{"Tue, 01 Dec 2026 06:00:30 GMT", 30 * time.Second},
		{now.Add(-time.Minute).Format(httpDate), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

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
		{"wrapped", fmt.Errorf("error running step 1: %w", &Error{Provider: name, Class: Auth}), Auth},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, Transient},
		{"eof", io.ErrUnexpectedEOF, Transient},
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
		400: Permanent, 404: Permanent, 409: Permanent, 422: Permanent, 302: Permanent,
		401: Auth, 403: Auth,
		408: Transient, 429: Transient, 500: Transient, 502: Transient, 503: Transient, 504: Transient,
	}
	for code, want := range tests {
		if got := classifyStatus(code); got != want {
			t.Errorf("classifyStatus(%d) = %v, want %v", code, got, want)
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

func TestErrorText(t *testing.T) {
	cause := errors.New("connection reset")
	e := &Error{Provider: name, Class: Transient, StatusCode: 429, RetryAfter: 3 * time.Second,
		Message: "find customer: Too Many Requests", Body: []byte(`{"phone":"+254712345678"}`), Err: cause}
	want := "paygee: find customer: Too Many Requests (HTTP 429) (retry after 3s): connection reset"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, cause) {
		t.Error("errors.Is does not reach the cause")
	}
}

// The URL of a failed call names the customer; the error keeps it out.
func TestNetworkErrorDropsURL(t *testing.T) {
	err := networkError("find customer", &url.Error{Op: "Get", URL: "http://x/customers/C-311",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}})
	if strings.Contains(err.Error(), "C-311") || err.Class != Transient {
		t.Errorf("networkError = %q (%v)", err, err.Class)
	}
	if got := networkError("find customer", context.DeadlineExceeded).Message; got != "find customer: timed out" {
		t.Errorf("deadline message = %q", got)
	}
	if got := networkError("find customer", context.Canceled).Message; got != "find customer: canceled" {
		t.Errorf("canceled message = %q", got)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"phone +254712345678 is taken", "phone [number] is taken"},
		{"phone 0712 345 678 is taken", "phone [number] is taken"},
		{"phone 0712-345-678 is taken", "phone [number] is taken"},
		{"bad key sk-live-123", "bad key [key]"},
		{"name is required", "name is required"},
		{strings.Repeat("a", 300), strings.Repeat("a", 200) + "…"},
	}
	for _, tt := range tests {
		if got := redact(tt.in, "sk-live-123"); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
