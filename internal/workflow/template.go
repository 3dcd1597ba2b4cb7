package workflow

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Template is a parsed text with {{ path | filter arg }} expressions. It is parsed once and
// rendered many times; it is immutable and safe for concurrent use.
type Template struct {
	src   string
	parts []part
}

// part is either literal text or one expression.
type part struct {
	lit  string
	expr *expr
}

type expr struct {
	path    string
	filters []filterCall
}

type filterCall struct {
	f   *filterDef
	arg *filterArg // nil when the filter was given no argument
}

type filterArg struct {
	lit    string
	path   string // when isPath
	isPath bool
}

// MissingFieldError is returned by Render for a field that is absent, null or "" with no
// `default` filter, so that a message is never sent with a hole in it.
type MissingFieldError struct{ Path string }

func (e *MissingFieldError) Error() string { return fmt.Sprintf("missing field %q", e.Path) }

// ParseTemplate parses src. Errors name the problem and start with "template: ".
func ParseTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	rest := src
	offset := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{lit: rest})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		body := rest[i+2:]
		j := closeIndex(body)
		if j < 0 {
			return nil, fmt.Errorf("template: unterminated {{ at offset %d", offset+i)
		}
		e, err := parseExpr(body[:j])
		if err != nil {
			return nil, fmt.Errorf("template: %s", err)
		}
		t.parts = append(t.parts, part{expr: e})
		consumed := i + 2 + j + 2
		offset += consumed
		rest = rest[consumed:]
	}
	return t, nil
}

// closeIndex finds the "}}" that ends an expression, skipping any inside a quoted argument.
func closeIndex(s string) int {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// MustParseTemplate is ParseTemplate for sources known to be good, such as constants.
func MustParseTemplate(src string) *Template {
	t, err := ParseTemplate(src)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the source text.
func (t *Template) String() string {
	if t == nil {
		return ""
	}
	return t.src
}

// MarshalJSON writes the template as its source, so that compiled steps display as written.
func (t *Template) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// IsStatic reports whether the template has no expressions, so that its text is its value.
func (t *Template) IsStatic() bool {
	if t == nil {
		return true
	}
	for _, p := range t.parts {
		if p.expr != nil {
			return false
		}
	}
	return true
}

// Paths returns the field paths the template reads, filter arguments included, in order.
func (t *Template) Paths() []string {
	if t == nil {
		return nil
	}
	var out []string
	for _, p := range t.parts {
		if p.expr == nil {
			continue
		}
		out = append(out, p.expr.path)
		for _, fc := range p.expr.filters {
			if fc.arg != nil && fc.arg.isPath {
				out = append(out, fc.arg.path)
			}
		}
	}
	return out
}

// parseExpr parses the inside of {{ }}: path ( | name [arg] )*.
func parseExpr(s string) (*expr, error) {
	lx := lexer{s: s}
	path, err := lx.word()
	if err != nil {
		return nil, err
	}
	if path == "" {
		if lx.done() || lx.peek() == '|' {
			return nil, fmt.Errorf("empty expression in {{%s}}", s)
		}
		return nil, fmt.Errorf("unexpected %q in {{%s}}", lx.peek(), s)
	}
	if msg := checkPath(path); msg != "" {
		return nil, fmt.Errorf("%s in {{%s}}", msg, s)
	}
	e := &expr{path: path}
	for {
		lx.space()
		if lx.done() {
			return e, nil
		}
		if lx.peek() != '|' {
			return nil, fmt.Errorf("unexpected %q after %q in {{%s}}", lx.peek(), path, s)
		}
		lx.pos++
		name, err := lx.word()
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("missing filter name after | in {{%s}}", s)
		}
		f, ok := filters[name]
		if !ok {
			return nil, fmt.Errorf("unknown filter %q", name)
		}
		fc := filterCall{f: f}
		lx.space()
		if !lx.done() && lx.peek() != '|' {
			arg, err := lx.arg()
			if err != nil {
				return nil, fmt.Errorf("%s: %s", name, err)
			}
			fc.arg = arg
		}
		switch {
		case fc.arg == nil && f.arg == argRequired:
			return nil, fmt.Errorf("filter %q needs an argument", name)
		case fc.arg != nil && f.arg == argNone:
			return nil, fmt.Errorf("filter %q takes no argument", name)
		}
		e.filters = append(e.filters, fc)
	}
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) done() bool { return l.pos >= len(l.s) }
func (l *lexer) peek() byte { return l.s[l.pos] }

func (l *lexer) space() {
	for !l.done() && isSpace(l.s[l.pos]) {
		l.pos++
	}
}

// word reads a path or filter name: letters, digits and _ . -
func (l *lexer) word() (string, error) {
	l.space()
	start := l.pos
	for !l.done() && isWordByte(l.s[l.pos]) {
		l.pos++
	}
	return l.s[start:l.pos], nil
}

// arg reads a double-quoted string with \" and \\ escapes, or a path. A bare number is a
// literal, so that `default 0` means zero.
func (l *lexer) arg() (*filterArg, error) {
	if l.peek() == '"' {
		l.pos++
		var b strings.Builder
		for {
			if l.done() {
				return nil, fmt.Errorf("unterminated string")
			}
			c := l.s[l.pos]
			l.pos++
			switch c {
			case '"':
				return &filterArg{lit: b.String()}, nil
			case '\\':
				if l.done() {
					return nil, fmt.Errorf("unterminated string")
				}
				e := l.s[l.pos]
				l.pos++
				switch e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(e)
				}
			default:
				b.WriteByte(c)
			}
		}
	}
	w, _ := l.word()
	if w == "" {
		return nil, fmt.Errorf("bad argument starting %q", l.peek())
	}
	if isDecimal(w) {
		return &filterArg{lit: w}, nil
	}
	if msg := checkPath(w); msg != "" {
		return nil, fmt.Errorf("%s", msg)
	}
	return &filterArg{path: w, isPath: true}, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}

// Render fills in the template from data. A field that is absent, null or "" and has no
// `default` gives a *MissingFieldError; a filter that cannot read its input gives an error
// naming the filter.
func (t *Template) Render(data map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	if len(t.parts) == 1 && t.parts[0].expr == nil {
		return t.parts[0].lit, nil
	}
	if len(t.parts) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.Grow(len(t.src) + 16)
	for i := range t.parts {
		p := &t.parts[i]
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		if err := p.expr.render(&b, data); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// render evaluates the expression and writes its text.
func (e *expr) render(b *strings.Builder, data map[string]any) error {
	v, ok := Lookup(data, e.path)
	if ok && v == "" {
		ok = false
	}
	for i := range e.filters {
		fc := &e.filters[i]
		if fc.f.name == "default" {
			if ok {
				continue
			}
			if !fc.arg.isPath {
				// An explicit literal default is what the author wants, even "".
				v, ok = fc.arg.lit, true
				continue
			}
			if dv, found := Lookup(data, fc.arg.path); found && dv != "" {
				v, ok = dv, true
			}
			continue
		}
		if !ok {
			continue // the value is missing: only a later default can help
		}
		var arg string
		if fc.arg != nil {
			if !fc.arg.isPath {
				arg = fc.arg.lit
			} else {
				av, found := Lookup(data, fc.arg.path)
				s, isText := scalarString(av)
				if !found || !isText || s == "" {
					return &MissingFieldError{Path: fc.arg.path}
				}
				arg = s
			}
		}
		nv, err := fc.f.apply(v, arg, fc.arg != nil)
		if err != nil {
			return fmt.Errorf("%s | %s: %w", e.path, fc.f.name, err)
		}
		v = nv
		if v == "" && fc.f.name == "first_name" {
			ok = false
		}
	}
	if !ok {
		return &MissingFieldError{Path: e.path}
	}
	return writeValue(b, v)
}

// writeValue writes a value as text: scalars plainly, maps and lists as JSON.
func writeValue(b *strings.Builder, v any) error {
	if s, ok := v.(string); ok {
		b.WriteString(s)
		return nil
	}
	if s, ok := scalarString(v); ok {
		b.WriteString(s)
		return nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("error writing value as JSON: %w", err)
	}
	b.Write(js)
	return nil
}

// RenderValue renders every *Template found inside v (maps, slices), returning plain values
// in new maps and slices; other values pass through unchanged.
func RenderValue(v any, data map[string]any) (any, error) {
	switch x := v.(type) {
	case *Template:
		if x == nil {
			return "", nil
		}
		return x.Render(data)
	case map[string]any:
		out := make(map[string]any, len(x))
		// Sorted, so that of several missing fields the same one is always reported.
		for _, k := range sortedKeys(x) {
			item := x[k]
			r, err := RenderValue(item, data)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := RenderValue(item, data)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case []*Template:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := item.Render(data)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}
