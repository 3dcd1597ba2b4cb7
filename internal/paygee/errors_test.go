package paygee

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

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
