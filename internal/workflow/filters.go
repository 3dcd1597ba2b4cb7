package workflow

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type argMode uint8

const (
	argNone argMode = iota
	argOptional
	argRequired
)

// filterDef is one template filter. apply gets a present, non-empty value and the argument's
// text (hasArg false when none was given).
type filterDef struct {
	name  string
	arg   argMode
	apply func(v any, arg string, hasArg bool) (any, error)
}

// DefaultDateLayout is the layout of the date filter without an argument: "2 Jan 2006".
const DefaultDateLayout = "2 Jan 2006"

var filters = map[string]*filterDef{
	"default":    {name: "default", arg: argRequired}, // applied by expr.render itself
	"upper":      {name: "upper", apply: textFilter(strings.ToUpper)},
	"lower":      {name: "lower", apply: textFilter(strings.ToLower)},
	"title":      {name: "title", apply: textFilter(titleCase)},
	"first_name": {name: "first_name", apply: textFilter(firstName)},
	"money":      {name: "money", arg: argOptional, apply: money},
	"date":       {name: "date", arg: argOptional, apply: date},
}

// FilterNames lists the template filters, for documentation and error messages.
func FilterNames() []string {
	return []string{"default", "upper", "lower", "title", "first_name", "money", "date"}
}

func textFilter(f func(string) string) func(any, string, bool) (any, error) {
	return func(v any, _ string, _ bool) (any, error) {
		s, ok := scalarString(v)
		if !ok {
			return nil, fmt.Errorf("want text, got %s", describe(v))
		}
		return f(s), nil
	}
}

// titleCase upper-cases the first letter of each word and lower-cases the rest; words are
// separated by spaces and hyphens ("mary-jane OTIENO" → "Mary-Jane Otieno").
func titleCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '-':
			b.WriteRune(r)
			start = true
		case start:
			b.WriteRune(unicode.ToTitle(r))
			start = false
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// firstName is the first word, title-cased: "AMINA otieno" → "Amina". All-space input gives "".
func firstName(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		s = s[:i]
	}
	return titleCase(s)
}

// money formats an amount with thousands separators and, when it has a fractional part, two
// decimals: 1500 → "1,500", 1500.5 → "1,500.50"; with a currency, "KES 1,500". It works on the
// decimal text, so that json.Number amounts are never rounded through a float.
func money(v any, currency string, hasCurrency bool) (any, error) {
	text, ok := decimalText(v)
	if !ok {
		return nil, fmt.Errorf("want a number, got %s", quoteValue(v))
	}
	neg := false
	if text[0] == '-' || text[0] == '+' {
		neg = text[0] == '-'
		text = text[1:]
	}
	intPart, frac, _ := strings.Cut(text, ".")
	intPart = strings.TrimLeft(intPart, "0")
	digits := []byte(intPart)
	// Round the fraction half-up to two places.
	f := []byte(frac + "000")[:3]
	cents := int(f[0]-'0')*10 + int(f[1]-'0')
	if f[2] >= '5' {
		cents++
	}
	if cents == 100 {
		cents = 0
		digits = incrementDecimal(digits)
	}
	if len(digits) == 0 {
		digits = []byte{'0'}
	}
	var b strings.Builder
	if hasCurrency {
		b.WriteString(currency)
		b.WriteByte(' ')
	}
	if neg && (cents != 0 || string(digits) != "0") {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(c)
	}
	if cents != 0 {
		b.WriteByte('.')
		b.WriteByte(byte('0' + cents/10))
		b.WriteByte(byte('0' + cents%10))
	}
	return b.String(), nil
}

// incrementDecimal adds one to a string of decimal digits.
func incrementDecimal(d []byte) []byte {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] < '9' {
			d[i]++
			return d
		}
		d[i] = '0'
	}
	return append([]byte{'1'}, d...)
}

// decimalText returns v as plain decimal text without exponent: "1500", "-12.5".
func decimalText(v any) (string, bool) {
	n, ok := toNumber(v)
	if !ok {
		return "", false
	}
	if n.s != "" && !strings.ContainsAny(n.s, "eE") {
		return n.s, true
	}
	if s, ok := scalarString(v); ok && n.s == "" {
		return s, true
	}
	return strconv.FormatFloat(n.f, 'f', -1, 64), true
}

// date reads an RFC 3339 time, a "2006-01-02" date or unix seconds (milliseconds when too
// large to be seconds) and formats it with the Go layout arg, by default "2 Jan 2006".
func date(v any, layout string, hasLayout bool) (any, error) {
	if !hasLayout {
		layout = DefaultDateLayout
	}
	t, err := toTime(v)
	if err != nil {
		return nil, err
	}
	return t.Format(layout), nil
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case *time.Time:
		if x != nil {
			return *x, nil
		}
	}
	if n, ok := toNumber(v); ok {
		sec := n.f
		if sec > 1e11 || sec < -1e11 { // milliseconds
			sec /= 1000
		}
		whole := int64(sec)
		return time.Unix(whole, int64((sec-float64(whole))*1e9)).UTC(), nil
	}
	if s, ok := v.(string); ok {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("want a date (RFC 3339, 2006-01-02 or unix seconds), got %s", quoteValue(v))
}

// quoteValue shows a bad input in an error, shortened so that a long text does not flood it.
func quoteValue(v any) string {
	s, ok := scalarString(v)
	if !ok {
		return describe(v)
	}
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
