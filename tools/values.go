package tools

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Rows come back from the engine as Go values (see package connect). The
// agent gets JSON: numbers stay numbers when JSON can hold them exactly;
// decimals, timestamps, dates, intervals and binary become strings; arrays
// stay arrays; structs become objects; maps become lists of {key, value}
// (their keys need not be strings).

// maxSafeInt is the largest integer a JSON reader using doubles keeps exact.
const maxSafeInt = 1<<53 - 1

// jsonRows renders rows for columns.
func jsonRows(cols []connect.Column, rows [][]any) [][]any {
	types := make([]sparkType, len(cols))
	for i, c := range cols {
		types[i] = parseType(c.Type)
	}
	out := make([][]any, len(rows))
	for i, r := range rows {
		jr := make([]any, len(r))
		for j, v := range r {
			t := sparkType{}
			if j < len(types) {
				t = types[j]
			}
			jr[j] = jsonValue(v, t)
		}
		out[i] = jr
	}
	return out
}

func jsonValue(v any, t sparkType) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool, string:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		if x > maxSafeInt || x < -maxSafeInt {
			return strconv.FormatInt(x, 10)
		}
		return x
	case float32:
		return jsonFloat(float64(x), 32)
	case float64:
		return jsonFloat(x, 64)
	case connect.Decimal:
		return x.String()
	case *big.Int:
		return x.String()
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		switch t.name {
		case "date":
			return x.UTC().Format(time.DateOnly)
		case "timestamp_ntz":
			return x.UTC().Format("2006-01-02T15:04:05.999999")
		}
		return x.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	case time.Duration:
		return dayTimeInterval(x)
	case connect.YearMonthInterval:
		return x.String()
	case connect.CalendarInterval:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, t.elem(0))
		}
		return out
	case []connect.MapEntry:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = map[string]any{"key": jsonValue(e.Key, t.elem(0)), "value": jsonValue(e.Value, t.elem(1))}
		}
		return out
	case connect.Row:
		if t.name != "struct" {
			return x.String() // variant
		}
		obj := make(map[string]any, len(x))
		for i, e := range x {
			name := fmt.Sprintf("_%d", i+1)
			if i < len(t.fields) {
				name = t.fields[i]
			}
			obj[name] = jsonValue(e, t.elem(i))
		}
		return obj
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// jsonFloat keeps finite floats as numbers and spells the others as Spark
// does, since JSON has no NaN or infinity.
func jsonFloat(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if bits == 32 {
		// Render the float32 value as its shortest decimal, not as the
		// float64 it widens to (0.1f would become 0.10000000149011612).
		v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		return v
	}
	return f
}

// dayTimeInterval renders an interval day to second as Spark does.
func dayTimeInterval(d time.Duration) string {
	sign := ""
	u := uint64(d)
	if d < 0 {
		sign, u = "-", uint64(-d)
	}
	days := u / uint64(24*time.Hour)
	u %= uint64(24 * time.Hour)
	h := u / uint64(time.Hour)
	u %= uint64(time.Hour)
	m := u / uint64(time.Minute)
	u %= uint64(time.Minute)
	sec := fmt.Sprintf("%02d", u/uint64(time.Second))
	if frac := u % uint64(time.Second); frac != 0 {
		sec += strings.TrimRight(fmt.Sprintf(".%09d", frac), "0")
	}
	return fmt.Sprintf("INTERVAL '%s%d %02d:%02d:%s' DAY TO SECOND", sign, days, h, m, sec)
}

// sparkType is a parsed Spark DDL type, as much as rendering needs.
type sparkType struct {
	name   string // lower-case base name: array, map, struct, date, ...
	args   []sparkType
	fields []string // struct field names
}

func (t sparkType) elem(i int) sparkType {
	if i < len(t.args) {
		return t.args[i]
	}
	return sparkType{}
}

// parseType parses the DDL spelling connect.Column.Type uses, e.g.
// "array<struct<a:int,b:timestamp>>" or "map<string,date>".
func parseType(s string) sparkType {
	s = strings.TrimSpace(s)
	base, inner, ok := strings.Cut(s, "<")
	if !ok || !strings.HasSuffix(inner, ">") {
		name, _, _ := strings.Cut(strings.ToLower(s), "(")
		return sparkType{name: strings.TrimSpace(name)}
	}
	inner = inner[:len(inner)-1]
	t := sparkType{name: strings.ToLower(strings.TrimSpace(base))}
	for _, part := range splitTop(inner) {
		if t.name == "struct" {
			name, typ := splitField(part)
			t.fields = append(t.fields, name)
			t.args = append(t.args, parseType(typ))
			continue
		}
		t.args = append(t.args, parseType(part))
	}
	return t
}

// splitTop splits on commas outside <>, () and backquotes.
func splitTop(s string) []string {
	var parts []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`':
			quoted = !quoted
		case quoted:
		case c == '<' || c == '(':
			depth++
		case c == '>' || c == ')':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// splitField splits "name:type" (name possibly backquoted).
func splitField(s string) (string, string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "`") {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '`' {
				if i+1 < len(s) && s[i+1] == '`' {
					b.WriteByte('`')
					i++
					continue
				}
				rest := strings.TrimPrefix(strings.TrimSpace(s[i+1:]), ":")
				return b.String(), rest
			}
			b.WriteByte(s[i])
		}
		return b.String(), ""
	}
	name, typ, _ := strings.Cut(s, ":")
	return strings.TrimSpace(name), typ
}
