// Package provider holds what a call to an outside HTTP API (ChatArchitect, Paygee) can
// fail with, and what the caller should do about it: retry later, give up, or stop and
// alert. Each client builds these errors; the engine reads only their Class.
package provider

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
	// Permanent failures (other 4xx, an answer that makes no sense, an invalid request)
	// will fail again: do not retry.
	Permanent
	// Auth failures (401/403) are a configuration problem: stop, alert, and keep the work
	// until the credentials are fixed.
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

// Error is every failure a provider client returns.
type Error struct {
	Provider   string // "chatarchitect", "paygee": the prefix of the message
	Class      Class
	StatusCode int           // HTTP status; 0 when no response was received
	RetryAfter time.Duration // from Retry-After (seconds or HTTP-date); 0 if absent
	Message    string        // why, in words; the provider's own message (redacted) when it gave one
	Body       []byte        // raw response body, when there was one; may hold personal data
	Err        error         // wrapped cause, if any
}

// Error describes the failure without the body: bodies may hold names and phone numbers.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
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

// ClassifyStatus maps a non-2xx HTTP status to a Class.
func ClassifyStatus(code int) Class {
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Auth
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return Transient
	default:
		return Permanent
	}
}

// NetworkError wraps a failure to get any response from a provider.
func NetworkError(provider, op string, err error) *Error {
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
	return &Error{Provider: provider, Class: Transient, Message: msg, Err: err}
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
