package connect

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Result values
//
// A decoded result row is a []any with one element per column. The dynamic
// type of each element depends on the Spark SQL type of its column:
//
//	NULL (any type)                 nil
//	boolean                         bool
//	tinyint, smallint, int, bigint  int8, int16, int32, int64
//	float, double                   float32, float64
//	decimal(p,s)                    Decimal
//	string, char, varchar           string
//	binary                          []byte
//	date                            time.Time (midnight UTC)
//	timestamp                       time.Time (the instant, in UTC)
//	timestamp_ntz                   time.Time (the wall clock, labelled UTC)
//	interval year to month          YearMonthInterval
//	interval day to second          time.Duration
//	interval                        CalendarInterval
//	array<T>                        []any
//	map<K,V>                        []MapEntry
//	struct<...>, variant            Row

// Column describes one column of a result: its name, its Spark SQL type in
// DDL spelling (for example "bigint", "decimal(10,2)" or
// "map<string,array<int>>") and whether it may hold NULL.
type Column struct {
	Name     string
	Type     string
	Nullable bool
}

// String renders the column the way it would appear in a DDL column list,
// for example "id bigint NOT NULL" or "`first name` string".
func (c Column) String() string {
	s := quoteSparkIdent(c.Name) + " " + c.Type
	if !c.Nullable {
		s += " NOT NULL"
	}
	return s
}

// columnsFromSchema describes each top-level field of s as a Column.
func columnsFromSchema(s *arrow.Schema) []Column {
	cols := make([]Column, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = Column{Name: f.Name, Type: sparkTypeFromArrow(f.Type), Nullable: f.Nullable}
	}
	return cols
}

// sparkTypeFromArrow names the Spark SQL type that Spark maps to dt, in DDL
// spelling ("int", "decimal(10,2)", "array<struct<a:int>>", ...). Arrow
// types the decoder does not support are named "arrow:" followed by the
// Arrow type.
func sparkTypeFromArrow(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.NullType:
		return "void"
	case *arrow.BooleanType:
		return "boolean"
	case *arrow.Int8Type:
		return "tinyint"
	case *arrow.Int16Type:
		return "smallint"
	case *arrow.Int32Type:
		return "int"
	case *arrow.Int64Type:
		return "bigint"
	case *arrow.Float32Type:
		return "float"
	case *arrow.Float64Type:
		return "double"
	case *arrow.Decimal128Type:
		return "decimal(" + strconv.Itoa(int(t.Precision)) + "," + strconv.Itoa(int(t.Scale)) + ")"
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "string"
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return "binary"
	case *arrow.Date32Type:
		return "date"
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return "timestamp_ntz"
		}
		return "timestamp"
	case *arrow.MonthIntervalType:
		return "interval year to month"
	case *arrow.DurationType:
		return "interval day to second"
	case *arrow.MonthDayNanoIntervalType:
		return "interval"
	case *arrow.MapType:
		return "map<" + sparkTypeFromArrow(t.KeyType()) + "," + sparkTypeFromArrow(t.ItemType()) + ">"
	case *arrow.StructType:
		if isVariantStruct(t) {
			return "variant"
		}
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.Fields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Name) // unquoted, as in Spark's catalogString
			b.WriteByte(':')
			b.WriteString(sparkTypeFromArrow(f.Type))
		}
		b.WriteByte('>')
		return b.String()
	case *arrow.ListType:
		return "array<" + sparkTypeFromArrow(t.Elem()) + ">"
	case *arrow.LargeListType:
		return "array<" + sparkTypeFromArrow(t.Elem()) + ">"
	default:
		return "arrow:" + dt.String()
	}
}

// isVariantStruct recognises how Spark sends a variant: a struct of binary
// "value" and "metadata" fields, the latter tagged variant=true.
func isVariantStruct(t *arrow.StructType) bool {
	if t.NumFields() != 2 || t.Field(0).Name != "value" || t.Field(1).Name != "metadata" {
		return false
	}
	v, ok := t.Field(1).Metadata.GetValue("variant")
	return ok && v == "true"
}

// Decimal is an exact fixed-point number: its value is Unscaled × 10^-Scale.
// Precision is the declared total number of digits of the column's decimal
// type. A nil Unscaled is treated as zero.
type Decimal struct {
	Unscaled  *big.Int
	Scale     int32
	Precision int32
}

// String renders the number in plain notation with exactly Scale digits after
// the decimal point, for example "-12.340" or "0.00".
func (d Decimal) String() string {
	digits := "0"
	neg := false
	if d.Unscaled != nil && d.Unscaled.Sign() != 0 {
		neg = d.Unscaled.Sign() < 0
		digits = new(big.Int).Abs(d.Unscaled).String()
	}
	switch {
	case d.Scale < 0:
		if digits != "0" {
			digits += strings.Repeat("0", int(-d.Scale))
		}
	case d.Scale > 0:
		scale := int(d.Scale)
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Rat returns the exact value of d as a new rational number.
func (d Decimal) Rat() *big.Rat {
	r := new(big.Rat)
	if d.Unscaled == nil {
		return r
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.Scale))), nil)
	if d.Scale >= 0 {
		return r.SetFrac(d.Unscaled, pow)
	}
	return r.SetInt(pow.Mul(pow, d.Unscaled))
}

// Equal reports whether d and o have the same unscaled value, scale and
// precision. It compares representations, so 1.0 and 1.00 are not equal; use
// Rat to compare numeric values.
func (d Decimal) Equal(o Decimal) bool {
	if d.Scale != o.Scale || d.Precision != o.Precision {
		return false
	}
	return bigOrZero(d.Unscaled).Cmp(bigOrZero(o.Unscaled)) == 0
}

func bigOrZero(b *big.Int) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return b
}

func abs32(v int32) int64 {
	if v < 0 {
		return -int64(v)
	}
	return int64(v)
}

// YearMonthInterval is a Spark year-month interval, counted in months.
type YearMonthInterval struct {
	Months int32
}

// String renders the interval as an ANSI literal, for example
// "INTERVAL '-1-2' YEAR TO MONTH" for minus fourteen months.
func (v YearMonthInterval) String() string {
	m := int64(v.Months)
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return "INTERVAL '" + sign + strconv.FormatInt(m/12, 10) + "-" +
		strconv.FormatInt(m%12, 10) + "' YEAR TO MONTH"
}

// CalendarInterval is Spark's legacy "interval" type: a number of months, a
// number of days and a sub-day amount, each of which may be negative
// independently of the others.
type CalendarInterval struct {
	Months      int32
	Days        int32
	Nanoseconds int64
}

// String renders the interval the way Spark prints calendar intervals, for
// example "1 years 2 months 3 days 4 hours 5.5 seconds"; a zero interval is
// "0 seconds".
func (v CalendarInterval) String() string {
	if v.Months == 0 && v.Days == 0 && v.Nanoseconds == 0 {
		return "0 seconds"
	}
	var parts []string
	unit := func(n int64, name string) {
		if n != 0 {
			parts = append(parts, strconv.FormatInt(n, 10)+" "+name)
		}
	}
	unit(int64(v.Months/12), "years")
	unit(int64(v.Months%12), "months")
	unit(int64(v.Days), "days")
	rest := v.Nanoseconds
	unit(rest/int64(time.Hour), "hours")
	rest %= int64(time.Hour)
	unit(rest/int64(time.Minute), "minutes")
	rest %= int64(time.Minute)
	if rest != 0 {
		parts = append(parts, formatFixedPoint(rest, 9)+" seconds")
	}
	return strings.Join(parts, " ")
}

// MapEntry is one key/value pair of a Spark map value. Maps are decoded as
// []MapEntry, in the order the server sent them, because keys may be of types
// (such as []byte) that cannot key a Go map.
type MapEntry struct {
	Key   any
	Value any
}

// String renders the entry as Spark does inside a map: "key -> value".
func (e MapEntry) String() string {
	return formatSparkValue(e.Key) + " -> " + formatSparkValue(e.Value)
}

// Row is the value of a Spark struct (or variant): one element per struct
// field, in field order.
type Row []any

// String renders the struct as Spark prints it, for example "{1, abc, null}".
func (r Row) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range r {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatSparkValue(v))
	}
	b.WriteByte('}')
	return b.String()
}

// formatSparkValue renders one decoded value roughly as Spark's
// Dataset.show prints it. A time.Time is always printed with its time of
// day, since the value alone does not tell a date from a timestamp.
func formatSparkValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float32:
		return formatJavaFloat(float64(x), 32)
	case float64:
		return formatJavaFloat(x, 64)
	case []byte:
		var b strings.Builder
		b.WriteByte('[')
		for i, c := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		}
		b.WriteByte(']')
		return b.String()
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999")
	case time.Duration:
		return formatDayTimeInterval(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatSparkValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []MapEntry:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = e.String()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case interface{ String() string }:
		return x.String()
	default:
		return "<unprintable>"
	}
}

// formatDayTimeInterval renders d as an ANSI day-time interval literal, for
// example "INTERVAL '-1 02:03:04.5' DAY TO SECOND".
func formatDayTimeInterval(d time.Duration) string {
	sign := ""
	u := uint64(d)
	if d < 0 {
		sign, u = "-", uint64(-(d+1))+1 // avoids overflow for math.MinInt64
	}
	day := uint64(24 * time.Hour)
	days, rest := u/day, u%day
	h, rest := rest/uint64(time.Hour), rest%uint64(time.Hour)
	m, rest := rest/uint64(time.Minute), rest%uint64(time.Minute)
	sec := formatFixedPoint(int64(rest), 9)
	if rest < uint64(10*time.Second) {
		sec = "0" + sec
	}
	return "INTERVAL '" + sign + strconv.FormatUint(days, 10) + " " + pad2(h) + ":" + pad2(m) + ":" + sec + "' DAY TO SECOND"
}

func pad2(v uint64) string {
	if v < 10 {
		return "0" + strconv.FormatUint(v, 10)
	}
	return strconv.FormatUint(v, 10)
}

// formatFixedPoint renders v × 10^-scale in plain notation without trailing
// fractional zeros, for example (5500000000, 9) → "5.5".
func formatFixedPoint(v int64, scale int) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-(v+1))+1
	}
	div := uint64(math.Pow10(scale))
	s := sign + strconv.FormatUint(u/div, 10)
	if frac := u % div; frac != 0 {
		f := strconv.FormatUint(frac+div, 10)[1:]
		s += "." + strings.TrimRight(f, "0")
	}
	return s
}

// formatJavaFloat renders f like Java's Double.toString / Float.toString,
// which is what Spark uses: "1.0", "0.001", "1.0E7", "1.5E-4", "NaN",
// "Infinity".
func formatJavaFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, bits)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

var plainSparkIdent = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// quoteSparkIdent wraps name in backquotes unless Spark would accept it
// bare in DDL.
func quoteSparkIdent(name string) string {
	if plainSparkIdent.MatchString(name) && strings.TrimLeft(name, "0123456789") != "" {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
