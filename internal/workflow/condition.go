package workflow

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Condition is a parsed `if:`: every entry must hold. It is immutable once parsed and safe for
// concurrent use.
type Condition struct {
	clauses []clause
}

type clauseKind uint8

const (
	clauseField clauseKind = iota // path: {op: value, ...}
	clauseAny                     // any: [cond, ...]
	clauseAll                     // all: [cond, ...]
)

type clause struct {
	kind  clauseKind
	path  string
	tests []test
	subs  []*Condition
}

type opCode uint8

const (
	opEq opCode = iota
	opNe
	opGt
	opGte
	opLt
	opLte
	opIn
	opNotIn
	opContains
	opStartsWith
	opEndsWith
	opMatches
	opExists
)

// ops maps each operator name to its code; the order of opNames is the one error messages list.
var (
	opNames = []string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains",
		"starts_with", "ends_with", "matches", "exists"}
	ops = func() map[string]opCode {
		m := make(map[string]opCode, len(opNames))
		for i, n := range opNames {
			m[n] = opCode(i)
		}
		return m
	}()
)

type test struct {
	op     opCode
	arg    operand
	list   []operand
	re     *regexp.Regexp
	exists bool
}

// operand is a comparison value, read once at parse time in both its numeric and text forms.
type operand struct {
	s     string
	n     number
	isNum bool
}

func newOperand(v any) operand {
	s, _ := scalarString(v)
	n, isNum := toNumber(v)
	return operand{s: s, n: n, isNum: isNum}
}

func (o operand) equal(v any) bool {
	if o.isNum {
		if n, ok := toNumber(v); ok {
			return compareNumbers(n, o.n) == 0
		}
	}
	s, ok := scalarString(v)
	return ok && s == o.s
}

func (o operand) order(v any) (int, bool) {
	if o.isNum {
		if n, ok := toNumber(v); ok {
			return compareNumbers(n, o.n), true
		}
	}
	s, ok := scalarString(v)
	if !ok {
		return 0, false
	}
	return strings.Compare(s, o.s), true
}

// ParseCondition parses the YAML or JSON value of an `if:`: a map of field path to a value
// (shorthand for eq; a list is shorthand for in) or to {op: value, ...}, where the keys `any`
// and `all` take lists of such maps and nest. A list at the top is read as `all`. nil gives a
// nil *Condition, which always holds. The error lists every mistake found.
func ParseCondition(v any) (*Condition, error) {
	var probs []Problem
	c := parseCondition(v, nil, &probs)
	if len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = p
		}
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// parseCondition parses v, found at path in a workflow definition, adding a Problem for each
// mistake.
func parseCondition(v any, path []string, probs *[]Problem) *Condition {
	add := func(p []string, format string, args ...any) {
		*probs = append(*probs, Problem{Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		v = map[string]any{"all": x}
	}
	m, ok := asMap(v)
	if !ok {
		add(path, "want a map of field: value, got %s", describe(v))
		return nil
	}
	if len(m) == 0 {
		return nil
	}
	c := &Condition{}
	for _, key := range sortedKeys(m) {
		val := m[key]
		kp := appendPath(path, key)
		switch key {
		case "any", "all":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				add(kp, "want a non-empty list of conditions")
				continue
			}
			cl := clause{kind: clauseAll}
			if key == "any" {
				cl.kind = clauseAny
			}
			for i, item := range list {
				ip := appendPath(kp, fmt.Sprint(i))
				if _, ok := asMap(item); !ok {
					add(ip, "want a condition map, got %s", describe(item))
					continue
				}
				sub := parseCondition(item, ip, probs)
				if sub == nil {
					sub = &Condition{} // an empty map holds
				}
				cl.subs = append(cl.subs, sub)
			}
			c.clauses = append(c.clauses, cl)
		default:
			if msg := checkPath(key); msg != "" {
				add(kp, "%s", msg)
				continue
			}
			cl := clause{kind: clauseField, path: key}
			switch y := val.(type) {
			case nil:
				add(kp, "null value; use {exists: false} for a missing field")
				continue
			case []any:
				t, ok := parseTest(opIn, y, kp, add)
				if !ok {
					continue
				}
				cl.tests = append(cl.tests, t)
			default:
				om, isMap := asMap(y)
				if !isMap {
					t, ok := parseTest(opEq, y, kp, add)
					if !ok {
						continue
					}
					cl.tests = append(cl.tests, t)
					break
				}
				if len(om) == 0 {
					add(kp, "no operator")
					continue
				}
				for _, name := range sortedKeys(om) {
					op, known := ops[name]
					if !known {
						add(appendPath(kp, name), "unknown operator %q (want one of %s)", name, strings.Join(opNames, ", "))
						continue
					}
					if t, ok := parseTest(op, om[name], appendPath(kp, name), add); ok {
						cl.tests = append(cl.tests, t)
					}
				}
				if len(cl.tests) == 0 {
					continue
				}
			}
			c.clauses = append(c.clauses, cl)
		}
	}
	return c
}

func parseTest(op opCode, arg any, path []string, add func([]string, string, ...any)) (test, bool) {
	t := test{op: op}
	switch op {
	case opExists:
		b, ok := arg.(bool)
		if !ok {
			add(path, "want true or false, got %s", quoteValue(arg))
			return t, false
		}
		t.exists = b
	case opIn, opNotIn:
		list, ok := arg.([]any)
		if !ok {
			add(path, "want a list, got %s", describe(arg))
			return t, false
		}
		for i, item := range list {
			if !isScalar(item) {
				add(appendPath(path, fmt.Sprint(i)), "want a single value, got %s", describe(item))
				return t, false
			}
			t.list = append(t.list, newOperand(item))
		}
	case opMatches:
		s, ok := arg.(string)
		if !ok {
			add(path, "want a regular expression, got %s", describe(arg))
			return t, false
		}
		re, err := regexp.Compile(s)
		if err != nil {
			add(path, "bad regular expression: %v", err)
			return t, false
		}
		t.re = re
	default:
		if arg == nil {
			add(path, "null value; use {exists: false} for a missing field")
			return t, false
		}
		if !isScalar(arg) {
			add(path, "want a single value, got %s", describe(arg))
			return t, false
		}
		t.arg = newOperand(arg)
	}
	return t, true
}

// checkPath returns why a dotted field path is malformed, or "".
func checkPath(p string) string {
	if p == "" {
		return "empty field path"
	}
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return fmt.Sprintf("bad field path %q: empty segment", p)
		}
		if strings.ContainsAny(seg, " \t\n{}|\"") {
			return fmt.Sprintf("bad field path %q", p)
		}
	}
	return ""
}

// Eval reports whether every entry of the condition holds for data. A nil *Condition is always
// true. A missing field fails every operator except exists, ne and not_in; it is not an error.
func (c *Condition) Eval(data map[string]any) (bool, error) {
	if c == nil {
		return true, nil
	}
	return c.eval(data), nil
}

func (c *Condition) eval(data map[string]any) bool {
	for i := range c.clauses {
		cl := &c.clauses[i]
		switch cl.kind {
		case clauseField:
			v, present := Lookup(data, cl.path)
			for j := range cl.tests {
				if !cl.tests[j].eval(v, present) {
					return false
				}
			}
		case clauseAll:
			for _, sub := range cl.subs {
				if !sub.eval(data) {
					return false
				}
			}
		case clauseAny:
			held := false
			for _, sub := range cl.subs {
				if sub.eval(data) {
					held = true
					break
				}
			}
			if !held {
				return false
			}
		}
	}
	return true
}

func (t *test) eval(v any, present bool) bool {
	if t.op == opExists {
		return present == t.exists
	}
	if !present {
		return t.op == opNe || t.op == opNotIn
	}
	switch t.op {
	case opEq:
		return t.arg.equal(v)
	case opNe:
		return !t.arg.equal(v)
	case opGt, opGte, opLt, opLte:
		c, ok := t.arg.order(v)
		if !ok {
			return false
		}
		switch t.op {
		case opGt:
			return c > 0
		case opGte:
			return c >= 0
		case opLt:
			return c < 0
		default:
			return c <= 0
		}
	case opIn, opNotIn:
		found := false
		for i := range t.list {
			if t.list[i].equal(v) {
				found = true
				break
			}
		}
		return found == (t.op == opIn)
	case opContains:
		if list, ok := v.([]any); ok {
			for _, item := range list {
				if t.arg.equal(item) {
					return true
				}
			}
			return false
		}
		s, ok := scalarString(v)
		return ok && strings.Contains(s, t.arg.s)
	case opStartsWith:
		s, ok := scalarString(v)
		return ok && strings.HasPrefix(s, t.arg.s)
	case opEndsWith:
		s, ok := scalarString(v)
		return ok && strings.HasSuffix(s, t.arg.s)
	case opMatches:
		s, ok := scalarString(v)
		return ok && t.re.MatchString(s)
	}
	return false
}

// asMap accepts the map shapes YAML and JSON decoders produce.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			out[ks] = x
		}
		return out, true
	}
	return nil, false
}

func isScalar(v any) bool {
	_, ok := scalarString(v)
	return ok
}

// describe names the kind of a decoded value for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	}
	if _, ok := asMap(v); ok {
		return "a map"
	}
	if _, ok := toNumber(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendPath returns path+elem in a new slice, so that siblings never share a backing array.
func appendPath(path []string, elem ...string) []string {
	out := make([]string, 0, len(path)+len(elem))
	out = append(out, path...)
	return append(out, elem...)
}
