package paygee

import (
	"errors"
	"net/url"
	"nudge/internal/provider"
	"regexp"
	"strings"
	"time"
)

// name prefixes this package's errors.
const name = "paygee"

// Class says what the caller should do about a failed call (see package provider):
// Transient (5xx, 429, network, timeout), Permanent (other 4xx), Auth (401/403: stop the
// calls and alert).
type Class = provider.Class

// The classes.
const (
	Transient = provider.Transient
	Permanent = provider.Permanent
	Auth      = provider.Auth
)

// Error is every failure the Client returns. Its Body may hold names and phone numbers and
// is never part of its text.
type Error = provider.Error

// ClassOf returns the Class of err (Transient for network and context errors).
func ClassOf(err error) Class { return provider.ClassOf(err) }

func classifyStatus(code int) Class { return provider.ClassifyStatus(code) }

func parseRetryAfter(v string, now time.Time) time.Duration { return provider.ParseRetryAfter(v, now) }

// networkError wraps a failure to get any response. The *url.Error around it is dropped:
// its text repeats the URL, and the URL holds the customer id.
func networkError(op string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return provider.NetworkError(name, op, err)
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
