// Package demo runs `nudge demo`: nudge on embedded defaults, a fake ChatArchitect, and a
// stream of simulated Paygee events, so that a newcomer sees reminders flowing in seconds.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"nudge/internal/app"
	"nudge/internal/config"
	"nudge/internal/phone"
	"nudge/internal/sandbox"
)

//go:embed demo.yaml
var demoConfig []byte

// Options tune the demo; zero values are right for a person at a terminal.
type Options struct {
	Out    io.Writer
	Logger *slog.Logger
	// Listen is the address to serve on; "" tries 127.0.0.1:8080, then any free port.
	Listen string
	// Interval between simulated events (default 700ms).
	Interval time.Duration
	// Events stops the stream after this many events (0 = until interrupted).
	Events int
	// Ready, when set, receives the running demo once it serves.
	Ready func(*Running)
}

// Running is what a started demo exposes (for tests).
type Running struct {
	App           *app.App
	ChatArchitect *sandbox.ChatArchitect
	Paygee        *sandbox.Paygee
	AdminToken    string
	PaygeeToken   string
}

// Run starts the demo and blocks until ctx ends (or the event stream is done and
// Options.Events was set).
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Interval <= 0 {
		o.Interval = 700 * time.Millisecond
	}
	dir, err := os.MkdirTemp("", "nudge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	secret := randomToken()
	ca, err := sandbox.StartChatArchitect(sandbox.ChatArchitectOptions{AppID: "demo-app", AppSecret: secret, Callbacks: true})
	if err != nil {
		return fmt.Errorf("error starting the sandbox ChatArchitect: %w", err)
	}
	defer ca.Close()

	pg, err := sandbox.StartPaygee(sandbox.PaygeeOptions{APIKey: secret, Customers: paygeeCustomers()})
	if err != nil {
		return fmt.Errorf("error starting the sandbox Paygee: %w", err)
	}
	defer pg.Close()

	ln, err := listen(o.Listen)
	if err != nil {
		return err
	}
	env := map[string]string{
		"DEMO_LISTEN":               ln.Addr().String(),
		"DEMO_ADMIN_TOKEN":          randomToken(),
		"DEMO_DATABASE":             "sqlite:" + filepath.Join(dir, "nudge.db"),
		"DEMO_PAYGEE_TOKEN":         randomToken(),
		"DEMO_CHATARCHITECT_URL":    ca.URL(),
		"DEMO_CHATARCHITECT_SECRET": secret,
		"DEMO_CHATARCHITECT_TOKEN":  randomToken(),
		"DEMO_PAYGEE_URL":           pg.URL(),
		"DEMO_PAYGEE_KEY":           secret,
	}
	cfg, err := config.Parse("demo.yaml", demoConfig, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo config: %w", err)
	}
	a, err := app.Start(ctx, app.Options{Config: cfg, Logger: o.Logger, Listener: ln})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(sctx)
	}()
	ca.SetWebhook(a.URL + "/hooks/chatarchitect?token=" + env["DEMO_CHATARCHITECT_TOKEN"])

	fmt.Fprintf(o.Out, "nudge demo is running at %s\n", a.URL)
	fmt.Fprintf(o.Out, "  admin token (API bearer and UI password): %s\n", env["DEMO_ADMIN_TOKEN"])
	fmt.Fprintf(o.Out, "  try: curl -H 'Authorization: Bearer %s' %s/api/v1/messages\n", env["DEMO_ADMIN_TOKEN"], a.URL)
	fmt.Fprintf(o.Out, "  database: %s (removed on exit); press Ctrl-C to stop\n\n", cfg.Database)
	if o.Ready != nil {
		o.Ready(&Running{App: a, ChatArchitect: ca, Paygee: pg, AdminToken: env["DEMO_ADMIN_TOKEN"], PaygeeToken: env["DEMO_PAYGEE_TOKEN"]})
	}

	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		stream(ctx, o, a.URL, env["DEMO_PAYGEE_TOKEN"], ca)
	}()
	go reportSends(ctx, o.Out, ca)
	select {
	case <-ctx.Done():
	case <-streamDone:
		if o.Events == 0 {
			<-ctx.Done()
		}
	}
	fmt.Fprintln(o.Out, "\nstopping the demo")
	return nil
}

func listen(addr string) (net.Listener, error) {
	if addr != "" {
		return net.Listen("tcp", addr)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:8080"); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

func randomToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// reportSends prints each message the fake ChatArchitect accepts, as a person would see it.
func reportSends(ctx context.Context, out io.Writer, ca *sandbox.ChatArchitect) {
	seen := 0
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := ca.Sent()
		for _, m := range sent[seen:] {
			what := m.Text
			if m.Kind == "template" {
				what = fmt.Sprintf("template %s %v", m.TemplateName, m.Params)
			}
			fmt.Fprintf(out, "  whatsapp → %s  %s\n", phone.Mask(m.Destination), what)
		}
		seen = len(sent)
	}
}

// stream plays the script: loans drifting late day by day, a default and its task, a
// recovery, a down payment, customers replying (one with STOP), an agent closing a task, a
// number that is not on WhatsApp and a run that dies to be replayed. With Options.Events
// unset it goes on with new loans until ctx ends.
func stream(ctx context.Context, o Options, baseURL, token string, ca *sandbox.ChatArchitect) {
	client := &http.Client{Timeout: 10 * time.Second}
	n := 0
	for round := 0; ; round++ {
		for _, step := range script(round) {
			if o.Events > 0 && n >= o.Events {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(o.Interval):
			}
			n++
			switch {
			case step.inbound != nil:
				if err := ca.SendInbound(ctx, *step.inbound); err != nil && ctx.Err() == nil {
					fmt.Fprintf(o.Out, "inbound error: %v\n", err)
					continue
				}
				fmt.Fprintf(o.Out, "whatsapp ← %s  %q (%s)\n", phone.Mask(step.inbound.From), step.inbound.Text, step.note)
			case step.setup != nil:
				step.setup(ca)
				fmt.Fprintf(o.Out, "sandbox  %s\n", step.note)
			default:
				body, _ := json.Marshal(step.body)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/hooks/paygee/"+step.hook, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Nudge-Token", token)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fmt.Fprintf(o.Out, "paygee  %-16s error: %v\n", step.hook, err)
					}
					continue
				}
				resp.Body.Close()
				fmt.Fprintf(o.Out, "paygee  %-16s %-10s %s → %d\n", step.hook, step.body["state"], step.note, resp.StatusCode)
			}
		}
	}
}

type scripted struct {
	hook    string
	note    string
	body    map[string]any
	inbound *sandbox.InboundMessage
	setup   func(*sandbox.ChatArchitect)
}

type customer struct {
	loan, id, name, phone, lang, agent string
	balance                            int
}

var baseCustomers = []customer{
	{"L-1042", "C-311", "Amina Otieno", "0712 345 678", "sw", "Peter", 1500},
	{"L-1043", "C-312", "John Kamau", "0722 111 222", "en", "Grace", 3200},
	{"L-1044", "C-313", "Faith Wanjiru", "0733 444 555", "en", "Peter", 800},
	{"L-1045", "C-314", "Brian Mutua", "0711 999 000", "sw", "Grace", 2750},
	{"L-1046", "C-315", "Esther Njeri", "0745 222 333", "en", "Peter", 1200},
}

// paygeeCustomers is the fake Paygee's customer book: the demo's loans without a phone in
// their events are sent to the number found here.
func paygeeCustomers() []sandbox.PaygeeCustomer {
	var out []sandbox.PaygeeCustomer
	for _, c := range baseCustomers {
		out = append(out, sandbox.PaygeeCustomer{"id": c.id, "name": c.name, "phone": c.phone, "language": c.lang, "state": "active"})
	}
	return out
}

// customers of a round: the same people with new loans, so that each round sends again.
func customersOf(round int) []customer {
	out := make([]customer, len(baseCustomers))
	for i, c := range baseCustomers {
		c.loan = fmt.Sprintf("L-%d", 1042+i+100*round)
		out[i] = c
	}
	return out
}

func script(round int) []scripted {
	cs := customersOf(round)
	var out []scripted
	n := 0
	loanEvent := func(c customer, state, prev string, extra map[string]any, note string) {
		n++
		payload := map[string]any{"loan_id": c.loan, "customer_id": c.id, "customer_name": c.name,
			"customer_phone": c.phone, "agent_name": c.agent, "balance": c.balance, "currency": "KES", "language": c.lang}
		for k, v := range extra {
			if v == nil {
				delete(payload, k)
				continue
			}
			payload[k] = v
		}
		out = append(out, scripted{hook: "loan-state", note: note, body: map[string]any{
			"id": fmt.Sprintf("evt_demo_%d_%d", round, n), "state": state, "previous_state": prev,
			"timestamp": time.Now().UTC().Format(time.RFC3339), "payload": payload}})
	}
	reply := func(c customer, text, note string) {
		out = append(out, scripted{note: note, inbound: &sandbox.InboundMessage{From: digitsKE(c.phone), Name: strings.Fields(c.name)[0], Text: text}})
	}
	if round == 0 {
		out = append(out, scripted{note: "Esther's number is not on WhatsApp", setup: func(ca *sandbox.ChatArchitect) {
			ca.FailDestination(digitsKE(cs[4].phone), 1002, "Number Does Not Exist On WhatsApp")
		}})
	}
	for day := 3; day <= 6; day++ {
		for i, c := range cs {
			if round > 0 && i == 3 {
				continue // Brian said STOP
			}
			// days_late arrives as a string half of the time, as Paygee's own example has it.
			var dl any = day
			if day%2 == 0 {
				dl = fmt.Sprint(day)
			}
			extra := map[string]any{"days_late": dl}
			note := fmt.Sprintf("%s %d days late", c.loan, day)
			if i == 2 {
				// Faith's events carry no phone: nudge looks her up in Paygee by customer_id.
				extra["customer_phone"] = nil
				note += " (no phone: looked up in Paygee)"
			}
			loanEvent(c, "days_late", "late", extra, note)
		}
		if day == 5 {
			reply(cs[0], "Nitalipa kesho, asante", "Amina answers her reminder")
			reply(cs[3], "STOP", "Brian opts out")
		}
	}
	loanEvent(cs[0], "days_late", "late", map[string]any{"days_late": 5}, cs[0].loan+" 5 days late again (once_per skips it)")
	if round == 0 {
		out = append(out, scripted{note: "a new lead asks to join: created in Paygee", inbound: &sandbox.InboundMessage{From: "254799123456", Name: "Kevin", Text: "JOIN"}})
	}
	loanEvent(cs[1], "defaulted", "penalty", nil, cs[1].loan+" defaulted: a task for Grace")
	out = append(out, scripted{note: "Grace closes her task", inbound: &sandbox.InboundMessage{From: "254700000002", Name: "Grace", Text: fmt.Sprintf("DONE %d", round*2+1)}})
	loanEvent(cs[2], "good", "late", nil, cs[2].loan+" back to good")
	if round == 0 {
		out = append(out, scripted{note: "ChatArchitect fails every send to Grace for a while (HTTP 500)", setup: func(ca *sandbox.ChatArchitect) {
			ca.RefuseDestination("254700000002", 500, 2)
		}})
	}
	loanEvent(cs[3], "defaulted", "penalty", nil, cs[3].loan+" defaulted: a task for Grace")
	n++
	out = append(out, scripted{hook: "sales-case-state", note: "down payment paid", body: map[string]any{
		"id": fmt.Sprintf("evt_demo_%d_%d", round, n), "state": "dp_paid",
		"payload": map[string]any{"sales_case_id": fmt.Sprintf("SC-%d", 77+round), "customer_name": "Mercy Achieng",
			"customer_phone": "0700 123 456", "product": "SunKing Home 60"}}})
	return out
}

// digitsKE writes a Kenyan number as ChatArchitect does: E.164 digits without '+'.
func digitsKE(p string) string {
	d, err := phone.Normalize(p, "KE")
	if err != nil {
		return p
	}
	return d
}
