package connect

import (
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// columnsFromProto turns a struct DataType (the shape of a result) into
// columns. A non-struct type becomes a single column named "value".
func columnsFromProto(dt *sparkpb.DataType) []Column {
	st := dt.GetStruct()
	if st == nil {
		if dt == nil {
			return nil
		}
		return []Column{{Name: "value", Type: typeName(dt), Nullable: true}}
	}
	cols := make([]Column, len(st.GetFields()))
	for i, f := range st.GetFields() {
		cols[i] = Column{Name: f.GetName(), Type: typeName(f.GetDataType()), Nullable: f.GetNullable()}
	}
	return cols
}

var yearMonthFields = []string{"year", "month"}
var dayTimeFields = []string{"day", "hour", "minute", "second"}

// typeName renders a DataType the way Spark writes it in DDL, e.g.
// "decimal(10,2)" or "map<string,array<int>>".
func typeName(dt *sparkpb.DataType) string {
	switch k := dt.GetKind().(type) {
	case *sparkpb.DataType_Null:
		return "void"
	case *sparkpb.DataType_Binary_:
		return "binary"
	case *sparkpb.DataType_Boolean_:
		return "boolean"
	case *sparkpb.DataType_Byte_:
		return "tinyint"
	case *sparkpb.DataType_Short_:
		return "smallint"
	case *sparkpb.DataType_Integer_:
		return "int"
	case *sparkpb.DataType_Long_:
		return "bigint"
	case *sparkpb.DataType_Float_:
		return "float"
	case *sparkpb.DataType_Double_:
		return "double"
	case *sparkpb.DataType_Decimal_:
		p, s := int32(10), int32(0)
		if k.Decimal.Precision != nil {
			p = k.Decimal.GetPrecision()
		}
		if k.Decimal.Scale != nil {
			s = k.Decimal.GetScale()
		}
		return fmt.Sprintf("decimal(%d,%d)", p, s)
	case *sparkpb.DataType_String_:
		return withCollation("string", k.String_.GetCollation())
	case *sparkpb.DataType_Char_:
		return withCollation(fmt.Sprintf("char(%d)", k.Char.GetLength()), k.Char.GetCollation())
	case *sparkpb.DataType_VarChar_:
		return withCollation(fmt.Sprintf("varchar(%d)", k.VarChar.GetLength()), k.VarChar.GetCollation())
	case *sparkpb.DataType_Date_:
		return "date"
	case *sparkpb.DataType_Timestamp_:
		return "timestamp"
	case *sparkpb.DataType_TimestampNtz:
		return "timestamp_ntz"
	case *sparkpb.DataType_Time_:
		if k.Time.Precision != nil {
			return fmt.Sprintf("time(%d)", k.Time.GetPrecision())
		}
		return "time(6)"
	case *sparkpb.DataType_CalendarInterval_:
		return "interval"
	case *sparkpb.DataType_YearMonthInterval_:
		return intervalName(yearMonthFields, k.YearMonthInterval.StartField, k.YearMonthInterval.EndField)
	case *sparkpb.DataType_DayTimeInterval_:
		return intervalName(dayTimeFields, k.DayTimeInterval.StartField, k.DayTimeInterval.EndField)
	case *sparkpb.DataType_Array_:
		return "array<" + typeName(k.Array.GetElementType()) + ">"
	case *sparkpb.DataType_Map_:
		return "map<" + typeName(k.Map.GetKeyType()) + "," + typeName(k.Map.GetValueType()) + ">"
	case *sparkpb.DataType_Struct_:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range k.Struct.GetFields() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.GetName())
			b.WriteByte(':')
			b.WriteString(typeName(f.GetDataType()))
		}
		b.WriteByte('>')
		return b.String()
	case *sparkpb.DataType_Variant_:
		return "variant"
	case *sparkpb.DataType_Udt:
		if k.Udt.SqlType != nil {
			return typeName(k.Udt.GetSqlType())
		}
		return k.Udt.GetType()
	case *sparkpb.DataType_Unparsed_:
		return k.Unparsed.GetDataTypeString()
	default:
		return "unknown"
	}
}

func withCollation(name, collation string) string {
	if collation == "" || strings.EqualFold(collation, "UTF8_BINARY") {
		return name
	}
	return name + " collate " + collation
}

// intervalName renders an ANSI interval type from its field codes; unset
// fields mean the widest range.
func intervalName(fields []string, start, end *int32) string {
	s, e := 0, len(fields)-1
	if start != nil {
		s = int(*start)
	}
	if end != nil {
		e = int(*end)
	}
	if s < 0 || s >= len(fields) || e < 0 || e >= len(fields) {
		return "interval"
	}
	if s == e {
		return "interval " + fields[s]
	}
	return "interval " + fields[s] + " to " + fields[e]
}
