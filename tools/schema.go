package tools

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
// resolved from the server's limits when the tools are built. Fields
// without omitempty are required. Every object is closed
// (additionalProperties: false).

// Named patterns.
const (
	// NamePattern is the rule for pipeline, dataset, flow and expectation
	// names.
	NamePattern = `^[a-z][a-z0-9_]{0,62}$`
	// columnPattern is a plain column name.
	columnPattern = `^[A-Za-z_][A-Za-z0-9_]*$`
	// propertyPattern is a table property key.
	propertyPattern = `^[A-Za-z_][A-Za-z0-9_.\-]*$`
	// sourcePattern is a source table name with one to three parts.
	sourcePattern = `^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$`
	// globPattern is a table name pattern with * and ? wildcards.
	globPattern = `^[A-Za-z0-9_*?]{1,128}$`
	// hashPattern is a pipeline hash.
	hashPattern = `^[0-9a-f]{64}$`
)

var namedPatterns = map[string]string{
	"name":     NamePattern,
	"column":   columnPattern,
	"property": propertyPattern,
	"source":   sourcePattern,
	"glob":     globPattern,
	"hash":     hashPattern,
}

// schemaLimits are the values a schema tag may refer to in braces.
type schemaLimits map[string]int

var timeType = reflect.TypeFor[time.Time]()

// schemaFor returns the JSON schema of t, a struct type.
func schemaFor(t reflect.Type, lim schemaLimits) (map[string]any, error) {
	s, err := typeSchema(t, "", lim)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t, err)
	}
	if s["type"] != "object" {
		return nil, fmt.Errorf("schema of %s: not a struct", t)
	}
	return s, nil
}

func typeSchema(t reflect.Type, tag string, lim schemaLimits) (map[string]any, error) {
	cons, err := parseConstraints(tag, lim)
	if err != nil {
		return nil, err
	}
	s := map[string]any{}
	switch {
	case t == timeType:
		s["type"] = "string"
		s["format"] = "date-time"
	case t.Kind() == reflect.Pointer:
		return typeSchema(t.Elem(), tag, lim)
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
		items, err := typeSchema(t.Elem(), cons.item, lim)
		if err != nil {
			return nil, err
		}
		s["type"] = "array"
		s["items"] = items
	case t.Kind() == reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s is not a string", t.Key())
		}
		vals, err := typeSchema(t.Elem(), cons.item, lim)
		if err != nil {
			return nil, err
		}
		s["type"] = "object"
		s["additionalProperties"] = vals
	case t.Kind() == reflect.Struct:
		if err := structSchema(t, s, lim); err != nil {
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

func structSchema(t reflect.Type, s map[string]any, lim schemaLimits) error {
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
		fs, err := typeSchema(f.Type, f.Tag.Get("schema"), lim)
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

func parseConstraints(tag string, lim schemaLimits) (constraints, error) {
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
				v, found := lim[strings.TrimSuffix(name, "}")]
				if !found {
					return 0, fmt.Errorf("unknown limit %s", val)
				}
				return v, nil
			}
			return strconv.Atoi(val)
		}
		switch key {
		case "pattern", "keyPattern":
			p, ok := namedPatterns[val]
			if !ok {
				return c, fmt.Errorf("unknown named pattern %q", val)
			}
			if key == "pattern" {
				c.kw["pattern"] = p
			} else {
				names, _ := c.kw["propertyNames"].(map[string]any)
				if names == nil {
					names = map[string]any{}
				}
				names["pattern"] = p
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
