package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxFileBytes caps the config file; a real one is a few hundred bytes.
const maxFileBytes = 1 << 20

// Load reads the YAML file at path over the defaults. An empty path means no
// file: the defaults. The file is strict: unknown keys, duplicate keys and
// values of the wrong type are reported together, each with its line, key
// and fix. Load does not check values against each other; call
// [Config.Apply] for the flags and then [Config.Validate].
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	c.file = path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path, Problems: []Problem{{Key: "--config", Message: "the file does not exist",
			Fix: "pass the path of an existing YAML file, or leave --config out to use the defaults"}}}
	}
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	if len(data) > maxFileBytes {
		return nil, &Error{File: path, Problems: []Problem{{Key: "--config", Message: "the file is larger than 1 MiB",
			Fix: "pass the sdp-mcp configuration file"}}}
	}
	if err := c.decode(data); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse is Load for YAML already in memory; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	c := Default()
	c.file = name
	if err := c.decode(data); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) decode(data []byte) error {
	return DecodeYAML(c.file, data, c, c.lines, movedKeys)
}

// movedKeys are keys that moved from this file to the policy file, with the
// fix for each.
var movedKeys = map[string]string{
	"limits":                          "limits moved to the policy file: put them under limits: in the file that policy: names (start from the output of sdp-mcp policy show)",
	"environments.sandbox.sources":    "sources moved to the policy file: list them as catalog.schema.* globs under environments.sandbox.sources in the file that policy: names",
	"environments.production.sources": "sources moved to the policy file: list them as catalog.schema.* globs under environments.production.sources in the file that policy: names",
}

// DecodeYAML decodes data into v, a pointer to a struct whose fields have
// yaml tags, strictly: unknown keys, duplicate keys, aliases and values of
// the wrong type are reported together as one *Error naming the file,
// each with its line, key and fix. lines receives the line of every key
// path set (e.g. "limits.call_timeout", "rules[2].when"). moved maps key
// paths that are no longer accepted to the fix to give for them.
func DecodeYAML(file string, data []byte, v any, lines map[string]int, moved map[string]string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &Error{File: file, Problems: []Problem{{Key: "(file)", Line: yamlErrorLine(err),
			Message: "not valid YAML: " + yamlErrorText(err), Fix: "fix the YAML syntax (indent with spaces, key: value)"}}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file: defaults
	}
	d := decoder{lines: lines, moved: moved}
	d.value(doc.Content[0], reflect.ValueOf(v).Elem(), "")
	if len(d.problems) > 0 {
		return &Error{File: file, Problems: d.problems}
	}
	return nil
}

// decoder walks a YAML node tree and a Go value together.
type decoder struct {
	lines    map[string]int
	moved    map[string]string
	problems []Problem
}

var durationType = reflect.TypeFor[Duration]()

func (d *decoder) fail(n *yaml.Node, key, msg, fix string) {
	if key == "" {
		key = "(top level)"
	}
	d.problems = append(d.problems, Problem{Key: key, Line: n.Line, Message: msg, Fix: fix})
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		d.fail(n, key, "aliases are not supported", "write the value out")
		return
	}
	if key != "" {
		d.lines[key] = n.Line
	}
	if v.Type() == durationType {
		d.duration(n, v, key)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), key)
	case reflect.Struct:
		d.mapping(n, v, key)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.fail(n, key, "want a string, got "+describe(n), "write a string, quoted if it looks like a number or boolean: "+lastKey(key)+": \"…\"")
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, key, "want true or false, got "+describe(n), "write "+lastKey(key)+": true or "+lastKey(key)+": false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n, key, "want a whole number, got "+describe(n), "write a number without quotes or units, e.g. "+lastKey(key)+": 100")
			return
		}
		v.SetInt(i)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "want a list, got "+describe(n), "write a list: "+lastKey(key)+": [a, b]")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	case reflect.Map:
		d.stringMap(n, v, key)
	default:
		d.fail(n, key, "unsupported setting type "+v.Type().String(), "report this as a bug")
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, key string) {
	fix := "write a duration such as 30s, 5m or 1h30m: " + lastKey(key) + ": 2m"
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.fail(n, key, "want a duration, got "+describe(n), fix)
		return
	}
	t, err := time.ParseDuration(n.Value)
	if err != nil {
		d.fail(n, key, fmt.Sprintf("%q is not a duration", n.Value), fix)
		return
	}
	v.SetInt(int64(t))
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a mapping of keys, got "+describe(n), "write "+orTop(key)+" as key: value lines indented below it")
		return
	}
	fields := map[string]int{}
	numeric := map[string]bool{}
	var names []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, opt, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
		numeric[name] = opt == "numeric"
		names = append(names, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		k := kn.Value
		sub := k
		if key != "" {
			sub = key + "." + k
		}
		if kn.Kind != yaml.ScalarNode {
			d.fail(kn, key, "a key is not a plain name", "use one of: "+strings.Join(names, ", "))
			continue
		}
		if seen[k] {
			d.fail(kn, sub, "duplicate key", "keep one "+k+" entry")
			continue
		}
		seen[k] = true
		idx, ok := fields[k]
		if fix, isMoved := d.moved[sub]; !ok && isMoved {
			d.fail(kn, sub, "no longer set here", fix)
			continue
		}
		if !ok {
			fix := "remove it; the keys allowed in " + orTop(key) + " are: " + strings.Join(names, ", ")
			if s := Closest(k, names); s != "" {
				fix = "did you mean " + s + "? The keys allowed in " + orTop(key) + " are: " + strings.Join(names, ", ")
			}
			d.fail(kn, sub, "unknown key", fix)
			continue
		}
		if numeric[k] && vn.Kind == yaml.ScalarNode && (vn.Tag == "!!float" || vn.Tag == "!!int") {
			// A string field tagged ",numeric" takes a number as written
			// (spark: 4.10 stays "4.10").
			v.Field(idx).SetString(vn.Value)
			d.lines[sub] = kn.Line
			continue
		}
		d.value(vn, v.Field(idx), sub)
		d.lines[sub] = kn.Line
	}
}

// stringMap decodes a mapping with free-form keys (names chosen by the
// operator) into a map[string]T.
func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, key, "unsupported setting type "+v.Type().String(), "report this as a bug")
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a mapping of names, got "+describe(n), "write "+orTop(key)+" as name: value lines indented below it")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		sub := key + "." + kn.Value
		if kn.Kind != yaml.ScalarNode || kn.Value == "" {
			d.fail(kn, key, "a key is not a plain name", "write name: value")
			continue
		}
		if m.MapIndex(reflect.ValueOf(kn.Value).Convert(v.Type().Key())).IsValid() {
			d.fail(kn, sub, "duplicate key", "keep one "+kn.Value+" entry")
			continue
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		d.value(vn, ev, sub)
		d.lines[sub] = kn.Line
		m.SetMapIndex(reflect.ValueOf(kn.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		kind := map[string]string{"!!str": "string", "!!int": "number", "!!float": "number",
			"!!bool": "boolean", "!!null": "nothing"}[n.Tag]
		if kind == "" {
			kind = "value"
		}
		if n.Tag == "!!null" {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("the %s %q", kind, v)
	}
	return "something else"
}

func lastKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func orTop(key string) string {
	if key == "" {
		return "the top level"
	}
	return key
}

// Closest returns the candidate within edit distance 2 of s, if any: the
// "did you mean" of a misspelled key or argument name.
func Closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// yamlErrorLine extracts "line N" from a yaml.v3 syntax error.
func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i:], "line %d", &line)
	}
	return line
}

func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		msg = msg[i+2:]
	}
	return msg
}
