package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"nudge/internal/phone"
	"nudge/internal/workflow"
)

// Problem is one mistake in a config file.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Problems is the error Load and Parse return when the file has mistakes: all of them, sorted
// by line.
type Problems []Problem

// Error returns one "file:line: message" per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse parses a config file's contents; filename is used in problems. getenv looks up the
// ${VAR} references; nil means os.LookupEnv. On mistakes the error is Problems.
func Parse(filename string, data []byte, getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	p := &parser{file: filename, getenv: getenv, cfg: Default()}
	p.cfg.Path = filename
	p.parse(data)
	if len(p.probs) > 0 {
		sort.SliceStable(p.probs, func(i, j int) bool { return p.probs[i].Line < p.probs[j].Line })
		return nil, p.probs
	}
	return p.cfg, nil
}

type parser struct {
	file   string
	getenv func(string) (string, bool)
	cfg    *Config
	probs  Problems
	label  string // names the workflow being converted, in its problems
}

func (p *parser) add(line int, format string, args ...any) {
	p.probs = append(p.probs, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// parserErrors are the messages of yaml.v3's parser, as opposed to its scanner.
var parserErrors = map[string]bool{
	"did not find expected key":           true,
	"did not find expected '-' indicator": true,
	"did not find expected ',' or ']'":    true,
	"did not find expected ',' or '}'":    true,
	"did not find expected node content":  true,
	"found undefined tag handle":          true,
}

// yamlErrLine picks the line out of yaml's "yaml: line 3: message".
var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 gives the parser's errors 0-based lines (its scanner's are 1-based).
			if parserErrors[msg] {
				line++
			}
		}
		p.add(line, "%s", msg)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // an empty file: all defaults
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return
	}
	sections := p.mapping(root, "")
	if sections == nil {
		return
	}
	// Defaults first: agents' phones need the default country.
	if n := sections.get("defaults"); n != nil {
		p.defaults(n)
	}
	for _, e := range sections {
		switch e.key.Value {
		case "defaults":
		case "server":
			p.server(e.val)
		case "database":
			p.database(e.val)
		case "retry":
			p.retry(e.val)
		case "agents":
			p.agents(e.val)
		case "paygee":
			p.paygee(e.val)
		case "chatarchitect":
			p.chatArchitect(e.val)
		case "workflows":
			p.workflows(e.val)
		default:
			p.add(e.key.Line, "unknown key %q", e.key.Value)
		}
	}
}

// entry is one key: value of a YAML mapping.
type entry struct{ key, val *yaml.Node }

type entries []entry

func (es entries) get(key string) *yaml.Node {
	for _, e := range es {
		if e.key.Value == key {
			return e.val
		}
	}
	return nil
}

// mapping returns the entries of a mapping node, reporting duplicate keys. A null node is an
// empty mapping. It returns nil, having reported it, when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, path string) entries {
	n = resolve(n)
	if isNull(n) {
		return entries{}
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			p.add(n.Line, "want a map of settings, got %s", kind(n))
		} else {
			p.add(n.Line, "%s: want a map, got %s", path, kind(n))
		}
		return nil
	}
	out := make(entries, 0, len(n.Content)/2)
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k.Line, "%s: keys must be text", orTop(path))
			continue
		}
		if line, dup := first[k.Value]; dup {
			p.add(k.Line, "duplicate key %q (first on line %d)", join(path, k.Value), line)
			continue
		}
		first[k.Value] = k.Line
		out = append(out, entry{key: k, val: v})
	}
	return out
}

// fields walks a mapping whose keys are all known: each value goes to its handler, and any
// other key is a problem.
func (p *parser) fields(n *yaml.Node, path string, handlers map[string]func(*yaml.Node, string)) {
	for _, e := range p.mapping(n, path) {
		h, ok := handlers[e.key.Value]
		if !ok {
			p.add(e.key.Line, "unknown key %q", join(path, e.key.Value))
			continue
		}
		h(e.val, join(path, e.key.Value))
	}
}

// str reads a scalar as text, with ${VAR} expanded. A null is "".
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n.Line, "%s: want a string, got %s", path, kind(n))
		return "", false
	}
	s, errs := p.expand(n.Value)
	for _, e := range errs {
		p.add(n.Line, "%s: %s", path, e)
	}
	return s, len(errs) == 0
}

// scalar reads a non-null scalar for a typed setting; ok is false, reported, otherwise.
func (p *parser) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.add(n.Line, "%s: want %s", path, want)
		return "", false
	}
	s, ok := p.str(n, path)
	return strings.TrimSpace(s), ok
}

func (p *parser) integer(n *yaml.Node, path string, least int) (int, bool) {
	s, ok := p.scalar(n, path, "an integer")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		p.add(n.Line, "%s: want an integer", path)
		return 0, false
	}
	if v < least {
		p.add(n.Line, "%s: want at least %d", path, least)
		return 0, false
	}
	return v, true
}

func (p *parser) positiveFloat(n *yaml.Node, path string) (float64, bool) {
	s, ok := p.scalar(n, path, "a number")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.add(n.Line, "%s: want a number", path)
		return 0, false
	}
	if v <= 0 {
		p.add(n.Line, "%s: want a number above 0", path)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := p.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.add(n.Line, "%s: want true or false", path)
	return false, false
}

func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := p.scalar(n, path, "a duration, like 2s, 5m or 1h")
	if !ok {
		return 0, false
	}
	d, err := workflow.ParseDuration(s)
	if err != nil {
		p.add(n.Line, "%s: want a duration, like 2s, 5m or 1h, got %q", path, s)
		return 0, false
	}
	if d <= 0 {
		p.add(n.Line, "%s: want a duration above 0", path)
		return 0, false
	}
	return d, true
}

func (p *parser) httpURL(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok || s == "" {
		return s, ok
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(resolve(n).Line, "%s: want an http(s) URL, got %q", path, s)
		return "", false
	}
	return strings.TrimRight(s, "/"), true
}

func (p *parser) words(n *yaml.Node, path string) ([]string, bool) {
	n = resolve(n)
	if isNull(n) {
		return []string{}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "%s: want a list of words", path)
		return nil, false
	}
	out := []string{}
	ok := true
	for i, item := range n.Content {
		s, good := p.scalar(item, fmt.Sprintf("%s[%d]", path, i), "a word")
		if !good {
			ok = false
			continue
		}
		if s == "" || strings.ContainsAny(s, " \t\n") {
			p.add(resolve(item).Line, "%s[%d]: want one word, got %q", path, i, s)
			ok = false
			continue
		}
		out = append(out, strings.ToUpper(s))
	}
	return out, ok
}

func (p *parser) server(n *yaml.Node) {
	s := &p.cfg.Server
	p.fields(n, "server", map[string]func(*yaml.Node, string){
		"listen": func(v *yaml.Node, path string) {
			addr, ok := p.str(v, path)
			if !ok || addr == "" {
				return
			}
			_, port, err := net.SplitHostPort(addr)
			if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil {
				p.add(resolve(v).Line, "%s: want host:port, like 127.0.0.1:8080, got %q", path, addr)
				return
			}
			s.Listen = addr
		},
		"admin_token": func(v *yaml.Node, path string) { s.AdminToken, _ = p.str(v, path) },
	})
}

func (p *parser) database(n *yaml.Node) {
	s, ok := p.str(n, "database")
	if !ok || s == "" {
		return
	}
	switch {
	case strings.HasPrefix(s, "sqlite:") && len(s) > len("sqlite:"),
		strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		p.cfg.Database = s
	default:
		p.add(resolve(n).Line, "database: want sqlite:FILE or postgres://…")
	}
}

func (p *parser) defaults(n *yaml.Node) {
	d := &p.cfg.Defaults
	p.fields(n, "defaults", map[string]func(*yaml.Node, string){
		"country": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok || s == "" {
				return
			}
			if !phone.ValidRegion(s) {
				p.add(resolve(v).Line, "%s: unknown country %q (want an ISO code like KE)", path, s)
				return
			}
			d.Country = strings.ToUpper(s)
		},
		"timezone": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok || s == "" {
				return
			}
			loc, err := time.LoadLocation(s)
			if err != nil {
				p.add(resolve(v).Line, "%s: unknown time zone %q (want a name like Africa/Nairobi)", path, s)
				return
			}
			d.Timezone, d.Location = s, loc
		},
		"quiet_hours": func(v *yaml.Node, path string) {
			s, ok := p.str(v, path)
			if !ok || s == "" {
				return
			}
			q, err := ParseQuietHours(s)
			if err != nil {
				p.add(resolve(v).Line, "%s: %v", path, err)
				return
			}
			d.QuietHours, d.Quiet = s, q
		},
		"max_per_contact_per_day": func(v *yaml.Node, path string) {
			if x, ok := p.integer(v, path, 0); ok {
				d.MaxPerContactPerDay = x
			}
		},
		"opt_out_words": func(v *yaml.Node, path string) {
			if w, ok := p.words(v, path); ok {
				d.OptOutWords = w
			}
		},
		"opt_in_words": func(v *yaml.Node, path string) {
			if w, ok := p.words(v, path); ok {
				d.OptInWords = w
			}
		},
	})
	for _, w := range d.OptInWords {
		if hasWord(d.OptOutWords, w) {
			p.add(resolve(n).Line, "defaults: %q is both an opt-out and an opt-in word", w)
		}
	}
}

func (p *parser) retry(n *yaml.Node) {
	r := &p.cfg.Retry
	lines := map[string]int{}
	p.fields(n, "retry", map[string]func(*yaml.Node, string){
		"max_attempts": func(v *yaml.Node, path string) {
			if x, ok := p.integer(v, path, 1); ok {
				r.MaxAttempts = x
			}
		},
		"base_delay": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path); ok {
				r.BaseDelay = d
			}
		},
		"max_delay": func(v *yaml.Node, path string) {
			lines[path] = resolve(v).Line
			if d, ok := p.duration(v, path); ok {
				r.MaxDelay = d
			}
		},
	})
	if r.MaxDelay < r.BaseDelay {
		line, ok := lines["retry.max_delay"]
		if !ok {
			line = resolve(n).Line
		}
		p.add(line, "retry.max_delay: want at least base_delay (%s)", r.BaseDelay)
	}
}

func (p *parser) agents(n *yaml.Node) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "agents: want a list of {name, phone}")
		return
	}
	names := map[string]int{}
	for i, item := range n.Content {
		path := fmt.Sprintf("agents[%d]", i)
		var a Agent
		nameLine, phoneOK := 0, false
		p.fields(item, path, map[string]func(*yaml.Node, string){
			"name": func(v *yaml.Node, path string) {
				a.Name, _ = p.str(v, path)
				nameLine = resolve(v).Line
			},
			"phone": func(v *yaml.Node, path string) {
				raw, ok := p.str(v, path)
				if !ok {
					phoneOK = true // reported already
					return
				}
				phoneOK = true
				num, err := phone.Normalize(raw, p.cfg.Defaults.Country)
				if err != nil {
					p.add(resolve(v).Line, "%s: %v", path, err)
					return
				}
				a.Phone = num
			},
		})
		line := resolve(item).Line
		if a.Name == "" {
			p.add(line, "%s: missing name", path)
		} else if first, dup := names[strings.ToLower(a.Name)]; dup {
			p.add(nameLine, "%s: duplicate agent name %q (first on line %d)", path, a.Name, first)
		} else {
			names[strings.ToLower(a.Name)] = nameLine
		}
		if !phoneOK {
			p.add(line, "%s: missing phone", path)
		}
		p.cfg.Agents = append(p.cfg.Agents, a)
	}
}

func (p *parser) paygee(n *yaml.Node) {
	g := &p.cfg.Paygee
	p.fields(n, "paygee", map[string]func(*yaml.Node, string){
		"webhook_token":  func(v *yaml.Node, path string) { g.WebhookToken, _ = p.str(v, path) },
		"signing_secret": func(v *yaml.Node, path string) { g.SigningSecret, _ = p.str(v, path) },
		"api_url":        func(v *yaml.Node, path string) { g.APIURL, _ = p.httpURL(v, path) },
		"api_key":        func(v *yaml.Node, path string) { g.APIKey, _ = p.str(v, path) },
		"customer_cache_ttl": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path); ok {
				g.CustomerTTL = d
			}
		},
	})
}

func (p *parser) chatArchitect(n *yaml.Node) {
	c := &p.cfg.ChatArchitect
	p.fields(n, "chatarchitect", map[string]func(*yaml.Node, string){
		"api_url": func(v *yaml.Node, path string) {
			if u, ok := p.httpURL(v, path); ok && u != "" {
				c.APIURL = u
			}
		},
		"app_id":        func(v *yaml.Node, path string) { c.AppID, _ = p.str(v, path) },
		"app_secret":    func(v *yaml.Node, path string) { c.AppSecret, _ = p.str(v, path) },
		"webhook_token": func(v *yaml.Node, path string) { c.WebhookToken, _ = p.str(v, path) },
		"rate": func(v *yaml.Node, path string) {
			if r, ok := p.positiveFloat(v, path); ok {
				c.Rate = r
			}
		},
		"hsm_text_matching": func(v *yaml.Node, path string) {
			if b, ok := p.boolean(v, path); ok {
				c.HSMTextMatching = b
			}
		},
		"timeout": func(v *yaml.Node, path string) {
			if d, ok := p.duration(v, path); ok {
				c.Timeout = d
			}
		},
	})
}

// workflows compiles each workflow with workflow.Compile and maps its problems back to lines.
func (p *parser) workflows(n *yaml.Node) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "workflows: want a list of workflows")
		return
	}
	ids := map[string]int{}
	for i, item := range n.Content {
		item = resolve(item)
		label := fmt.Sprintf("workflows[%d]", i)
		if item.Kind != yaml.MappingNode {
			p.add(item.Line, "%s: want a map with id, on and do, got %s", label, kind(item))
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k, v := item.Content[j], resolve(item.Content[j+1]); k.Value == "id" && v.Kind == yaml.ScalarNode && v.Value != "" {
				label = fmt.Sprintf("workflow %q", v.Value)
			}
		}
		lines := map[string]int{}
		p.label = label
		raw, _ := p.plain(item, nil, lines, 0).(map[string]any)
		p.label = ""
		if id, ok := raw["id"].(string); ok && id != "" {
			line := lines[pathKey([]string{"id"})]
			if first, dup := ids[id]; dup {
				p.add(line, "duplicate workflow id %q (first on line %d)", id, first)
			} else {
				ids[id] = line
			}
		}
		w, probs := workflow.Compile(raw)
		for _, pr := range probs {
			line := item.Line
			for k := len(pr.Path); k >= 0; k-- {
				if l, ok := lines[pathKey(pr.Path[:k])]; ok {
					line = l
					break
				}
			}
			p.add(line, "%s: %s", label, pr.Error())
		}
		if w != nil {
			p.cfg.Workflows = append(p.cfg.Workflows, w)
		}
	}
}

func pathKey(path []string) string { return strings.Join(path, "\x00") }

// maxDepth bounds the nesting plain follows, against alias loops.
const maxDepth = 64

// plain converts a node into the map/list/scalar shape of a YAML decode, expanding ${VAR} in
// scalars and recording in lines the line of each path (a map entry's key, a list item).
func (p *parser) plain(n *yaml.Node, path []string, lines map[string]int, depth int) any {
	n = resolve(n)
	if depth > maxDepth {
		p.add(n.Line, "nesting too deep")
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range p.mapping(n, formatPath(path)) {
			kp := append(path[:len(path):len(path)], e.key.Value)
			lines[pathKey(kp)] = e.key.Line
			m[e.key.Value] = p.plain(e.val, kp, lines, depth+1)
		}
		return m
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			ip := append(path[:len(path):len(path)], strconv.Itoa(i))
			lines[pathKey(ip)] = resolve(item).Line
			list[i] = p.plain(item, ip, lines, depth+1)
		}
		return list
	case yaml.ScalarNode:
		return p.plainScalar(n, p.label+": "+formatPath(path))
	}
	return nil
}

// plainScalar types a scalar as YAML would: null, bool, int, float, else string. A plain
// (unquoted) scalar that held ${VAR} is typed by its expanded text, which can only ever be a
// scalar: a variable cannot inject YAML.
func (p *parser) plainScalar(n *yaml.Node, path string) any {
	node := n
	if strings.Contains(n.Value, "$") {
		s, ok := p.str(n, path)
		if !ok {
			return nil
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) != 0 {
			return s // quoted: text whatever it holds
		}
		node = &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	}
	switch node.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := node.Decode(&v); err == nil {
			return v
		}
	}
	return node.Value
}

// expand replaces ${VAR} and ${VAR:-default} with the environment's values and $$ with $.
// A lone $ stays as it is. It returns the reasons for references that cannot be expanded.
func (p *parser) expand(s string) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var errs []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, fmt.Sprintf("unterminated ${ in %q", s))
				return s, errs
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !envName.MatchString(name) {
				errs = append(errs, fmt.Sprintf("bad environment variable reference ${%s}", ref))
			} else if v, ok := p.getenv(name); ok && (v != "" || !hasDef) {
				b.WriteString(v)
			} else if hasDef {
				b.WriteString(def)
			} else {
				errs = append(errs, fmt.Sprintf("environment variable %s is not set", name))
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), errs
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kind names a node's kind for problems.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// formatPath names a path inside a workflow for problems.
func formatPath(path []string) string { return workflow.FormatPath(path) }
