// Package config reads nudge.yaml: server, storage, messaging defaults, the Paygee and
// ChatArchitect connections, and the workflows. It reports every mistake in the file at once,
// each with its line, so that `nudge check` can list them all.
package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	// The time zone database is compiled in, so that defaults.timezone works on a bare machine.
	_ "time/tzdata"

	"nudge/internal/workflow"
)

// Defaults of settings the file leaves out.
const (
	DefaultPath                 = "nudge.yaml"
	DefaultListen               = "127.0.0.1:8080"
	DefaultDatabase             = "sqlite:nudge.db"
	DefaultTimezone             = "UTC"
	DefaultMaxAttempts          = 8
	DefaultBaseDelay            = 2 * time.Second
	DefaultMaxDelay             = time.Hour
	DefaultChatArchitectURL     = "https://api.chatarchitect.com"
	DefaultChatArchitectRate    = 20.0
	DefaultChatArchitectTimeout = 30 * time.Second
	DefaultCustomerTTL          = 5 * time.Minute
)

// DefaultOptOutWords and DefaultOptInWords are the inbound words that opt a contact out of and
// back into customer-directed messages.
var (
	DefaultOptOutWords = []string{"STOP", "UNSUBSCRIBE"}
	DefaultOptInWords  = []string{"START"}
)

// Config is the whole of nudge.yaml, checked and with every default filled in.
type Config struct {
	Path          string // the file it came from; "" for Default()
	Server        Server
	Database      string // default "sqlite:nudge.db"; or postgres://…
	Defaults      Defaults
	Retry         Retry
	Agents        []Agent
	Paygee        Paygee
	ChatArchitect ChatArchitect
	Workflows     []*workflow.Workflow
}

// Server is where nudge listens and how its admin API and UI are protected.
type Server struct {
	Listen     string // default 127.0.0.1:8080
	AdminToken string // API bearer token and UI password
}

// Defaults are the messaging rules that apply to every workflow.
type Defaults struct {
	Country             string         // ISO region in upper case, "" = none
	Timezone            string         // default "UTC"
	Location            *time.Location // loaded from Timezone
	QuietHours          string         // "20:00-07:00" or ""
	Quiet               *QuietHours    // parsed; nil when none
	MaxPerContactPerDay int            // 0 = no cap
	OptOutWords         []string       // upper case; default [STOP, UNSUBSCRIBE]
	OptInWords          []string       // upper case; default [START]
}

// Retry is the backoff of transient failures.
type Retry struct {
	MaxAttempts int           // default 8
	BaseDelay   time.Duration // default 2s
	MaxDelay    time.Duration // default 1h
}

// Agent is an entry of the agent directory used by `to: agent`.
type Agent struct {
	Name  string
	Phone string // E.164 digits without '+'
}

// Paygee is the connection to the loan book.
type Paygee struct {
	WebhookToken  string
	SigningSecret string // optional; enables X-Paygee-Signature checks
	APIURL        string
	APIKey        string
	CustomerTTL   time.Duration // how long a customer lookup is cached; default 5m
}

// ChatArchitect is the connection to the WhatsApp provider.
type ChatArchitect struct {
	APIURL          string // default "https://api.chatarchitect.com"
	AppID           string
	AppSecret       string
	WebhookToken    string
	Rate            float64 // messages per second, all instances together; default 20
	HSMTextMatching bool
	Timeout         time.Duration // per API call; default 30s
}

// Default returns a config with every default filled in and no workflows.
func Default() *Config {
	return &Config{
		Server:   Server{Listen: DefaultListen},
		Database: DefaultDatabase,
		Defaults: Defaults{
			Timezone:    DefaultTimezone,
			Location:    time.UTC,
			OptOutWords: slices.Clone(DefaultOptOutWords),
			OptInWords:  slices.Clone(DefaultOptInWords),
		},
		Retry: Retry{
			MaxAttempts: DefaultMaxAttempts,
			BaseDelay:   DefaultBaseDelay,
			MaxDelay:    DefaultMaxDelay,
		},
		Paygee: Paygee{CustomerTTL: DefaultCustomerTTL},
		ChatArchitect: ChatArchitect{
			APIURL:  DefaultChatArchitectURL,
			Rate:    DefaultChatArchitectRate,
			Timeout: DefaultChatArchitectTimeout,
		},
	}
}

// Load reads and parses the config file at path, with ${VAR} taken from the environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading config: %w", err)
	}
	return Parse(path, data, nil)
}

// Workflow returns the workflow with the given id.
func (c *Config) Workflow(id string) (*workflow.Workflow, bool) {
	for _, w := range c.Workflows {
		if w.ID == id {
			return w, true
		}
	}
	return nil, false
}

// Agent returns the agent of the directory with the given name, ignoring case.
func (c *Config) Agent(name string) (Agent, bool) {
	for _, a := range c.Agents {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return Agent{}, false
}

// Secrets returns the secret values set in the config, so that logging can redact them.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{
		c.Server.AdminToken,
		c.Paygee.WebhookToken, c.Paygee.SigningSecret, c.Paygee.APIKey,
		c.ChatArchitect.AppSecret, c.ChatArchitect.WebhookToken,
	} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// IsOptOut reports whether an inbound text is one of the opt-out words (case and surrounding
// space ignored).
func (d *Defaults) IsOptOut(text string) bool { return hasWord(d.OptOutWords, text) }

// IsOptIn reports whether an inbound text is one of the opt-in words.
func (d *Defaults) IsOptIn(text string) bool { return hasWord(d.OptInWords, text) }

func hasWord(words []string, text string) bool {
	text = strings.TrimSpace(text)
	for _, w := range words {
		if strings.EqualFold(w, text) {
			return true
		}
	}
	return false
}

// QuietHours is a daily period in which customer-directed messages wait. Start and End are
// offsets from local midnight; when End <= Start the period wraps past midnight.
type QuietHours struct {
	Start, End time.Duration
}

// ParseQuietHours parses "20:00-07:00".
func ParseQuietHours(s string) (*QuietHours, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("want HH:MM-HH:MM, like 20:00-07:00")
	}
	start, err1 := parseClock(strings.TrimSpace(from))
	end, err2 := parseClock(strings.TrimSpace(to))
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("want HH:MM-HH:MM, like 20:00-07:00")
	}
	if start == end {
		return nil, fmt.Errorf("start and end are the same time")
	}
	return &QuietHours{Start: start, End: end}, nil
}

// parseClock parses "HH:MM" (24:00 allowed, for an end at midnight).
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	hh, mm := 0, 0
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad time %q", s)
		}
		hh = hh*10 + int(c-'0')
	}
	for _, c := range m {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad time %q", s)
		}
		mm = mm*10 + int(c-'0')
	}
	if hh > 24 || mm > 59 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// String returns the period as written: "20:00-07:00".
func (q *QuietHours) String() string {
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return clock(q.Start) + "-" + clock(q.End)
}

// Contains reports whether t falls in the quiet period, on the wall clock of loc (t's own
// location when loc is nil). A nil *QuietHours contains nothing.
func (q *QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if q == nil {
		return false
	}
	if loc != nil {
		t = t.In(loc)
	}
	off := sinceMidnight(t)
	if q.Start < q.End {
		return off >= q.Start && off < q.End
	}
	return off >= q.Start || off < q.End
}

// NextEnd returns when the quiet period that contains t ends; for a t outside quiet hours it
// returns t, since nothing needs to wait.
func (q *QuietHours) NextEnd(t time.Time, loc *time.Location) time.Time {
	if !q.Contains(t, loc) {
		return t
	}
	if loc == nil {
		loc = t.Location()
	}
	lt := t.In(loc)
	day := 0
	if sinceMidnight(lt) >= q.End { // in the evening part of a period that wraps midnight
		day = 1
	}
	y, m, d := lt.Date()
	h, mm := int(q.End/time.Hour), int(q.End%time.Hour/time.Minute)
	return time.Date(y, m, d+day, h, mm, 0, 0, loc)
}

func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(t.Nanosecond())
}
