package paygee

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Class says what the caller should do about a failed call.
type Class int

const (
	// Transient failures (network error, timeout, 5xx, 408, 429) are retried later,
	// honouring Error.RetryAfter when it is set.
	Transient Class = iota + 1
	// Permanent failures (other 4xx, an answer that is not a customer) will fail again for
	// this step: do not retry.
	Permanent
	// Auth failures (401/403) are a configuration problem: stop calling Paygee, alert, and
	// keep the work queued until the key is fixed.
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

// Error is every failure the Client and the Cache return.
type Error struct {
	Class      Class
	StatusCode int           // HTTP status; 0 when no response was received
	RetryAfter time.Duration // from Retry-After (seconds or HTTP-date) on a Transient answer; 0 if absent
	Message    string        // why, in words; Paygee's own message (numbers and key redacted) when it gave one
	Body       []byte        // raw response body, when there was one; may hold personal data
	Err        error         // wrapped cause, if any
}

// Error describes the failure without the body: bodies hold names and phone numbers.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("paygee: ")
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
// and context errors are worth another attempt later). It returns 0 for a nil error.
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

// networkError wraps a failure to get any response. The *url.Error around it is dropped:
// its text repeats the URL, and the URL holds the customer id.
func networkError(op string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
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

// parseRetryAfter reads a Retry-After header value, either delay-seconds or an HTTP-date,
// relative to now. It returns 0 for an empty, invalid or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
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

// phoneLikeRE matches what could be a phone number in Paygee's message.
var phoneLikeRE = regexp.MustCompile(`\+?[0-9][0-9 ()-]{5,}[0-9]`)

// redact keeps phone numbers Paygee may echo, and the API key, out of error texts, which
// end up in logs and in the UI.
func redact(msg, apiKey string) string {
	const max = 200
	if apiKey != "" {
		msg = strings.ReplaceAll(msg, apiKey, "[key]")
	}
	msg = phoneLikeRE.ReplaceAllString(msg, "[number]")
	if len(msg) > max {
		msg = strings.ToValidUTF8(msg[:max], "") + "…"
	}
	return msg
}
