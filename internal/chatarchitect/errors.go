package chatarchitect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class says what the caller should do about a failed call.
type Class int

const (
	// Transient failures (network error, timeout, 5xx, 429) are retried later, honouring
	// Error.RetryAfter when it is set.
	Transient Class = iota + 1
	// Permanent failures (other 4xx, a 2xx without a message id or with "status":"error",
	// an unknown or unapproved template, an invalid message) will fail again: do not retry.
	Permanent
	// Auth failures (401/403) are a configuration problem: pause sending, alert, and keep
	// the work queued until the credentials are fixed.
	Auth
)

// String names the class for logs and metrics.
func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Auth:
		return "auth"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// ErrUnknownTemplate is wrapped by the Permanent error Send returns when no approved
// template matches the requested name and language.
var ErrUnknownTemplate = errors.New("unknown template")

// Error is every failure the Client returns.
type Error struct {
	Class      Class
	StatusCode int           // HTTP status; 0 when no response was received
	RetryAfter time.Duration // from Retry-After (seconds or HTTP-date); 0 if absent
	Message    string        // why, in words; the provider's message (numbers redacted) when it gave one
	Body       []byte        // raw response body, when there was one
	Err        error         // wrapped cause, if any
}

// Error describes the failure without the body: bodies may hold phone numbers.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("chatarchitect: ")
	b.WriteString(e.Message)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the Class of err: the Class of a wrapped *Error, else Transient (network
// and context errors, including context.Canceled, are worth another attempt later).
// It returns 0 for a nil error.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Class != 0 {
		return e.Class
	}
	return Transient
}

// classifyStatus maps a non-2xx HTTP status to a Class.
func classifyStatus(code int) Class {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Auth
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return Transient
	default:
		return Permanent
	}
}

// networkError wraps a failure to get any response.
func networkError(op string, err error) *Error {
	msg := op + ": no response"
	switch {
	case errors.Is(err, context.Canceled):
		msg = op + ": canceled"
	case errors.Is(err, context.DeadlineExceeded):
		msg = op + ": timed out"
	default:
		var t interface{ Timeout() bool }
		if errors.As(err, &t) && t.Timeout() {
			msg = op + ": timed out"
		}
	}
	return &Error{Class: Transient, Message: msg, Err: err}
}

// ParseRetryAfter reads a Retry-After header value, either delay-seconds or an HTTP-date,
// relative to now. It returns 0 for an empty, invalid or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || math.IsNaN(secs) {
			return 0
		}
		if secs > float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs * float64(time.Second))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}
