package toolcall

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The JSON schemas of the tools are derived from their Go input and output
// structs, so a field cannot be added to one without the other. Two struct
// tags carry what Go types cannot say:
//
//	desc:"…"     the field's description, written for the model
//	schema:"…"   constraints, separated by ";":
//	             pattern=<named pattern>  enum=a|b|c  min=N  max=N  default=N
//	             minLength=N  maxLength=N  minItems=N  maxItems=N  unique
//	             maxProperties=N  keyPattern=<named>  keyMaxLength=N
//	             item.<constraint> (applied to array items or map values)
//
// A value of N may be a limit name in braces, e.g. max={preview_rows_max},
// resolved from the [Vocabulary] the tools are built with (the server's
// limits); pattern names come from it too. Fields
// without omitempty are required. Every object is closed
// (additionalProperties: false).

// Vocabulary is what schema tags may refer to by name: limits in braces
// and named patterns.
type Vocabulary struct {
	// Limits are the values of {name} in numeric constraints.
	Limits map[string]int
	// Patterns are the patterns of pattern=<name> and keyPattern=<name>.
	Patterns map[string]Pattern
}

// Pattern is a named pattern of the schema tags.
type Pattern struct {
	// Regexp is the JSON schema pattern.
	Regexp string
	// Fix tells the agent how to write a value that matches, given the
	// value it sent; nil means a generic "make it match" hint.
	Fix func(got string) string
}

// fixFor returns the hint for a value that does not match regexp.
func (v Vocabulary) fixFor(regexp, got string) string {
	for _, p := range v.Patterns {
		if p.Regexp == regexp && p.Fix != nil {
			return p.Fix(got)
		}
	}
	return "make it match " + regexp
}

var timeType = reflect.TypeFor[time.Time]()

// SchemaFor returns the JSON schema of t, a struct type.
func SchemaFor(t reflect.Type, voc Vocabulary) (map[string]any, error) {
	s, err := typeSchema(t, "", voc)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t, err)
	}
	if s["type"] != "object" {
		return nil, fmt.Errorf("schema of %s: not a struct", t)
	}
	return s, nil
}

func typeSchema(t reflect.Type, tag string, voc Vocabulary) (map[string]any, error) {
	cons, err := parseConstraints(tag, voc)
	if err != nil {
		return nil, err
	}
	s := map[string]any{}
	switch {
	case t == timeType:
		s["type"] = "string"
		s["format"] = "date-time"
	case t.Kind() == reflect.Pointer:
		return typeSchema(t.Elem(), tag, voc)
	case t.Kind() == reflect.Interface:
		// Any JSON value.
	case t.Kind() == reflect.String:
		s["type"] = "string"
	case t.Kind() == reflect.Bool:
		s["type"] = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s["type"] = "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s["type"] = "number"
	case t.Kind() == reflect.Slice:
		items, err := typeSchema(t.Elem(), cons.item, voc)
		if err != nil {
			return nil, err
		}
		s["type"] = "array"
		s["items"] = items
	case t.Kind() == reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s is not a string", t.Key())
		}
		vals, err := typeSchema(t.Elem(), cons.item, voc)
		if err != nil {
			return nil, err
		}
		s["type"] = "object"
		s["additionalProperties"] = vals
	case t.Kind() == reflect.Struct:
		if err := structSchema(t, s, voc); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported type %s", t)
	}
	for k, v := range cons.kw {
		s[k] = v
	}
	return s, nil
}

func structSchema(t reflect.Type, s map[string]any, voc Vocabulary) error {
	props := map[string]any{}
	required := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			return fmt.Errorf("field %s has no json name", f.Name)
		}
		fs, err := typeSchema(f.Type, f.Tag.Get("schema"), voc)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if d := f.Tag.Get("desc"); d != "" {
			fs["description"] = d
		}
		props[name] = fs
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	s["type"] = "object"
	s["properties"] = props
	if len(required) > 0 {
		s["required"] = required
	}
	s["additionalProperties"] = false
	return nil
}

type constraints struct {
	kw   map[string]any
	item string // constraints for array items or map values
}

func parseConstraints(tag string, voc Vocabulary) (constraints, error) {
	c := constraints{kw: map[string]any{}}
	var items []string
	for _, part := range strings.Split(tag, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(part, "item."); ok {
			items = append(items, rest)
			continue
		}
		key, val, _ := strings.Cut(part, "=")
		num := func() (int, error) {
			if name, ok := strings.CutPrefix(val, "{"); ok {
				v, found := voc.Limits[strings.TrimSuffix(name, "}")]
				if !found {
					return 0, fmt.Errorf("unknown limit %s", val)
				}
				return v, nil
			}
			return strconv.Atoi(val)
		}
		switch key {
		case "pattern", "keyPattern":
			pat, ok := voc.Patterns[val]
			if !ok {
				return c, fmt.Errorf("unknown named pattern %q", val)
			}
			if key == "pattern" {
				c.kw["pattern"] = pat.Regexp
			} else {
				names, _ := c.kw["propertyNames"].(map[string]any)
				if names == nil {
					names = map[string]any{}
				}
				names["pattern"] = pat.Regexp
				c.kw["propertyNames"] = names
			}
		case "enum":
			var vals []any
			for _, v := range strings.Split(val, "|") {
				vals = append(vals, v)
			}
			c.kw["enum"] = vals
		case "unique":
			c.kw["uniqueItems"] = true
		case "min", "max", "default", "minLength", "maxLength", "minItems", "maxItems", "maxProperties", "keyMaxLength":
			n, err := num()
			if err != nil {
				return c, fmt.Errorf("constraint %q: %w", part, err)
			}
			switch key {
			case "min":
				c.kw["minimum"] = n
			case "max":
				c.kw["maximum"] = n
			case "keyMaxLength":
				names, _ := c.kw["propertyNames"].(map[string]any)
				if names == nil {
					names = map[string]any{}
				}
				names["maxLength"] = n
				c.kw["propertyNames"] = names
			default:
				c.kw[key] = n
			}
		default:
			return c, fmt.Errorf("unknown constraint %q", part)
		}
	}
	c.item = strings.Join(items, ";")
	return c, nil
}
