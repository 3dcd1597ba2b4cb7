package workflow

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
)

// number is a numeric value with, when it came from text, that text, so that two long decimals
// that round to the same float64 can still be told apart.
type number struct {
	f float64
	s string // decimal text; "" when the value was a binary number already
}

// maxExactDigits is how many decimal digits a float64 holds without rounding.
const maxExactDigits = 15

// toNumber reads v as a number: Go numbers, json.Number, and strings that are plain decimals
// ("5", "-1.25", "1e3"). "NaN", "Inf", hex and empty strings are not numbers.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return number{}, false
		}
		return number{f: x}, true
	case float32:
		return toNumber(float64(x))
	case int:
		return intNumber(int64(x)), true
	case int64:
		return intNumber(x), true
	case int32:
		return number{f: float64(x)}, true
	case uint64:
		if x > 1<<53 {
			return number{f: float64(x), s: strconv.FormatUint(x, 10)}, true
		}
		return number{f: float64(x)}, true
	case uint:
		return toNumber(uint64(x))
	case uint32:
		return number{f: float64(x)}, true
	}
	return number{}, false
}

func intNumber(x int64) number {
	if x > 1<<53 || x < -(1<<53) {
		return number{f: float64(x), s: strconv.FormatInt(x, 10)}
	}
	return number{f: float64(x)}
}

func parseNumber(s string) (number, bool) {
	if !isDecimal(s) {
		return number{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range
		return number{}, false
	}
	return number{f: f, s: s}, true
}

// isDecimal reports whether s is [-+]digits[.digits][e[-+]digits], the only numbers people
// write in webhooks and YAML.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	intDigits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		intDigits++
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		expDigits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return false
		}
	}
	return i == len(s)
}

// compareNumbers returns -1, 0 or +1. Rounding to float64 is monotonic, so differing floats
// decide; equal floats from long decimals are compared exactly.
func compareNumbers(a, b number) int {
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	if len(a.s) <= maxExactDigits && len(b.s) <= maxExactDigits || a.s == b.s {
		return 0
	}
	return exactRat(a).Cmp(exactRat(b))
}

func exactRat(n number) *big.Rat {
	r := new(big.Rat)
	if n.s != "" {
		if _, ok := r.SetString(n.s); ok {
			return r
		}
	}
	return r.SetFloat64(n.f)
}

// scalarString is the text of a scalar value: strings as they are, numbers without exponent
// or trailing ".0" (json.Number as received), booleans as true/false. ok is false for maps,
// arrays and nil.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case float64:
		return formatFloat(x), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// equalValues compares two scalars with the numeric rule: if both read as numbers they are
// compared as numbers ("5" equals 5, "5.0" equals 5), otherwise as text.
func equalValues(a, b any) bool {
	if an, ok := toNumber(a); ok {
		if bn, ok := toNumber(b); ok {
			return compareNumbers(an, bn) == 0
		}
	}
	as, ok1 := scalarString(a)
	bs, ok2 := scalarString(b)
	return ok1 && ok2 && as == bs
}

// orderValues orders two scalars, numerically when both are numbers and as text otherwise.
// ok is false when either is not a scalar.
func orderValues(a, b any) (int, bool) {
	if an, ok := toNumber(a); ok {
		if bn, ok := toNumber(b); ok {
			return compareNumbers(an, bn), true
		}
	}
	as, ok1 := scalarString(a)
	bs, ok2 := scalarString(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	switch {
	case as < bs:
		return -1, true
	case as > bs:
		return 1, true
	}
	return 0, true
}
