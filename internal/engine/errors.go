package engine

import (
	"errors"
	"time"

	"nudge/internal/provider"
	"nudge/internal/workflow"
)

// Class says what a step's failure does to its run.
type Class int

// The classes of SPEC §6 and the ChatArchitect doc's decision 3.
const (
	Transient Class = iota + 1 // retried with backoff
	Permanent                  // the run fails now
	Auth                       // the provider refused our credentials: pause, keep the work
)

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// permanent marks an error as one that a retry cannot fix.
func permanent(err error) error { return &permanentError{err} }

// skipError ends a step without doing it, for a reason the run records.
type skipError struct{ reason string }

func (s *skipError) Error() string { return "skipped: " + s.reason }

// waitError puts the run to sleep until a time (quiet hours).
type waitError struct {
	until  time.Time
	reason string
}

func (w *waitError) Error() string { return w.reason }

func classify(err error) (Class, time.Duration) {
	var p *permanentError
	if errors.As(err, &p) {
		return Permanent, 0
	}
	var missing *workflow.MissingFieldError
	if errors.As(err, &missing) {
		return Permanent, 0
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		switch pe.Class {
		case provider.Permanent:
			return Permanent, 0
		case provider.Auth:
			return Auth, 0
		}
		return Transient, pe.RetryAfter
	}
	return Transient, 0
}
