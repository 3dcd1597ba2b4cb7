package server

import (
	"strings"
	"testing"
)

func TestParsePaygeeEvent(t *testing.T) {
	cases := []struct {
		body    string
		ok      bool
		state   string
		extID   string
		errText string
	}{
		{`{"state":"late"}`, true, "late", "", ""},
		{`{"id":"evt_1","state":"days_late","payload":{"days_late":"5"}}`, true, "days_late", "evt_1", ""},
		{`{"id":42,"state":"good"}`, true, "good", "42", ""},
		{`{"state":"late","payload":null}`, true, "late", "", ""},
		{`{"state":"late","extra":{"kept":true}}`, true, "late", "", ""},
		{`{}`, false, "", "", `missing "state"`},
		{`{"state":""}`, false, "", "", `missing "state"`},
		{`{"state":7}`, false, "", "", `missing "state"`},
		{`{"state":"late","payload":"x"}`, false, "", "", `"payload" must be an object`},
		{`[]`, false, "", "", "JSON object"},
		{`null`, false, "", "", "JSON object"},
		{`{"state":"late"`, false, "", "", "JSON object"},
		{`{"state":"late"}{}`, false, "", "", "JSON object"},
	}
	for _, c := range cases {
		ev, data, err := ParsePaygeeEvent([]byte(c.body))
		if (err == nil) != c.ok {
			t.Fatalf("%s: err = %v, want ok=%v", c.body, err, c.ok)
		}
		if !c.ok {
			if !strings.Contains(err.Error(), c.errText) {
				t.Fatalf("%s: error %q lacks %q", c.body, err, c.errText)
			}
			continue
		}
		if ev.State != c.state || ev.ExternalID != c.extID || string(ev.Body) != c.body || data["state"] != c.state {
			t.Fatalf("%s: got %+v", c.body, ev)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"state":"late"}`)
	good := Sign(body, "k")
	cases := []struct {
		header string
		want   bool
	}{
		{good, true},
		{" " + good + " ", true},
		{good[len("sha256="):], false},
		{"sha1=" + good[len("sha256="):], false},
		{"sha256=", false},
		{"sha256=00", false},
		{"sha256=nothex", false},
		{Sign(body, "other"), false},
		{"", false},
	}
	for _, c := range cases {
		if got := validSignature(body, c.header, "k"); got != c.want {
			t.Errorf("validSignature(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

func TestSecretEqual(t *testing.T) {
	if !secretEqual("abc", "abc") || secretEqual("abc", "abd") || secretEqual("", "") || secretEqual("abc", "") {
		t.Fatal("secretEqual is wrong")
	}
}

// FuzzParsePaygeeEvent: no body makes the parser panic, and what it accepts has a state.
func FuzzParsePaygeeEvent(f *testing.F) {
	for _, s := range []string{`{"state":"late"}`, `{"id":"e","state":"days_late","payload":{"days_late":"5"}}`,
		`{"id":1.5e300,"state":"x","payload":{"a":[1,{"b":null}]}}`, `[]`, `{"state":`, "\x00", `{"state":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, _, err := ParsePaygeeEvent(body)
		if err == nil && ev.State == "" {
			t.Fatalf("accepted %q without a state", body)
		}
	})
}
