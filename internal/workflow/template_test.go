package workflow

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	data := event(t, loanEvent)
	data["go"] = map[string]any{
		"float": 2.5, "whole": 1500.0, "big": 1e21, "int": 42, "bool": true,
		"upper": "AMINA otieno", "spaces": "   ", "hyphen": "mary-jane o'neil",
		"unix": 1764568800, "unix_str": "1764568800", "unix_ms": int64(1764568800000),
		"date": "2026-12-01", "time": time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		"cur_empty": "", "neg": -1234567.891, "cents": 0.995, "tiny": -0.001,
		"exp": "1.5e3", "money_str": "2500.5", "frac": 1500.004,
		"list": []any{"a", 1}, "map": map[string]any{"k": "v"},
	}
	tests := []struct {
		src, want string
	}{
		{"plain text", "plain text"},
		{"", ""},
		{"{{state}}", "days_late"},
		{"{{ state }}", "days_late"},
		{"Loan {{payload.loan_id}} is {{payload.days_late}} days late", "Loan L-1042 is 5 days late"},
		{"{{payload.loan_id}}:{{payload.days_late}}", "L-1042:5"},
		{"{{payload.items.0.name}}", "lamp"},
		{"{{payload.neg}}", "-3.5"},
		{"{{go.float}}", "2.5"},
		{"{{go.whole}}", "1500"},
		{"{{go.big}}", "1000000000000000000000"},
		{"{{go.int}}", "42"},
		{"{{go.bool}}", "true"},
		{"{{payload.active}}", "true"},
		{"{{go.list}}", `["a",1]`},
		{"{{go.map}}", `{"k":"v"}`},
		{"single } and { braces", "single } and { braces"},

		{`{{payload.nope | default "friend"}}`, "friend"},
		{`{{payload.empty | default "friend"}}`, "friend"},
		{`{{payload.null | default "friend"}}`, "friend"},
		{`{{payload.loan_id | default "x"}}`, "L-1042"},
		{`{{payload.nope | default payload.loan_id}}`, "L-1042"},
		{`{{payload.nope | default ""}}`, ""},
		{`{{payload.nope | default 0}}`, "0"},
		{`{{payload.nope | default "say \"hi\" \\ {{x}}"}}`, `say "hi" \ {{x}}`},
		{`{{payload.nope | default "amina" | upper}}`, "AMINA"},
		{`{{payload.nope | upper | default "n/a"}}`, "n/a"},
		{`{{payload.nope | default payload.also_nope | default "z"}}`, "z"},

		{"{{payload.customer_name | upper}}", "AMINA OTIENO"},
		{"{{payload.customer_name | lower}}", "amina otieno"},
		{"{{go.upper | title}}", "Amina Otieno"},
		{"{{go.hyphen | title}}", "Mary-Jane O'neil"},
		{"{{go.upper | first_name}}", "Amina"},
		{"{{payload.customer_name|first_name}}", "Amina"},
		{"{{go.int | upper}}", "42"},

		{"{{payload.balance | money}}", "1,500"},
		{`{{payload.balance | money "KES"}}`, "KES 1,500"},
		{"{{payload.balance | money payload.currency}}", "KES 1,500"},
		{"{{go.float | money}}", "2.50"},
		{`{{go.money_str | money "KES"}}`, "KES 2,500.50"},
		{"{{go.neg | money}}", "-1,234,567.89"},
		{"{{go.cents | money}}", "1"},
		{"{{go.frac | money}}", "1,500"},
		{"{{go.tiny | money}}", "0"},
		{"{{go.exp | money}}", "1,500"},
		{"{{go.big | money}}", "1,000,000,000,000,000,000,000"},
		{"{{payload.big1 | money}}", "12,345,678,901,234,567,890"},
		{"{{go.whole | money}}", "1,500"},

		{"{{timestamp | date}}", "1 Dec 2026"},
		{`{{timestamp | date "2006-01-02 15:04"}}`, "2026-12-01 06:00"},
		{"{{go.date | date}}", "1 Dec 2026"},
		{"{{go.unix | date}}", "1 Dec 2025"},
		{`{{go.unix_str | date "Jan 2"}}`, "Dec 1"},
		{"{{go.unix_ms | date}}", "1 Dec 2025"},
		{"{{go.time | date}}", "4 Mar 2026"},
	}
	for _, tt := range tests {
		tpl, err := ParseTemplate(tt.src)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", tt.src, err)
			continue
		}
		got, err := tpl.Render(data)
		if err != nil {
			t.Errorf("Render(%q): %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.src, got, tt.want)
		}
		if tpl.String() != tt.src {
			t.Errorf("String() = %q, want %q", tpl.String(), tt.src)
		}
	}
}

func TestRenderMissing(t *testing.T) {
	data := event(t, loanEvent)
	data["spaces"] = "   "
	tests := []struct{ src, path string }{
		{"Hello {{payload.customer_nam}}", "payload.customer_nam"},
		{"{{payload.empty}}", "payload.empty"},
		{"{{payload.null | upper}}", "payload.null"},
		{"{{payload.nope | default payload.also_nope}}", "payload.nope"},
		{"{{spaces | first_name}}", "spaces"},
		{"{{payload.balance | money payload.nope}}", "payload.nope"},
		{"{{payload.balance | money payload.empty}}", "payload.empty"},
		{"{{steps.cust.phone}}", "steps.cust.phone"},
	}
	for _, tt := range tests {
		tpl, err := ParseTemplate(tt.src)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tt.src, err)
		}
		out, err := tpl.Render(data)
		var mf *MissingFieldError
		if !errors.As(err, &mf) {
			t.Errorf("Render(%q) = %q, %v; want a MissingFieldError", tt.src, out, err)
			continue
		}
		if mf.Path != tt.path {
			t.Errorf("Render(%q) missing %q, want %q", tt.src, mf.Path, tt.path)
		}
		if want := `missing field "` + tt.path + `"`; err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	}
}

func TestRenderFilterErrors(t *testing.T) {
	data := event(t, loanEvent)
	tests := []struct{ src, want string }{
		{"{{payload.customer_name | money}}", `payload.customer_name | money: want a number, got "Amina Otieno"`},
		{"{{state | date}}", `state | date: want a date (RFC 3339, 2006-01-02 or unix seconds), got "days_late"`},
		{"{{payload | upper}}", `payload | upper: want text, got a map`},
	}
	for _, tt := range tests {
		tpl, err := ParseTemplate(tt.src)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tt.src, err)
		}
		_, err = tpl.Render(data)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Render(%q) error = %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"Hello {{name", "template: unterminated {{ at offset 6"},
		{"{{a}} {{", "template: unterminated {{ at offset 6"},
		{`{{a | default "}}`, "template: unterminated {{ at offset 0"},
		{"{{}}", "template: empty expression in {{}}"},
		{"{{  }}", "template: empty expression in {{  }}"},
		{"{{ | upper }}", "template: empty expression in {{ | upper }}"},
		{"{{name | uppr}}", `template: unknown filter "uppr"`},
		{"{{name |}}", "template: missing filter name after | in {{name |}}"},
		{"{{name | upper x}}", `template: filter "upper" takes no argument`},
		{"{{name | default}}", `template: filter "default" needs an argument`},
		{"{{name | default \"x}}", "template: unterminated {{ at offset 0"},
		{"{{name upper}}", `template: unexpected 'u' after "name" in {{name upper}}`},
		{"{{a..b}}", `template: bad field path "a..b": empty segment in {{a..b}}`},
		{"{{$x}}", `template: unexpected '$' in {{$x}}`},
		{`{{name | money "KES" "x"}}`, `template: unexpected '"' after "name" in {{name | money "KES" "x"}}`},
		{`{{name | date *}}`, `template: date: bad argument starting '*'`},
	}
	for _, tt := range tests {
		tpl, err := ParseTemplate(tt.src)
		if err == nil {
			t.Errorf("ParseTemplate(%q) = %v, want error %q", tt.src, tpl, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseTemplate(%q) error = %q, want %q", tt.src, err, tt.want)
		}
	}
}

func TestRenderValue(t *testing.T) {
	data := event(t, loanEvent)
	v := map[string]any{
		"to":     MustParseTemplate("customer"),
		"params": []any{MustParseTemplate("{{payload.customer_name | first_name}}"), MustParseTemplate("{{payload.days_late}}")},
		"n":      3,
		"nested": map[string]any{"lang": MustParseTemplate(`{{payload.lang | default "en"}}`)},
	}
	got, err := RenderValue(v, data)
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	if m["to"] != "customer" || m["n"] != 3 {
		t.Errorf("RenderValue = %v", m)
	}
	if p := m["params"].([]any); p[0] != "Amina" || p[1] != "5" {
		t.Errorf("params = %v", p)
	}
	if m["nested"].(map[string]any)["lang"] != "en" {
		t.Errorf("nested = %v", m["nested"])
	}
	// The input is not changed.
	if _, ok := v["to"].(*Template); !ok {
		t.Error("RenderValue changed its input")
	}

	_, err = RenderValue(map[string]any{"b": MustParseTemplate("{{x}}"), "a": MustParseTemplate("{{y}}")}, data)
	var mf *MissingFieldError
	if !errors.As(err, &mf) || mf.Path != "y" {
		t.Errorf("RenderValue error = %v, want missing field y (the first key)", err)
	}
}

func TestTemplatePaths(t *testing.T) {
	tpl := MustParseTemplate(`Hi {{a.b | default c}} {{d | money e.f}} {{g | default "h"}}`)
	if got := strings.Join(tpl.Paths(), ","); got != "a.b,c,d,e.f,g" {
		t.Errorf("Paths() = %s", got)
	}
	if tpl.IsStatic() || !MustParseTemplate("x").IsStatic() {
		t.Error("IsStatic wrong")
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		"",
		"plain",
		"Habari {{payload.customer_name | first_name}}, balance {{payload.balance | money payload.currency}}.",
		`{{payload.language | default "en"}}`,
		`{{timestamp | date "2006-01-02"}} {{x|upper|lower|title}}`,
		`{{a | default "q\"uo}}te"}}`,
		"{{", "}}", "{{}}", "{{ | }}", `{{a | default "`, "{{a.0.b}}",
	} {
		f.Add(s)
	}
	data := event(f, loanEvent)
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := ParseTemplate(src)
		if err != nil {
			return
		}
		if tpl.String() != src {
			t.Fatalf("String() = %q, want %q", tpl.String(), src)
		}
		_, _ = tpl.Render(data)
		_ = tpl.Paths()
	})
}

func BenchmarkRender(b *testing.B) {
	data := event(b, loanEvent)
	tpl := MustParseTemplate("Habari {{payload.customer_name | first_name}}, your payment is {{payload.days_late}} days late. Balance {{payload.balance | money payload.currency}}.")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderPlainPaths(b *testing.B) {
	data := event(b, loanEvent)
	tpl := MustParseTemplate("{{payload.loan_id}}:{{payload.days_late}}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(data); err != nil {
			b.Fatal(err)
		}
	}
}
