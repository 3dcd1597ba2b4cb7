package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"nudge/internal/workflow"
)

// env is a fixed environment for ${VAR} lookups.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var exampleEnv = map[string]string{
	"NUDGE_ADMIN_TOKEN":           "admin-secret",
	"PAYGEE_WEBHOOK_TOKEN":        "pg-hook",
	"PAYGEE_API_KEY":              "pg-key",
	"CHATARCHITECT_APP_ID":        "app-1",
	"CHATARCHITECT_APP_SECRET":    "app-secret",
	"CHATARCHITECT_WEBHOOK_TOKEN": "ca-hook",
}

func TestLoadExample(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	cfg, err := Load("testdata/nudge.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	nairobi, _ := time.LoadLocation("Africa/Nairobi")
	want := &Config{
		Path:     "testdata/nudge.yaml",
		Server:   Server{Listen: "127.0.0.1:8080", AdminToken: "admin-secret"},
		Database: "sqlite:nudge.db",
		Defaults: Defaults{
			Country: "KE", Timezone: "Africa/Nairobi", Location: nairobi,
			QuietHours: "20:00-07:00", Quiet: &QuietHours{Start: 20 * time.Hour, End: 7 * time.Hour},
			MaxPerContactPerDay: 3,
			OptOutWords:         []string{"STOP", "UNSUBSCRIBE"},
			OptInWords:          []string{"START"},
		},
		Retry:  Retry{MaxAttempts: 8, BaseDelay: 2 * time.Second, MaxDelay: time.Hour},
		Agents: []Agent{{Name: "Peter", Phone: "254700000001"}, {Name: "Grace", Phone: "254700000002"}},
		Paygee: Paygee{WebhookToken: "pg-hook", APIURL: "https://paygee.example/api/v1", APIKey: "pg-key", CustomerTTL: DefaultCustomerTTL},
		ChatArchitect: ChatArchitect{
			APIURL: "https://api.chatarchitect.com", AppID: "app-1", AppSecret: "app-secret",
			WebhookToken: "ca-hook", Rate: 20, Timeout: DefaultChatArchitectTimeout,
		},
	}
	got := *cfg
	got.Workflows = nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", got, *want)
	}
	if len(cfg.Workflows) != 2 {
		t.Fatalf("%d workflows, want 2", len(cfg.Workflows))
	}
	late, def := cfg.Workflows[0], cfg.Workflows[1]
	if late.ID != "late-5-days" || late.On != workflow.TriggerLoanState || def.ID != "default-task" || def.On != workflow.TriggerLoanState {
		t.Errorf("workflows = %+v, %+v", late, def)
	}
	data := map[string]any{"state": "days_late", "payload": map[string]any{
		"loan_id": "L-1042", "days_late": "5", "balance": 1500, "currency": "KES",
		"customer_name": "AMINA Otieno"}}
	if ok, _ := late.Matches(data); !ok {
		t.Error("late-5-days does not match its event")
	}
	args, err := workflow.RenderValue(late.Steps[0].Args, data)
	if err != nil {
		t.Fatal(err)
	}
	m := args.(map[string]any)
	if m["text"] != "Habari Amina, your payment is 5 days late. Balance KES 1,500." {
		t.Errorf("text = %q", m["text"])
	}
	if lang := m["template"].(map[string]any)["language"]; lang != "en" {
		t.Errorf("language = %q", lang)
	}
	if ok, _ := def.Matches(map[string]any{"state": "defaulted"}); !ok {
		t.Error("default-task does not match a defaulted loan")
	}
	if a, ok := cfg.Agent("peter"); !ok || a.Phone != "254700000001" {
		t.Errorf("Agent(peter) = %v, %v", a, ok)
	}
	if w, ok := cfg.Workflow("default-task"); !ok || w != def {
		t.Error("Workflow(default-task) not found")
	}
	if got := strings.Join(cfg.Secrets(), ","); got != "admin-secret,pg-hook,pg-key,app-secret,ca-hook" {
		t.Errorf("Secrets() = %s", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if err == nil || !strings.Contains(err.Error(), "error reading config") {
		t.Errorf("Load error = %v", err)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, src := range []string{"", "\n", "# only a comment\n", "---\n", "~\n"} {
		cfg, err := Parse("nudge.yaml", []byte(src), env(nil))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		want := Default()
		want.Path = "nudge.yaml"
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", src, cfg, want)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Server.Listen != "127.0.0.1:8080" || c.Database != "sqlite:nudge.db" ||
		c.Defaults.Timezone != "UTC" || c.Defaults.Location != time.UTC || c.Defaults.Quiet != nil ||
		c.Retry != (Retry{8, 2 * time.Second, time.Hour}) ||
		c.ChatArchitect.APIURL != "https://api.chatarchitect.com" || c.ChatArchitect.Rate != 20 ||
		!reflect.DeepEqual(c.Defaults.OptOutWords, []string{"STOP", "UNSUBSCRIBE"}) ||
		!reflect.DeepEqual(c.Defaults.OptInWords, []string{"START"}) || c.Workflows != nil {
		t.Errorf("Default() = %+v", c)
	}
	if !c.Defaults.IsOptOut(" stop ") || c.Defaults.IsOptOut("stop please") || !c.Defaults.IsOptIn("Start") {
		t.Error("opt words matching wrong")
	}
	// Defaults are fresh each time: changing one does not change the next.
	c.Defaults.OptOutWords[0] = "X"
	if Default().Defaults.OptOutWords[0] != "STOP" {
		t.Error("Default shares its word lists")
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"yaml syntax", "server:\n  listen: [1, 2\n", []string{
			"f.yaml:2: did not find expected ',' or ']'"}},
		{"yaml indentation", "a:\n  b: 1\n c: 2\n", []string{
			"f.yaml:3: did not find expected key"}},
		{"yaml tab", "server:\n\tlisten: x\n", []string{
			"f.yaml:2: found character that cannot start any token"}},
		{"not a map", "- a\n- b\n", []string{"f.yaml:1: want a map of settings, got a list"}},
		{"unknown keys", "serverr: {}\nserver:\n  listn: x\ndefaults:\n  quiet: 1\n", []string{
			`f.yaml:1: unknown key "serverr"`,
			`f.yaml:3: unknown key "server.listn"`,
			`f.yaml:5: unknown key "defaults.quiet"`}},
		{"duplicate key", "database: sqlite:a.db\ndatabase: sqlite:b.db\n", []string{
			`f.yaml:2: duplicate key "database" (first on line 1)`}},
		{"wrong types", "retry:\n  max_attempts: eight\n  base_delay: soon\n  max_delay: [1h]\nchatarchitect:\n  rate: fast\n  hsm_text_matching: maybe\nserver: 8080\n", []string{
			"f.yaml:2: retry.max_attempts: want an integer",
			`f.yaml:3: retry.base_delay: want a duration, like 2s, 5m or 1h, got "soon"`,
			"f.yaml:4: retry.max_delay: want a duration, like 2s, 5m or 1h",
			"f.yaml:6: chatarchitect.rate: want a number",
			"f.yaml:7: chatarchitect.hsm_text_matching: want true or false",
			`f.yaml:8: server: want a map, got "8080"`}},
		{"ranges", "retry: {max_attempts: 0, base_delay: 10s, max_delay: 5s}\ndefaults: {max_per_contact_per_day: -1}\nchatarchitect: {rate: 0}\n", []string{
			"f.yaml:1: retry.max_attempts: want at least 1",
			"f.yaml:1: retry.max_delay: want at least base_delay (10s)",
			"f.yaml:2: defaults.max_per_contact_per_day: want at least 0",
			"f.yaml:3: chatarchitect.rate: want a number above 0"}},
		{"defaults", "defaults:\n  country: XK1\n  timezone: Mars/Olympus\n  quiet_hours: 20-7\n  opt_out_words: [STOP, \"\", two words]\n  opt_in_words: STOP\n", []string{
			`f.yaml:2: defaults.country: unknown country "XK1" (want an ISO code like KE)`,
			`f.yaml:3: defaults.timezone: unknown time zone "Mars/Olympus" (want a name like Africa/Nairobi)`,
			"f.yaml:4: defaults.quiet_hours: want HH:MM-HH:MM, like 20:00-07:00",
			`f.yaml:5: defaults.opt_out_words[1]: want one word, got ""`,
			`f.yaml:5: defaults.opt_out_words[2]: want one word, got "two words"`,
			"f.yaml:6: defaults.opt_in_words: want a list of words"}},
		{"opt words overlap", "defaults:\n  opt_in_words: [stop]\n", []string{
			`f.yaml:2: defaults: "STOP" is both an opt-out and an opt-in word`}},
		{"quiet hours same", "defaults: {quiet_hours: \"07:00-07:00\"}\n", []string{
			"f.yaml:1: defaults.quiet_hours: start and end are the same time"}},
		{"urls and listen", "server: {listen: localhost}\npaygee: {api_url: paygee.example}\nchatarchitect: {api_url: \"ftp://x\"}\ndatabase: mysql://x\n", []string{
			`f.yaml:1: server.listen: want host:port, like 127.0.0.1:8080, got "localhost"`,
			`f.yaml:2: paygee.api_url: want an http(s) URL, got "paygee.example"`,
			`f.yaml:3: chatarchitect.api_url: want an http(s) URL, got "ftp://x"`,
			"f.yaml:4: database: want sqlite:FILE or postgres://…"}},
		{"agents", "defaults: {country: KE}\nagents:\n  - {name: Peter, phone: \"0712 34\"}\n  - name: peter\n    phone: \"0712 345 678\"\n  - {phone: \"+254700000001\"}\n  - {name: Ann}\n  - {name: Bo, phone: \"1\", role: x}\n", []string{
			"f.yaml:3: agents[0].phone: invalid phone number: too short for KE",
			`f.yaml:4: agents[1]: duplicate agent name "peter" (first on line 3)`,
			"f.yaml:6: agents[2]: missing name",
			"f.yaml:7: agents[3]: missing phone",
			"f.yaml:8: agents[4].phone: invalid phone number: too short",
			`f.yaml:8: unknown key "agents[4].role"`}},
		{"env", "server:\n  admin_token: ${NUDGE_ADMIN_TOKEN}\n  listen: ${BAD-NAME}\npaygee:\n  api_key: \"${UNTERMINATED\"\n", []string{
			"f.yaml:2: server.admin_token: environment variable NUDGE_ADMIN_TOKEN is not set",
			"f.yaml:3: server.listen: bad environment variable reference ${BAD-NAME}",
			`f.yaml:5: paygee.api_key: unterminated ${ in "${UNTERMINATED"`}},
		{"workflow problems", `workflows:
  - id: late
    on: paygee.loan_state
    if:
      payload.days_late: {gtt: 5}
    do:
      - send_whatsapp:
          to: customer
          text: "Hi {{payload.name | uppr}}"
      - task:
          text: "{{x}}"
  - id: late
    on: paygee.loan
    do:
      - send_whatsap: {to: customer}
  - on: chatarchitect.message
    do: []
  - just a string
`, []string{
			`f.yaml:5: workflow "late": if.payload.days_late.gtt: unknown operator "gtt" (want one of eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, ends_with, matches, exists)`,
			`f.yaml:9: workflow "late": do[0].send_whatsapp.text: template: unknown filter "uppr"`,
			`f.yaml:10: workflow "late": do[1].task: missing to`,
			`f.yaml:12: duplicate workflow id "late" (first on line 2)`,
			`f.yaml:13: workflow "late": on: unknown trigger "paygee.loan" (want one of paygee.loan_state, paygee.customer_state, paygee.sales_case_state, chatarchitect.message, chatarchitect.message_event)`,
			`f.yaml:15: workflow "late": do[0].send_whatsap: unknown action "send_whatsap" (want one of send_whatsapp, task, paygee.create_customer, paygee.update_customer, paygee.find_customer)`,
			`f.yaml:16: workflows[2]: missing id`,
			`f.yaml:17: workflows[2]: do: want at least one step`,
			`f.yaml:18: workflows[3]: want a map with id, on and do, got "just a string"`}},
		{"workflow env and keys", "workflows:\n  - id: a\n    on: paygee.loan_state\n    enabled: yes\n    do:\n      - task: {to: agent, text: \"${MISSING}\"}\n    do: []\n", []string{
			`f.yaml:4: workflow "a": enabled: want true or false, got "yes"`,
			`f.yaml:6: workflow "a": do[0].task.text: environment variable MISSING is not set`,
			`f.yaml:6: workflow "a": do[0].task: missing text`,
			`f.yaml:7: duplicate key "do" (first on line 5)`}},
		{"several mistakes at once", `server:
  listen: 127.0.0.1:8080
  admin_token: ${NUDGE_ADMIN_TOKEN}
database: sqlite:nudge.db
defaults:
  country: KEN
  timezone: Africa/Nairobi
  quiet_hours: "25:00-07:00"
retry: {max_attempts: 8, base_delay: 2x, max_delay: 1h}
paygee:
  webhook_tokn: abc
workflows:
  - id: ok-one
    on: paygee.loan_state
    do:
      - send_whatsapp: {to: customer, text: "{{payload.loan_id | money \"KES}}"}
`, []string{
			"f.yaml:3: server.admin_token: environment variable NUDGE_ADMIN_TOKEN is not set",
			`f.yaml:6: defaults.country: unknown country "KEN" (want an ISO code like KE)`,
			"f.yaml:8: defaults.quiet_hours: want HH:MM-HH:MM, like 20:00-07:00",
			`f.yaml:9: retry.base_delay: want a duration, like 2s, 5m or 1h, got "2x"`,
			`f.yaml:11: unknown key "paygee.webhook_tokn"`,
			`f.yaml:16: workflow "ok-one": do[0].send_whatsapp.text: template: unterminated {{ at offset 0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(tt.src), env(nil))
			if err == nil {
				t.Fatalf("Parse = %+v, want problems", cfg)
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	src := `server:
  admin_token: "${TOKEN}"
  listen: ${HOST:-127.0.0.1}:${PORT:-9090}
database: ${DB:-sqlite:nudge.db}
paygee:
  api_key: pa$$word
  webhook_token: $plain $ and ${EMPTY}
  signing_secret: ${EMPTY:-fallback}
chatarchitect:
  rate: ${RATE}
  hsm_text_matching: ${HSM:-false}
  app_secret: ${INJECT}
workflows:
  - id: env
    on: paygee.loan_state
    enabled: ${WF_ON:-true}
    if: {payload.days_late: {gte: "${MIN_DAYS:-3}"}}
    do:
      - send_whatsapp:
          to: ${AGENT_PHONE}
          text: "Pay $$5 now, {{payload.name}} ${SIGNATURE:-}"
`
	vars := map[string]string{
		"TOKEN": "t0k", "PORT": "8181", "EMPTY": "", "RATE": "12.5", "INJECT": "a: b\nc: [d]",
		"AGENT_PHONE": "+254700000001",
	}
	cfg, err := Parse("nudge.yaml", []byte(src), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"admin_token", cfg.Server.AdminToken, "t0k"},
		{"listen", cfg.Server.Listen, "127.0.0.1:8181"},
		{"database", cfg.Database, "sqlite:nudge.db"},
		{"api_key", cfg.Paygee.APIKey, "pa$word"},
		{"webhook_token", cfg.Paygee.WebhookToken, "$plain $ and "},
		{"signing_secret", cfg.Paygee.SigningSecret, "fallback"},
		{"app_secret", cfg.ChatArchitect.AppSecret, "a: b\nc: [d]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.ChatArchitect.Rate != 12.5 || cfg.ChatArchitect.HSMTextMatching {
		t.Errorf("chatarchitect = %+v", cfg.ChatArchitect)
	}
	w := cfg.Workflows[0]
	if !w.Enabled {
		t.Error("workflow not enabled by ${WF_ON:-true}")
	}
	data := map[string]any{"payload": map[string]any{"days_late": 4, "name": "Amina"}}
	if ok, _ := w.Matches(data); !ok {
		t.Error("condition from ${MIN_DAYS:-3} does not hold for 4")
	}
	args, err := workflow.RenderValue(w.Steps[0].Args, data)
	if err != nil {
		t.Fatal(err)
	}
	// Unquoted, the expanded +254… is a YAML integer, as it would be written in the file.
	if m := args.(map[string]any); m["to"] != "254700000001" || m["text"] != "Pay $5 now, Amina " {
		t.Errorf("args = %#v", m)
	}
}

func TestOnKeyIsString(t *testing.T) {
	// YAML 1.1 reads a bare `on` as true; nudge must read the key as the text "on".
	cfg, err := Parse("f.yaml", []byte("workflows:\n  - id: a\n    on: paygee.loan_state\n    do: [{task: {to: agent, text: hi}}]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workflows[0].On != workflow.TriggerLoanState {
		t.Errorf("On = %q", cfg.Workflows[0].On)
	}
}

func TestYAMLAnchors(t *testing.T) {
	src := `x-send: &send
  to: customer
  text: "Hi {{payload.name}}"
workflows:
  - id: a
    on: paygee.loan_state
    do: [{send_whatsapp: *send}]
`
	// x- keys are not settings: anchors must live inside known keys.
	_, err := Parse("f.yaml", []byte(src), env(nil))
	if err == nil || err.Error() != `f.yaml:1: unknown key "x-send"` {
		t.Fatalf("error = %v", err)
	}
	src = `workflows:
  - id: a
    on: paygee.loan_state
    do: [{send_whatsapp: &send {to: customer, text: "Hi"}}]
  - id: b
    on: paygee.loan_state
    do: [{send_whatsapp: *send}]
`
	cfg, err := Parse("f.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Workflows) != 2 || cfg.Workflows[1].Steps[0].Action != workflow.ActionSendWhatsApp {
		t.Errorf("workflows = %+v", cfg.Workflows)
	}
}

func TestQuietHours(t *testing.T) {
	nairobi, err := time.LoadLocation("Africa/Nairobi") // UTC+3
	if err != nil {
		t.Fatal(err)
	}
	wrap, err := ParseQuietHours("20:00-07:00")
	if err != nil {
		t.Fatal(err)
	}
	day, err := ParseQuietHours("12:30 - 14:00")
	if err != nil {
		t.Fatal(err)
	}
	toMidnight, err := ParseQuietHours("22:00-24:00")
	if err != nil {
		t.Fatal(err)
	}
	local := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, nairobi) }
	tests := []struct {
		name     string
		q        *QuietHours
		t        time.Time
		loc      *time.Location
		contains bool
		end      time.Time
	}{
		{"evening in wrap", wrap, local(1, 21, 15), nairobi, true, local(2, 7, 0)},
		{"at start", wrap, local(1, 20, 0), nairobi, true, local(2, 7, 0)},
		{"after midnight", wrap, local(2, 3, 0), nairobi, true, local(2, 7, 0)},
		{"at end", wrap, local(2, 7, 0), nairobi, false, local(2, 7, 0)},
		{"daytime", wrap, local(2, 12, 0), nairobi, false, local(2, 12, 0)},
		{"just before start", wrap, local(1, 19, 59), nairobi, false, local(1, 19, 59)},
		// 18:00 UTC is 21:00 in Nairobi: quiet there, not in UTC.
		{"utc instant in nairobi", wrap, time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC), nairobi, true, local(2, 7, 0)},
		{"utc instant in utc", wrap, time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC), time.UTC, false, time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)},
		{"nil loc uses t's own", wrap, local(1, 23, 0), nil, true, local(2, 7, 0)},
		{"year end wrap", wrap, local(31, 22, 0), nairobi, true, time.Date(2027, 1, 1, 7, 0, 0, 0, nairobi)},
		{"midday in", day, local(1, 13, 0), nairobi, true, local(1, 14, 0)},
		{"midday before", day, local(1, 12, 29), nairobi, false, local(1, 12, 29)},
		{"until midnight", toMidnight, local(1, 23, 59), nairobi, true, local(2, 0, 0)},
	}
	for _, tt := range tests {
		if got := tt.q.Contains(tt.t, tt.loc); got != tt.contains {
			t.Errorf("%s: Contains = %v, want %v", tt.name, got, tt.contains)
		}
		if got := tt.q.NextEnd(tt.t, tt.loc); !got.Equal(tt.end) {
			t.Errorf("%s: NextEnd = %v, want %v", tt.name, got, tt.end)
		}
	}
	if wrap.String() != "20:00-07:00" {
		t.Errorf("String() = %q", wrap.String())
	}
	var none *QuietHours
	if none.Contains(local(1, 21, 0), nairobi) {
		t.Error("nil quiet hours contain a time")
	}
	for _, bad := range []string{"", "20:00", "8pm-7am", "20:00-07:60", "24:30-01:00", "20:00-20:00", "2000-0700"} {
		if q, err := ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) = %v, want error", bad, q)
		}
	}
}

func TestQuietHoursAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := ParseQuietHours("21:00-08:00")
	// The night clocks go forward (8 March 2026): the period still ends at 08:00 local.
	at := time.Date(2026, 3, 7, 23, 0, 0, 0, ny)
	want := time.Date(2026, 3, 8, 8, 0, 0, 0, ny)
	if got := q.NextEnd(at, ny); !got.Equal(want) {
		t.Errorf("NextEnd = %v, want %v", got, want)
	}
	if got := q.NextEnd(at, ny).Sub(at); got != 8*time.Hour {
		t.Errorf("wait = %v, want 8h (one hour skipped)", got)
	}
}

func TestTimeoutsAndCacheTTL(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte("paygee: {customer_cache_ttl: 2m}\nchatarchitect: {timeout: 5s}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Paygee.CustomerTTL != 2*time.Minute || cfg.ChatArchitect.Timeout != 5*time.Second {
		t.Fatalf("got %v and %v", cfg.Paygee.CustomerTTL, cfg.ChatArchitect.Timeout)
	}
	_, err = Parse("t.yaml", []byte("chatarchitect:\n  timeout: soon\npaygee:\n  customer_cache_ttl: -1m\n"), nil)
	want := "t.yaml:2: chatarchitect.timeout: want a duration, like 2s, 5m or 1h, got \"soon\"\nt.yaml:4: paygee.customer_cache_ttl: want a duration above 0"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}
