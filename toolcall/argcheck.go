package toolcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// argChecker validates raw tool arguments against a tool's input schema
// and turns every violation into a problem that names the argument, the bad
// value and the fix, so the agent can correct all of them in one round.
type argChecker struct {
	schema *jsonschema.Schema
	doc    map[string]any // the schema itself, for hints
	voc    Vocabulary     // the named patterns, for their hints
}

// compileSchema compiles a schema document with the 2020-12 draft.
func compileSchema(name string, doc map[string]any) (*jsonschema.Schema, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "sdp-mcp:///" + name + ".json"
	if err := c.AddResource(url, v); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

func newArgChecker(name string, doc map[string]any, voc Vocabulary) (*argChecker, error) {
	s, err := compileSchema(name, doc)
	if err != nil {
		return nil, fmt.Errorf("compiling the input schema of %s: %w", name, err)
	}
	return &argChecker{schema: s, doc: doc, voc: voc}, nil
}

// check validates raw (nil or empty means {}) and returns every problem.
func (a *argChecker) check(raw json.RawMessage) pipeline.Problems {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return pipeline.Problems{{On: "arguments", Message: "the arguments are not valid JSON",
			Fix: "send the arguments as one JSON object"}}
	}
	if _, ok := v.(map[string]any); !ok {
		return pipeline.Problems{{On: "arguments", Got: clipJSON(v), Message: "the arguments must be a JSON object",
			Fix: "send an object such as " + a.example()}}
	}
	err = a.schema.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return pipeline.Problems{{On: "arguments", Message: err.Error(), Fix: "check the arguments against the tool's input schema"}}
	}
	var ps pipeline.Problems
	a.collect(ve, v, &ps)
	slices.SortStableFunc(ps, func(x, y pipeline.Problem) int { return strings.Compare(x.Field, y.Field) })
	return slices.CompactFunc(ps, func(x, y pipeline.Problem) bool { return x == y })
}

// example renders the required arguments as a skeleton object.
func (a *argChecker) example() string {
	req, _ := a.doc["required"].([]string)
	parts := make([]string, len(req))
	for i, r := range req {
		parts[i] = fmt.Sprintf("%q: …", r)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (a *argChecker) collect(e *jsonschema.ValidationError, root any, ps *pipeline.Problems) {
	switch e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			a.collect(c, root, ps)
		}
		return
	}
	if len(e.Causes) > 0 {
		if _, ok := e.ErrorKind.(*kind.PropertyNames); !ok {
			for _, c := range e.Causes {
				a.collect(c, root, ps)
			}
			return
		}
	}
	*ps = append(*ps, a.problems(e, root)...)
}

// problems describes one leaf error.
func (a *argChecker) problems(e *jsonschema.ValidationError, root any) []pipeline.Problem {
	loc := e.InstanceLocation
	field := fieldPath(loc)
	got := clipJSON(valueAt(root, loc))
	sch := schemaAt(a.doc, loc)
	p := pipeline.Problem{On: "argument", Field: field, Got: got}
	if field == "" {
		p.On = "arguments"
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var out []pipeline.Problem
		for _, m := range k.Missing {
			fix := fmt.Sprintf("add %q", m)
			if d := describeProp(sch, m); d != "" {
				fix += ": " + d
			}
			out = append(out, pipeline.Problem{On: "argument", Field: joinField(field, m),
				Message: "missing (it is required)", Fix: fix})
		}
		return out
	case *kind.AdditionalProperties:
		names := propNames(sch)
		var out []pipeline.Problem
		for _, u := range k.Properties {
			fix := "remove it"
			if s := config.Closest(u, names); s != "" {
				fix = fmt.Sprintf("did you mean %q? Rename it", s)
			}
			if len(names) > 0 {
				fix += "; the accepted arguments here are: " + strings.Join(names, ", ")
			} else {
				fix += "; this tool takes no arguments"
			}
			out = append(out, pipeline.Problem{On: "argument", Field: joinField(field, u),
				Got: clipJSON(valueAt(root, append(slices.Clone(loc), u))), Message: "unknown argument", Fix: fix})
		}
		return out
	case *kind.Type:
		want := strings.Join(k.Want, " or ")
		p.Message = fmt.Sprintf("want %s, got %s", article(want), article(k.Got))
		p.Fix = typeFix(k.Want, sch)
	case *kind.Enum:
		p.Message = "not one of the allowed values"
		p.Fix = "use one of: " + joinAny(k.Want)
	case *kind.Pattern:
		p.Message = "does not match the required form " + k.Want
		p.Fix = a.voc.fixFor(k.Want, k.Got)
	case *kind.MinLength:
		p.Message = fmt.Sprintf("too short: %d characters, at least %d needed", k.Got, k.Want)
		p.Fix = "give a non-empty value"
	case *kind.MaxLength:
		p.Message = fmt.Sprintf("too long: %d characters, at most %d allowed", k.Got, k.Want)
		p.Fix = fmt.Sprintf("shorten it to at most %d characters", k.Want)
	case *kind.Minimum:
		p.Message = fmt.Sprintf("%s is below the minimum %s", ratString(k.Got), ratString(k.Want))
		p.Fix = rangeFix(sch)
	case *kind.Maximum:
		p.Message = fmt.Sprintf("%s is above the maximum %s", ratString(k.Got), ratString(k.Want))
		p.Fix = rangeFix(sch)
	case *kind.MinItems:
		p.Message = fmt.Sprintf("%d items, at least %d needed", k.Got, k.Want)
		p.Fix = "add items, or leave the argument out"
	case *kind.MaxItems:
		p.Message = fmt.Sprintf("%d items, at most %d allowed", k.Got, k.Want)
		p.Fix = fmt.Sprintf("pass at most %d items", k.Want)
	case *kind.UniqueItems:
		p.Message = fmt.Sprintf("items %d and %d are the same", k.Duplicates[0], k.Duplicates[1])
		p.Fix = "list each value once"
	case *kind.MaxProperties:
		p.Message = fmt.Sprintf("%d entries, at most %d allowed", k.Got, k.Want)
		p.Fix = fmt.Sprintf("pass at most %d entries", k.Want)
	case *kind.PropertyNames:
		// jsonschema v6.0.3 can report a wrong instance location for
		// propertyNames errors (a reused slice), so find the object again.
		if at, ok := findKey(root, a.doc, nil, k.Property); ok {
			field = fieldPath(at)
		}
		p.Field = joinField(field, k.Property)
		p.Got = k.Property
		p.Message = "not a valid key"
		p.Fix = "use keys made of letters, digits, _, . and -, starting with a letter or _, at most 256 characters"
	default:
		msg := strings.TrimSpace(e.Error())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
		p.Message = strings.TrimPrefix(msg, "- ")
		p.Fix = "check the argument against the tool's input schema"
	}
	return []pipeline.Problem{p}
}

// findKey finds the object holding key whose schema constrains its
// property names.
func findKey(v any, sch map[string]any, at []string, key string) ([]string, bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[key]; ok && sch != nil && sch["propertyNames"] != nil {
			return at, true
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if loc, ok := findKey(x[k], schemaAt(sch, []string{k}), append(slices.Clone(at), k), key); ok {
				return loc, true
			}
		}
	case []any:
		for i, e := range x {
			if loc, ok := findKey(e, schemaAt(sch, []string{strconv.Itoa(i)}), append(slices.Clone(at), strconv.Itoa(i)), key); ok {
				return loc, true
			}
		}
	}
	return nil, false
}

// fieldPath renders an instance location as expectations[1].name.
func fieldPath(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		if _, err := strconv.Atoi(s); err == nil && b.Len() > 0 {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func joinField(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

func valueAt(v any, loc []string) any {
	for _, s := range loc {
		switch x := v.(type) {
		case map[string]any:
			v = x[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// schemaAt follows properties, items and additionalProperties along loc.
func schemaAt(s map[string]any, loc []string) map[string]any {
	for _, seg := range loc {
		if s == nil {
			return nil
		}
		if props, ok := s["properties"].(map[string]any); ok {
			if p, ok := props[seg].(map[string]any); ok {
				s = p
				continue
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			s = items
			continue
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			s = ap
			continue
		}
		return nil
	}
	return s
}

func propNames(s map[string]any) []string {
	props, _ := s["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func describeProp(s map[string]any, name string) string {
	props, _ := s["properties"].(map[string]any)
	p, _ := props[name].(map[string]any)
	d, _ := p["description"].(string)
	if i := strings.Index(d, ". "); i > 0 {
		d = d[:i+1]
	}
	return d
}

func typeFix(want []string, sch map[string]any) string {
	switch {
	case slices.Contains(want, "string"):
		if e, ok := sch["enum"].([]any); ok {
			return "pass one of these strings: " + joinAny(e)
		}
		return `pass a JSON string in double quotes, e.g. "orders"`
	case slices.Contains(want, "integer"):
		return "pass a whole number without quotes, " + rangeFix(sch)
	case slices.Contains(want, "boolean"):
		return "pass true or false without quotes"
	case slices.Contains(want, "array"):
		return `pass a JSON array, e.g. ["a", "b"]`
	case slices.Contains(want, "object"):
		return `pass a JSON object, e.g. {"key": "value"}`
	}
	return "pass a value of the right type"
}

func rangeFix(sch map[string]any) string {
	lo, hasLo := sch["minimum"]
	hi, hasHi := sch["maximum"]
	switch {
	case hasLo && hasHi:
		return fmt.Sprintf("use a value from %v to %v", lo, hi)
	case hasLo:
		return fmt.Sprintf("use a value of at least %v", lo)
	case hasHi:
		return fmt.Sprintf("use a value of at most %v", hi)
	}
	return "use a number"
}

func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "integer", "array", "object":
		return "an " + t
	}
	return "a " + t
}

func joinAny(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}

// clipJSON renders a value compactly for messages.
func clipJSON(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
