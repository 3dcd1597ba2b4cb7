package chatarchitect

import (
	"errors"
	"nudge/internal/provider"
	"time"
)

// name prefixes this package's errors.
const name = "chatarchitect"

// Class says what the caller should do about a failed call (see package provider):
// Transient (network, timeout, 5xx, 429: retry, honouring RetryAfter), Permanent (other
// 4xx, a 2xx without a message id or with "status":"error", an unknown or unapproved
// template, an invalid message: do not retry), Auth (401/403: pause sending, alert, keep
// the work queued).
type Class = provider.Class

// The classes.
const (
	Transient = provider.Transient
	Permanent = provider.Permanent
	Auth      = provider.Auth
)

// Error is every failure the Client returns.
type Error = provider.Error

// ErrUnknownTemplate is wrapped by the Permanent error Send returns when no approved
// template matches the requested name and language.
var ErrUnknownTemplate = errors.New("unknown template")

// ClassOf returns the Class of err (Transient for network and context errors).
func ClassOf(err error) Class { return provider.ClassOf(err) }

// ParseRetryAfter reads a Retry-After header value relative to now.
func ParseRetryAfter(v string, now time.Time) time.Duration { return provider.ParseRetryAfter(v, now) }

func classifyStatus(code int) Class { return provider.ClassifyStatus(code) }

func networkError(op string, err error) *Error { return provider.NetworkError(name, op, err) }
