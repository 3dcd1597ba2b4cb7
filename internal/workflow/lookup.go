package workflow

import "strings"

// Lookup resolves a dotted path such as "payload.days_late" or "payload.items.0.name" in event
// data; a numeric segment indexes an array. ok is false when the field is absent or JSON null.
// It does not allocate.
func Lookup(data map[string]any, path string) (any, bool) {
	if data == nil || path == "" {
		return nil, false
	}
	var cur any = data
	rest := path
	for {
		seg, tail, more := strings.Cut(rest, ".")
		next, ok := child(cur, seg)
		if !ok {
			return nil, false
		}
		cur = next
		if !more {
			break
		}
		rest = tail
	}
	if cur == nil {
		return nil, false
	}
	return cur, true
}

// child returns one level down from v: a map key or an array index.
func child(v any, seg string) (any, bool) {
	switch c := v.(type) {
	case map[string]any:
		x, ok := c[seg]
		return x, ok
	case map[string]string:
		x, ok := c[seg]
		return x, ok
	case []any:
		i, ok := index(seg, len(c))
		if !ok {
			return nil, false
		}
		return c[i], true
	case []string:
		i, ok := index(seg, len(c))
		if !ok {
			return nil, false
		}
		return c[i], true
	case []map[string]any:
		i, ok := index(seg, len(c))
		if !ok {
			return nil, false
		}
		return c[i], true
	}
	return nil, false
}

// index parses a non-negative decimal array index below n.
func index(seg string, n int) (int, bool) {
	if seg == "" || len(seg) > 9 {
		return 0, false
	}
	i := 0
	for j := 0; j < len(seg); j++ {
		c := seg[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < n
}
