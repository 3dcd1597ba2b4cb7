package chatarchitect

import (
	"errors"
	"strings"
	"testing"
	"time"
)

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
