package workflow

import (
	"encoding/json"
	"strings"
	"testing"
)

// event decodes JSON the way the server does, with numbers as json.Number.
func event(t testing.TB, js string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("bad test event: %v", err)
	}
	return m
}

const loanEvent = `{"id": "evt_8f2c", "state": "days_late", "previous_state": "late",
 "timestamp": "2026-12-01T06:00:00Z",
 "payload": {"loan_id": "L-1042", "customer_id": "C-311", "days_late": 5,
             "days_str": "5", "ten": "10", "neg": -3.5,
             "customer_name": "Amina Otieno", "customer_phone": "0712 345 678",
             "balance": 1500, "currency": "KES", "language": "sw", "empty": "", "null": null,
             "active": true, "tags": ["vip", "solar", 7], "items": [{"name": "lamp"}],
             "big1": "12345678901234567890", "big2": "12345678901234567891"}}`

func TestLookup(t *testing.T) {
	data := event(t, loanEvent)
	data["go"] = map[string]any{"int": 3, "float": 2.5, "strs": []string{"a", "b"}}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"state", "days_late", true},
		{"payload.days_late", json.Number("5"), true},
		{"payload.items.0.name", "lamp", true},
		{"payload.tags.1", "solar", true},
		{"payload.tags.3", nil, false},
		{"payload.tags.x", nil, false},
		{"payload.tags.-1", nil, false},
		{"payload.null", nil, false},
		{"payload.empty", "", true},
		{"payload.missing", nil, false},
		{"payload.days_late.x", nil, false},
		{"nope.deeper", nil, false},
		{"go.int", 3, true},
		{"go.strs.1", "b", true},
		{"", nil, false},
		{"payload.", nil, false},
	}
	for _, tt := range tests {
		got, ok := Lookup(data, tt.path)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := Lookup(nil, "state"); ok {
		t.Error("Lookup(nil) found something")
	}
}

func TestConditionOps(t *testing.T) {
	data := event(t, loanEvent)
	data["native"] = map[string]any{"f": 5.0, "i": 5, "i64": int64(10), "b": false}
	tests := []struct {
		name string
		cond string // JSON, decoded without UseNumber as YAML would give float64/int
		want bool
	}{
		{"shorthand eq", `{"state": "days_late"}`, true},
		{"shorthand eq false", `{"state": "late"}`, false},
		{"number eq json.Number", `{"payload.days_late": 5}`, true},
		{"numeric string field eq number", `{"payload.days_str": 5}`, true},
		{"number field eq numeric string", `{"payload.days_late": "5"}`, true},
		{"5.0 equals 5", `{"payload.days_late": "5.0"}`, true},
		{"float64 field", `{"native.f": 5}`, true},
		{"int field", `{"native.i": "5"}`, true},
		{"int64 field gt", `{"native.i64": {"gt": 9}}`, true},
		{"bool field", `{"native.b": false}`, true},
		{"bool json field", `{"payload.active": true}`, true},
		{"bool vs string", `{"payload.active": "true"}`, true},
		{"eq op", `{"state": {"eq": "days_late"}}`, true},
		{"ne", `{"state": {"ne": "late"}}`, true},
		{"ne false", `{"state": {"ne": "days_late"}}`, false},
		{"ne numeric", `{"payload.days_late": {"ne": "5"}}`, false},
		{"gt", `{"payload.balance": {"gt": 0}}`, true},
		{"gt false", `{"payload.balance": {"gt": 1500}}`, false},
		{"numeric string gt", `{"payload.ten": {"gt": 9}}`, true},
		{"numeric string gt string", `{"payload.ten": {"gt": "9"}}`, true},
		{"gte", `{"payload.balance": {"gte": 1500}}`, true},
		{"lt", `{"payload.neg": {"lt": -3}}`, true},
		{"lte", `{"payload.neg": {"lte": -3.5}}`, true},
		{"lte false", `{"payload.neg": {"lte": -4}}`, false},
		{"string order", `{"timestamp": {"gt": "2026-01-01"}}`, true},
		{"string order false", `{"state": {"lt": "a"}}`, false},
		{"gt and lt", `{"payload.balance": {"gt": 0, "lt": 2000}}`, true},
		{"gt and lt false", `{"payload.balance": {"gt": 0, "lt": 1000}}`, false},
		{"in", `{"state": {"in": ["late", "days_late"]}}`, true},
		{"in numeric", `{"payload.days_late": {"in": ["3", 5, 7]}}`, true},
		{"in false", `{"state": {"in": ["late"]}}`, false},
		{"list shorthand is in", `{"state": ["late", "days_late"]}`, true},
		{"not_in", `{"state": {"not_in": ["good", "late"]}}`, true},
		{"not_in false", `{"payload.days_str": {"not_in": [5]}}`, false},
		{"contains substring", `{"payload.customer_name": {"contains": "Otie"}}`, true},
		{"contains substring false", `{"payload.customer_name": {"contains": "otie"}}`, false},
		{"contains array", `{"payload.tags": {"contains": "solar"}}`, true},
		{"contains array numeric", `{"payload.tags": {"contains": "7"}}`, true},
		{"contains array false", `{"payload.tags": {"contains": "sol"}}`, false},
		{"starts_with", `{"payload.loan_id": {"starts_with": "L-"}}`, true},
		{"starts_with false", `{"payload.loan_id": {"starts_with": "C-"}}`, false},
		{"ends_with", `{"payload.loan_id": {"ends_with": "1042"}}`, true},
		{"ends_with number", `{"payload.balance": {"ends_with": "00"}}`, true},
		{"matches", `{"payload.customer_phone": {"matches": "^07\\d{2} "}}`, true},
		{"matches false", `{"payload.customer_phone": {"matches": "^\\+"}}`, false},
		{"exists true", `{"payload.loan_id": {"exists": true}}`, true},
		{"exists empty string", `{"payload.empty": {"exists": true}}`, true},
		{"exists null", `{"payload.null": {"exists": true}}`, false},
		{"exists false missing", `{"payload.nope": {"exists": false}}`, true},
		{"exists false present", `{"state": {"exists": false}}`, false},
		{"big numbers differ", `{"payload.big1": {"eq": "12345678901234567891"}}`, false},
		{"big numbers order", `{"payload.big2": {"gt": "12345678901234567890"}}`, true},
		{"big numbers equal", `{"payload.big1": "12345678901234567890"}`, true},
		{"array eq is false", `{"payload.tags": "vip"}`, false},
		{"map gt is false", `{"payload": {"gt": 1}}`, false},

		// A missing field fails every op but exists, ne and not_in.
		{"missing eq", `{"payload.nope": 1}`, false},
		{"missing ne", `{"payload.nope": {"ne": 1}}`, true},
		{"missing gt", `{"payload.nope": {"gt": 0}}`, false},
		{"missing lt", `{"payload.nope": {"lt": 0}}`, false},
		{"missing in", `{"payload.nope": {"in": [1]}}`, false},
		{"missing not_in", `{"payload.nope": {"not_in": [1]}}`, true},
		{"missing contains", `{"payload.nope": {"contains": "x"}}`, false},
		{"missing starts_with", `{"payload.nope": {"starts_with": ""}}`, false},
		{"missing matches", `{"payload.nope": {"matches": ".*"}}`, false},
		{"null eq", `{"payload.null": "null"}`, false},

		{"every entry must hold", `{"state": "days_late", "payload.days_late": 4}`, false},
		{"any", `{"any": [{"state": "late"}, {"payload.days_late": {"gte": 5}}]}`, true},
		{"any false", `{"any": [{"state": "late"}, {"payload.days_late": {"gt": 5}}]}`, false},
		{"all", `{"all": [{"state": "days_late"}, {"payload.balance": {"gt": 0}}]}`, true},
		{"all false", `{"all": [{"state": "days_late"}, {"payload.balance": {"lt": 0}}]}`, false},
		{"nested", `{"state": "days_late", "any": [{"all": [{"payload.currency": "KES"}, {"payload.balance": {"gt": 1000}}]}, {"payload.language": "en"}]}`, true},
		{"nested false", `{"any": [{"all": [{"payload.currency": "KES"}, {"payload.balance": {"gt": 5000}}]}, {"payload.language": "en"}]}`, false},
		{"top-level list is all", `[{"state": "days_late"}, {"payload.balance": 1500}]`, true},
		{"empty map holds", `{}`, true},
		{"null holds", `null`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.cond), &v); err != nil {
				t.Fatalf("bad test condition: %v", err)
			}
			c, err := ParseCondition(v)
			if err != nil {
				t.Fatalf("ParseCondition: %v", err)
			}
			got, err := c.Eval(data)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tt.want {
				t.Errorf("Eval(%s) = %v, want %v", tt.cond, got, tt.want)
			}
		})
	}
}

func TestConditionFromYAMLTypes(t *testing.T) {
	// Operands as a YAML decoder gives them: int, float64, bool.
	c, err := ParseCondition(map[string]any{
		"payload.days_late": 5,
		"payload.balance":   map[string]any{"gt": 0, "lte": 1500.0},
		"payload.active":    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := c.Eval(event(t, loanEvent))
	if !ok {
		t.Error("condition with YAML operand types did not hold")
	}
	ok, _ = c.Eval(map[string]any{"payload": map[string]any{"days_late": "5", "balance": "12.5", "active": "true"}})
	if !ok {
		t.Error("condition did not hold on string values")
	}
}

func TestNilCondition(t *testing.T) {
	var c *Condition
	if ok, err := c.Eval(nil); !ok || err != nil {
		t.Errorf("nil condition Eval = %v, %v; want true, nil", ok, err)
	}
}

func TestParseConditionErrors(t *testing.T) {
	tests := []struct {
		cond string
		want []string // each line of the error, in order
	}{
		{`{"state": {"gtt": 1}}`, []string{`state.gtt: unknown operator "gtt" (want one of eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, ends_with, matches, exists)`}},
		{`{"state": {"matches": "("}}`, []string{"state.matches: bad regular expression: error parsing regexp: missing closing ): `(`"}},
		{`{"state": {"matches": 5}}`, []string{`state.matches: want a regular expression, got a number`}},
		{`{"state": {"in": "late"}}`, []string{`state.in: want a list, got a string`}},
		{`{"state": {"not_in": [["a"]]}}`, []string{`state.not_in[0]: want a single value, got a list`}},
		{`{"state": {"exists": "yes"}}`, []string{`state.exists: want true or false, got "yes"`}},
		{`{"state": {"eq": {"a": 1}}}`, []string{`state.eq: want a single value, got a map`}},
		{`{"state": {"gt": null}}`, []string{`state.gt: null value; use {exists: false} for a missing field`}},
		{`{"state": null}`, []string{`state: null value; use {exists: false} for a missing field`}},
		{`{"state": {}}`, []string{`state: no operator`}},
		{`{"any": []}`, []string{`any: want a non-empty list of conditions`}},
		{`{"all": {"state": "x"}}`, []string{`all: want a non-empty list of conditions`}},
		{`{"any": ["late"]}`, []string{`any[0]: want a condition map, got a string`}},
		{`{"a..b": 1}`, []string{`a..b: bad field path "a..b": empty segment`}},
		{`"state"`, []string{`want a map of field: value, got a string`}},
		{`{"any": [{"state": {"gtt": 1}}], "payload.x": {"matches": "["}, "z": {"lt": []}}`, []string{
			`any[0].state.gtt: unknown operator "gtt" (want one of eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, ends_with, matches, exists)`,
			"payload.x.matches: bad regular expression: error parsing regexp: missing closing ]: `[`",
			`z.lt: want a single value, got a list`,
		}},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.cond), &v); err != nil {
			t.Fatalf("bad test condition %s: %v", tt.cond, err)
		}
		c, err := ParseCondition(v)
		if err == nil {
			t.Errorf("ParseCondition(%s) = %v, want error", tt.cond, c)
			continue
		}
		if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("ParseCondition(%s) error:\n%s\nwant:\n%s", tt.cond, err, strings.Join(tt.want, "\n"))
		}
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		`{"state": "days_late"}`,
		`{"payload.days_late": {"gte": "5", "lt": 10}}`,
		`{"any": [{"state": "late"}, {"all": [{"payload.tags": {"contains": "vip"}}]}]}`,
		`{"payload.customer_phone": {"matches": "^07"}, "x": {"exists": false}}`,
		`{"state": {"in": ["a", 1, true]}, "y": {"not_in": []}}`,
		`[{"state": "x"}]`,
		`{"a.0.b": {"starts_with": "p", "ends_with": "q", "ne": null}}`,
	} {
		f.Add(s, loanEvent)
	}
	f.Fuzz(func(t *testing.T, cond, data string) {
		var v any
		if json.Unmarshal([]byte(cond), &v) != nil {
			return
		}
		c, err := ParseCondition(v)
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil {
			return
		}
		if _, err := c.Eval(m); err != nil {
			t.Fatalf("Eval error: %v", err)
		}
	})
}

func BenchmarkConditionEval(b *testing.B) {
	data := event(b, loanEvent)
	c, err := ParseCondition(map[string]any{
		"state":             "days_late",
		"payload.days_late": 5,
		"payload.balance":   map[string]any{"gt": 0},
		"any": []any{
			map[string]any{"payload.currency": map[string]any{"in": []any{"KES", "UGX"}}},
			map[string]any{"payload.language": "en"},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := c.Eval(data); !ok {
			b.Fatal("condition does not hold")
		}
	}
}
