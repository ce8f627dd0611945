package connect

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// checkedAlloc returns an allocator that fails the test if any Arrow buffer
// is still allocated when the test ends.
func checkedAlloc(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// ipcStream serialises recs as one Arrow IPC stream, as Spark Connect sends.
func ipcStream(t testing.TB, mem memory.Allocator, s *arrow.Schema, recs []arrow.RecordBatch, opts ...ipc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, append([]ipc.Option{ipc.WithSchema(s), ipc.WithAllocator(mem)}, opts...)...)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatalf("write record: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}
	return buf.Bytes()
}

// buildRecord fills a record of schema s with fill. The caller releases it.
func buildRecord(mem memory.Allocator, s *arrow.Schema, fill func(b *array.RecordBuilder)) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	fill(b)
	return b.NewRecordBatch()
}

// add appends vs to b, a nil element meaning NULL.
func add[T any](b interface {
	Append(T)
	AppendNull()
}, vs ...any) {
	for _, v := range vs {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(v.(T))
		}
	}
}

var cmpOpts = cmp.Options{
	cmpopts.EquateNaNs(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}

func bigInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad integer " + s)
	}
	return v
}

func dec(unscaled string, p, s int32) Decimal {
	return Decimal{Unscaled: bigInt(unscaled), Scale: s, Precision: p}
}

func d128(unscaled string) decimal128.Num { return decimal128.FromBigInt(bigInt(unscaled)) }

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

const nines38 = "99999999999999999999999999999999999999"

var (
	tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNTZ = &arrow.TimestampType{Unit: arrow.Microsecond}
	// nestedType is array<struct<id:int,tags:map<string,array<decimal(5,2)>>>>.
	nestedType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "tags", Type: arrow.MapOf(arrow.BinaryTypes.String,
			arrow.ListOf(&arrow.Decimal128Type{Precision: 5, Scale: 2})), Nullable: true},
	))
	variantMeta = arrow.NewMetadata([]string{"variant"}, []string{"true"})
)

type arrowCase struct {
	name  string
	typ   arrow.DataType
	build func(b array.Builder)
	want  []any
	spark string
}

var arrowCases = []arrowCase{
	{"boolean", arrow.FixedWidthTypes.Boolean, func(b array.Builder) {
		add[bool](b.(*array.BooleanBuilder), true, nil, false)
	}, []any{true, nil, false}, "boolean"},
	{"tinyint", arrow.PrimitiveTypes.Int8, func(b array.Builder) {
		add[int8](b.(*array.Int8Builder), int8(math.MinInt8), nil, int8(math.MaxInt8), int8(0))
	}, []any{int8(math.MinInt8), nil, int8(math.MaxInt8), int8(0)}, "tinyint"},
	{"smallint", arrow.PrimitiveTypes.Int16, func(b array.Builder) {
		add[int16](b.(*array.Int16Builder), int16(math.MinInt16), nil, int16(math.MaxInt16))
	}, []any{int16(math.MinInt16), nil, int16(math.MaxInt16)}, "smallint"},
	{"int", arrow.PrimitiveTypes.Int32, func(b array.Builder) {
		add[int32](b.(*array.Int32Builder), int32(math.MinInt32), nil, int32(math.MaxInt32))
	}, []any{int32(math.MinInt32), nil, int32(math.MaxInt32)}, "int"},
	{"bigint", arrow.PrimitiveTypes.Int64, func(b array.Builder) {
		add[int64](b.(*array.Int64Builder), int64(math.MinInt64), nil, int64(math.MaxInt64), int64(1000))
	}, []any{int64(math.MinInt64), nil, int64(math.MaxInt64), int64(1000)}, "bigint"},
	{"float", arrow.PrimitiveTypes.Float32, func(b array.Builder) {
		add[float32](b.(*array.Float32Builder), float32(1.5), nil, float32(math.Inf(-1)), float32(math.NaN()))
	}, []any{float32(1.5), nil, float32(math.Inf(-1)), float32(math.NaN())}, "float"},
	{"double", arrow.PrimitiveTypes.Float64, func(b array.Builder) {
		add[float64](b.(*array.Float64Builder), 0.1, nil, math.MaxFloat64, math.SmallestNonzeroFloat64)
	}, []any{0.1, nil, math.MaxFloat64, math.SmallestNonzeroFloat64}, "double"},
	{"decimal small", &arrow.Decimal128Type{Precision: 10, Scale: 2}, func(b array.Builder) {
		add[decimal128.Num](b.(*array.Decimal128Builder), d128("-1234"), d128("0"), nil, d128("9999999999"))
	}, []any{dec("-1234", 10, 2), dec("0", 10, 2), nil, dec("9999999999", 10, 2)}, "decimal(10,2)"},
	{"decimal 38", &arrow.Decimal128Type{Precision: 38, Scale: 18}, func(b array.Builder) {
		add[decimal128.Num](b.(*array.Decimal128Builder), d128(nines38), d128("-"+nines38), d128("-1"),
			d128("18446744073709551616"), d128("-9223372036854775808"), d128("9223372036854775808"))
	}, []any{dec(nines38, 38, 18), dec("-"+nines38, 38, 18), dec("-1", 38, 18),
		dec("18446744073709551616", 38, 18), dec("-9223372036854775808", 38, 18), dec("9223372036854775808", 38, 18)}, "decimal(38,18)"},
	{"string", arrow.BinaryTypes.String, func(b array.Builder) {
		add[string](b.(*array.StringBuilder), "", "héllo", nil, "日本")
	}, []any{"", "héllo", nil, "日本"}, "string"},
	{"large string", arrow.BinaryTypes.LargeString, func(b array.Builder) {
		add[string](b.(*array.LargeStringBuilder), nil, "x")
	}, []any{nil, "x"}, "string"},
	{"string view", arrow.BinaryTypes.StringView, func(b array.Builder) {
		add[string](b.(*array.StringViewBuilder), "short", nil, "a string longer than twelve bytes")
	}, []any{"short", nil, "a string longer than twelve bytes"}, "string"},
	{"binary", arrow.BinaryTypes.Binary, func(b array.Builder) {
		add[[]byte](b.(*array.BinaryBuilder), []byte{}, []byte{0, 1, 255}, nil)
	}, []any{[]byte{}, []byte{0, 1, 255}, nil}, "binary"},
	{"large binary", arrow.BinaryTypes.LargeBinary, func(b array.Builder) {
		add[[]byte](b.(*array.BinaryBuilder), nil, []byte("ab"))
	}, []any{nil, []byte("ab")}, "binary"},
	{"binary view", arrow.BinaryTypes.BinaryView, func(b array.Builder) {
		add[[]byte](b.(*array.BinaryViewBuilder), []byte("0123456789abcdef"), nil)
	}, []any{[]byte("0123456789abcdef"), nil}, "binary"},
	{"date", arrow.FixedWidthTypes.Date32, func(b array.Builder) {
		add[arrow.Date32](b.(*array.Date32Builder), arrow.Date32(0), arrow.Date32(-1), nil, arrow.Date32(-719162), arrow.Date32(2932896))
	}, []any{utc(1970, 1, 1, 0, 0, 0, 0), utc(1969, 12, 31, 0, 0, 0, 0), nil, utc(1, 1, 1, 0, 0, 0, 0), utc(9999, 12, 31, 0, 0, 0, 0)}, "date"},
	{"timestamp", tsUTC, func(b array.Builder) {
		add[arrow.Timestamp](b.(*array.TimestampBuilder), arrow.Timestamp(0), arrow.Timestamp(-1), nil,
			arrow.Timestamp(1700000000123456), arrow.Timestamp(-62135596800000000))
	}, []any{utc(1970, 1, 1, 0, 0, 0, 0), utc(1969, 12, 31, 23, 59, 59, 999999000), nil,
		utc(2023, 11, 14, 22, 13, 20, 123456000), utc(1, 1, 1, 0, 0, 0, 0)}, "timestamp"},
	{"timestamp etc/utc", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Etc/UTC"}, func(b array.Builder) {
		add[arrow.Timestamp](b.(*array.TimestampBuilder), arrow.Timestamp(-1500000))
	}, []any{utc(1969, 12, 31, 23, 59, 58, 500000000)}, "timestamp"},
	{"timestamp_ntz", tsNTZ, func(b array.Builder) {
		add[arrow.Timestamp](b.(*array.TimestampBuilder), arrow.Timestamp(86400000001), nil)
	}, []any{utc(1970, 1, 2, 0, 0, 0, 1000), nil}, "timestamp_ntz"},
	{"timestamp nanos", &arrow.TimestampType{Unit: arrow.Nanosecond}, func(b array.Builder) {
		add[arrow.Timestamp](b.(*array.TimestampBuilder), arrow.Timestamp(-1))
	}, []any{utc(1969, 12, 31, 23, 59, 59, 999999999)}, "timestamp_ntz"},
	{"timestamp seconds", &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, func(b array.Builder) {
		add[arrow.Timestamp](b.(*array.TimestampBuilder), arrow.Timestamp(-86400))
	}, []any{utc(1969, 12, 31, 0, 0, 0, 0)}, "timestamp"},
	{"year-month interval", arrow.FixedWidthTypes.MonthInterval, func(b array.Builder) {
		add[arrow.MonthInterval](b.(*array.MonthIntervalBuilder), arrow.MonthInterval(14), arrow.MonthInterval(-14), nil, arrow.MonthInterval(math.MinInt32))
	}, []any{YearMonthInterval{14}, YearMonthInterval{-14}, nil, YearMonthInterval{math.MinInt32}}, "interval year to month"},
	{"day-time interval", arrow.FixedWidthTypes.Duration_us, func(b array.Builder) {
		add[arrow.Duration](b.(*array.DurationBuilder), arrow.Duration(1), arrow.Duration(-86400000001), nil)
	}, []any{time.Microsecond, -(24*time.Hour + time.Microsecond), nil}, "interval day to second"},
	{"calendar interval", arrow.FixedWidthTypes.MonthDayNanoInterval, func(b array.Builder) {
		add[arrow.MonthDayNanoInterval](b.(*array.MonthDayNanoIntervalBuilder),
			arrow.MonthDayNanoInterval{Months: 1, Days: 2, Nanoseconds: 3000}, arrow.MonthDayNanoInterval{Months: -1, Days: -2, Nanoseconds: -3000}, nil)
	}, []any{CalendarInterval{1, 2, 3000}, CalendarInterval{-1, -2, -3000}, nil}, "interval"},
	{"void", arrow.Null, func(b array.Builder) {
		b.AppendNull()
		b.AppendNull()
	}, []any{nil, nil}, "void"},
	{"array", arrow.ListOf(arrow.PrimitiveTypes.Int32), func(b array.Builder) {
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		add[int32](lb.ValueBuilder().(*array.Int32Builder), int32(1), nil, int32(3))
		lb.Append(true)
		lb.AppendNull()
	}, []any{[]any{int32(1), nil, int32(3)}, []any{}, nil}, "array<int>"},
	{"large list", arrow.LargeListOf(arrow.BinaryTypes.String), func(b array.Builder) {
		lb := b.(*array.LargeListBuilder)
		lb.AppendNull()
		lb.Append(true)
		add[string](lb.ValueBuilder().(*array.StringBuilder), "a", nil)
	}, []any{nil, []any{"a", nil}}, "array<string>"},
	{"map", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), func(b array.Builder) {
		mb := b.(*array.MapBuilder)
		kb, ib := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.Int32Builder)
		mb.Append(true)
		kb.Append("b")
		ib.Append(1)
		kb.Append("a")
		ib.AppendNull()
		mb.Append(true)
		mb.AppendNull()
	}, []any{[]MapEntry{{"b", int32(1)}, {"a", nil}}, []MapEntry{}, nil}, "map<string,int>"},
	{"map binary keys", arrow.MapOf(arrow.BinaryTypes.Binary, arrow.ListOf(arrow.PrimitiveTypes.Int64)), func(b array.Builder) {
		mb := b.(*array.MapBuilder)
		kb, ib := mb.KeyBuilder().(*array.BinaryBuilder), mb.ItemBuilder().(*array.ListBuilder)
		mb.Append(true)
		kb.Append([]byte{1})
		ib.Append(true)
		add[int64](ib.ValueBuilder().(*array.Int64Builder), int64(7), nil)
		kb.Append([]byte{})
		ib.AppendNull()
	}, []any{[]MapEntry{{[]byte{1}, []any{int64(7), nil}}, {[]byte{}, nil}}}, "map<binary,array<bigint>>"},
	{"struct", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "b c", Type: arrow.BinaryTypes.String, Nullable: true}), func(b array.Builder) {
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int32Builder).Append(1)
		sb.FieldBuilder(1).(*array.StringBuilder).Append("x")
		sb.Append(true)
		sb.FieldBuilder(0).AppendNull()
		sb.FieldBuilder(1).AppendNull()
		sb.AppendNull()
	}, []any{Row{int32(1), "x"}, Row{nil, nil}, nil}, "struct<a:int,b c:string>"},
	{"variant", arrow.StructOf(arrow.Field{Name: "value", Type: arrow.BinaryTypes.Binary},
		arrow.Field{Name: "metadata", Type: arrow.BinaryTypes.Binary, Metadata: variantMeta}), func(b array.Builder) {
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.BinaryBuilder).Append([]byte{0x0c, 1})
		sb.FieldBuilder(1).(*array.BinaryBuilder).Append([]byte{1, 0, 0})
		sb.AppendNull()
	}, []any{Row{[]byte{0x0c, 1}, []byte{1, 0, 0}}, nil}, "variant"},
	{"nested", nestedType, buildNested, wantNested, "array<struct<id:int,tags:map<string,array<decimal(5,2)>>>>"},
}

// buildNested fills nestedType with nulls at every level.
func buildNested(b array.Builder) {
	lb := b.(*array.ListBuilder)
	sb := lb.ValueBuilder().(*array.StructBuilder)
	id, mb := sb.FieldBuilder(0).(*array.Int32Builder), sb.FieldBuilder(1).(*array.MapBuilder)
	kb, ib := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.ListBuilder)
	db := ib.ValueBuilder().(*array.Decimal128Builder)
	lb.Append(true) // row 0
	sb.Append(true)
	id.Append(1)
	mb.Append(true)
	kb.Append("a")
	ib.Append(true)
	db.Append(d128("-100"))
	db.AppendNull()
	kb.Append("b")
	ib.AppendNull()
	sb.AppendNull()
	sb.Append(true)
	id.AppendNull()
	mb.AppendNull()
	sb.Append(true)
	id.Append(2)
	mb.Append(true)
	lb.AppendNull() // row 1
	lb.Append(true) // row 2: empty array
	lb.Append(true) // row 3
	sb.Append(true)
	id.Append(3)
	mb.Append(true)
	kb.Append("c")
	ib.Append(true)
}

var wantNested = []any{
	[]any{
		Row{int32(1), []MapEntry{{"a", []any{dec("-100", 5, 2), nil}}, {"b", nil}}},
		nil,
		Row{nil, nil},
		Row{int32(2), []MapEntry{}},
	},
	nil,
	[]any{},
	[]any{Row{int32(3), []MapEntry{{"c", []any{}}}}},
}

func TestArrowDecodeTypes(t *testing.T) {
	for _, tc := range arrowCases {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			s := arrow.NewSchema([]arrow.Field{{Name: "c", Type: tc.typ, Nullable: true}}, nil)
			rec := buildRecord(mem, s, func(b *array.RecordBuilder) { tc.build(b.Field(0)) })
			defer rec.Release()
			cols, rows, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{rec}), mem)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff([]Column{{Name: "c", Type: tc.spark, Nullable: true}}, cols); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			want := make([][]any, len(tc.want))
			for i, v := range tc.want {
				want[i] = []any{v}
			}
			if diff := cmp.Diff(want, rows, cmpOpts); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArrowSparkGolden decodes bytes a real Spark Connect server (4.3, session
// time zone America/Los_Angeles) sent; testdata/arrow/gen_spark_types.py
// shows the query and regenerates the file.
func TestArrowSparkGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "arrow", "spark_types.arrows"))
	if err != nil {
		t.Fatal(err)
	}
	mem := checkedAlloc(t)
	cols, rows, err := decodeArrowBatch(data, mem)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var gotCols []string
	for _, c := range cols {
		gotCols = append(gotCols, c.Name+" "+c.Type)
	}
	wantCols := []string{"b boolean", "i8 tinyint", "i16 smallint", "i32 int", "i64 bigint", "f32 float", "f64 double",
		"dec decimal(10,3)", "dec38 decimal(38,0)", "s string", "vc string", "bin binary", "d date", "ts timestamp",
		"ntz timestamp_ntz", "ym interval year to month", "dt interval day to second", "cal interval", "v void",
		"arr array<int>", "m map<string,int>", "st struct<x:int,y:string>",
		"nested array<struct<id:int,tags:map<string,array<decimal(5,2)>>>>", "var variant"}
	if diff := cmp.Diff(wantCols, gotCols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	want := [][]any{{
		true, int8(-128), int16(32767), int32(math.MinInt32), int64(math.MaxInt64), float32(1.5), -0.1,
		dec("-12340", 10, 3), dec("-"+nines38, 38, 0), "héllo", "ab", []byte{0, 0xff},
		utc(1969, 12, 31, 0, 0, 0, 0), utc(1970, 1, 1, 7, 59, 59, 999999000), utc(2024, 2, 29, 12, 34, 56, 123456000),
		YearMonthInterval{-14}, -(26*time.Hour + 3*time.Minute + 4500*time.Millisecond),
		CalendarInterval{14, 3, int64(4*time.Hour + 5*time.Minute + 6000007*time.Microsecond)}, nil,
		[]any{int32(1), nil, int32(3)}, []MapEntry{{"a", int32(1)}, {"b", nil}}, Row{nil, "z"},
		[]any{Row{int32(1), []MapEntry{{"k", []any{dec("125", 5, 2), nil}}}}, nil},
		Row{[]byte{2, 1, 0, 0, 2, 0xc, 1}, []byte{1, 1, 0, 1, 'a'}},
	}, make([]any, 24)}
	if diff := cmp.Diff(want, rows, cmpOpts); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// mixedRecord builds one record holding every test case as a column (padded
// with NULLs), so the cases also run side by side, sliced and across several
// batches.
func mixedRecord(t testing.TB, mem memory.Allocator) (*arrow.Schema, arrow.RecordBatch, [][]any) {
	t.Helper()
	var fields []arrow.Field
	var cols []arrow.Array
	rows := 0
	for _, tc := range arrowCases {
		rows = max(rows, len(tc.want))
	}
	want := make([][]any, rows)
	for _, tc := range arrowCases {
		b := array.NewBuilder(mem, tc.typ)
		tc.build(b)
		for b.Len() < rows {
			b.AppendNull()
		}
		fields = append(fields, arrow.Field{Name: tc.name, Type: tc.typ, Nullable: true})
		cols = append(cols, b.NewArray())
		b.Release()
		for r := range rows {
			var v any
			if r < len(tc.want) {
				v = tc.want[r]
			}
			want[r] = append(want[r], v)
		}
	}
	s := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(s, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return s, rec, want
}

func TestArrowMultipleBatchesAndSlices(t *testing.T) {
	mem := checkedAlloc(t)
	s, rec, want := mixedRecord(t, mem)
	defer rec.Release()
	// Four batches in one stream: rows 1-2, none, 3, then all.
	parts := []arrow.RecordBatch{rec.NewSlice(1, 3), rec.NewSlice(2, 2), rec.NewSlice(3, 4), rec}
	defer func() {
		for _, p := range parts[:3] {
			p.Release()
		}
	}()
	data := ipcStream(t, mem, s, parts)
	cols, rows, err := decodeArrowBatch(data, mem)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(cols) != len(arrowCases) {
		t.Fatalf("got %d columns, want %d", len(cols), len(arrowCases))
	}
	wantRows := append(append(append([][]any{}, want[1:3]...), want[3:4]...), want...)
	if diff := cmp.Diff(wantRows, rows, cmpOpts); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// appendRows on an in-memory slice honours array offsets directly.
	got, err := appendRows(parts[0], [][]any{{"keep"}})
	if err != nil {
		t.Fatalf("appendRows: %v", err)
	}
	if diff := cmp.Diff(append([][]any{{"keep"}}, want[1:3]...), got, cmpOpts); diff != "" {
		t.Errorf("sliced rows (-want +got):\n%s", diff)
	}
	// A streaming decoder accumulates rows, bytes and checks the schema.
	d := newBatchDecoder(mem)
	acc, err := d.decode(data, nil)
	if err == nil {
		acc, err = d.decode(data, acc)
	}
	if err != nil || len(acc) != 2*len(wantRows) || d.bytesDecoded() != int64(2*len(data)) || d.rowsDecoded() != int64(len(acc)) {
		t.Fatalf("streaming decode: %d rows, %d bytes, err %v", len(acc), d.bytesDecoded(), err)
	}
	other := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	after, err := d.decode(ipcStream(t, mem, other, nil), acc)
	if err == nil || !strings.Contains(err.Error(), "schema changed") || len(after) != len(acc) {
		t.Errorf("schema change: got %d rows, err %v", len(after), err)
	}
	if diff := cmp.Diff(cols, d.columns()); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
}

func TestArrowStructNullOverValues(t *testing.T) {
	mem := checkedAlloc(t)
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues([]int32{1, 2, 3}, nil)
	child := ib.NewArray()
	defer child.Release()
	bitmap := memory.NewBufferBytes([]byte{0b101}) // slot 1 null, its child value still 2
	st, err := array.NewStructArrayWithNulls([]arrow.Array{child}, []string{"a"}, bitmap, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	s := arrow.NewSchema([]arrow.Field{{Name: "s", Type: st.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(s, []arrow.Array{st}, 3)
	defer rec.Release()
	_, rows, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{rec}), mem)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]any{{Row{int32(1)}}, {nil}, {Row{int32(3)}}}, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestArrowEmptyStreamAndCompression(t *testing.T) {
	mem := checkedAlloc(t)
	s := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "t", Type: tsUTC, Nullable: true}}, nil)
	cols, rows, err := decodeArrowBatch(ipcStream(t, mem, s, nil), mem)
	if err != nil {
		t.Fatalf("schema-only stream: %v", err)
	}
	if len(rows) != 0 {
		t.Errorf("schema-only stream gave %d rows", len(rows))
	}
	if diff := cmp.Diff([]Column{{"id", "bigint", false}, {"t", "timestamp", true}}, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	rec := buildRecord(mem, s, func(b *array.RecordBuilder) {
		for i := range 1000 {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		}
	})
	defer rec.Release()
	// A zero-length string array may come without an offsets buffer.
	empty := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 0, []*memory.Buffer{nil, nil, nil}, nil, 0, 0))
	defer empty.Release()
	es := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	erec := array.NewRecordBatch(es, []arrow.Array{empty}, 0)
	defer erec.Release()
	if got, err := appendRows(erec, nil); err != nil || len(got) != 0 {
		t.Errorf("empty string column: %d rows, err %v", len(got), err)
	}
	for name, opt := range map[string]ipc.Option{"zstd": ipc.WithZstd(), "lz4": ipc.WithLZ4()} {
		_, rows, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{rec}, opt), mem)
		if err != nil || len(rows) != 1000 || rows[999][0] != int64(999) {
			t.Errorf("%s: %d rows, err %v", name, len(rows), err)
		}
	}
}

func TestArrowUnsupportedType(t *testing.T) {
	mem := checkedAlloc(t)
	s := arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint32)}}, nil)
	rec := buildRecord(mem, s, func(b *array.RecordBuilder) {
		lb := b.Field(0).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Uint32Builder).Append(7)
	})
	defer rec.Release()
	_, _, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{rec}), mem)
	if err == nil || !strings.Contains(err.Error(), "uint32") || !strings.Contains(err.Error(), `"u"`) {
		t.Errorf("got %v, want an error naming uint32 and column u", err)
	}
	if got := sparkTypeFromArrow(s.Field(0).Type); got != "array<arrow:uint32>" {
		t.Errorf("type name %q", got)
	}
}

func TestArrowCorruptInput(t *testing.T) {
	mem := checkedAlloc(t)
	s, rec, _ := mixedRecord(t, mem)
	defer rec.Release()
	data := ipcStream(t, mem, s, []arrow.RecordBatch{rec})
	for _, bad := range [][]byte{nil, []byte("not arrow"), {0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0}, data[:len(data)/2]} {
		if _, _, err := decodeArrowBatch(bad, mem); err == nil {
			t.Errorf("no error for %d corrupt bytes", len(bad))
		}
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "arrow", "spark_types.arrows"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go-written": data, "spark-written": golden} {
		// Every byte of the schema message matters; sample the rest.
		var cuts []int
		for i := 0; i < len(data); i += 1 + 2*min(i/1024, 1) {
			cuts = append(cuts, i)
		}
		// Truncation must fail (except at message boundaries) without leaking.
		failures := 0
		for _, i := range cuts {
			if _, _, err := decodeArrowBatch(data[:i], mem); err != nil {
				failures++
			}
		}
		if failures < len(cuts)-2 {
			t.Errorf("%s: only %d of %d truncations failed", name, failures, len(cuts))
		}
		// Flipped bytes must never panic or exhaust memory. arrow-go's own
		// recovered panics can drop buffer references, so this part uses a
		// plain Go allocator, whose memory the garbage collector reclaims.
		failures = 0
		c := bytes.Clone(data)
		for _, i := range cuts {
			mask := []byte{0xff, 0x80, 0x01}[i%3]
			c[i] ^= mask
			if _, _, err := decodeArrowBatch(c, memory.NewGoAllocator()); err != nil {
				failures++
			}
			c[i] ^= mask
		}
		t.Logf("%s: %d of %d byte flips were rejected", name, failures, len(cuts))
	}
	// Offsets that run backwards pass arrow-go's constructors; our own
	// validation must catch them.
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 5, 2}))
	str := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 2, []*memory.Buffer{nil, offsets, memory.NewBufferBytes([]byte("hello"))}, nil, 0, 0))
	defer str.Release()
	bad := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{str}, 2)
	defer bad.Release()
	if got, err := appendRows(bad, [][]any{{"x"}}); err == nil || len(got) != 1 {
		t.Errorf("backwards offsets: %d rows, err %v", len(got), err)
	}
}

func TestArrowExpansionLimit(t *testing.T) {
	mem := checkedAlloc(t)
	void := array.NewNull(1 << 25) // costs no IPC bytes at all
	defer void.Release()
	s := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.Null, Nullable: true}}, nil)
	rec := array.NewRecordBatch(s, []arrow.Array{void}, int64(void.Len()))
	defer rec.Release()
	_, _, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{rec}), mem)
	if err == nil || !strings.Contains(err.Error(), "implausibly many") {
		t.Errorf("got %v, want an expansion error", err)
	}
	small := rec.NewSlice(0, 1000)
	defer small.Release()
	if _, rows, err := decodeArrowBatch(ipcStream(t, mem, s, []arrow.RecordBatch{small}), mem); err != nil || len(rows) != 1000 {
		t.Errorf("1000 void rows: %d rows, err %v", len(rows), err)
	}
}

func TestArrowDurationOverflow(t *testing.T) {
	mem := checkedAlloc(t)
	s := arrow.NewSchema([]arrow.Field{{Name: "d", Type: arrow.FixedWidthTypes.Duration_us, Nullable: true}}, nil)
	rec := buildRecord(mem, s, func(b *array.RecordBuilder) {
		b.Field(0).(*array.DurationBuilder).Append(arrow.Duration(math.MaxInt64 / 10))
	})
	defer rec.Release()
	_, err := appendRows(rec, nil)
	if err == nil || !strings.Contains(err.Error(), "time.Duration") {
		t.Errorf("got %v, want a range error", err)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("error %v is not wrapped", err)
	}
}

func TestColumnTypeNames(t *testing.T) {
	for _, tc := range []struct {
		typ  arrow.DataType
		want string
	}{
		{&arrow.Decimal128Type{Precision: 38, Scale: 0}, "decimal(38,0)"},
		{tsNTZ, "timestamp_ntz"},
		{arrow.LargeListOf(arrow.PrimitiveTypes.Float64), "array<double>"},
		{arrow.FixedWidthTypes.Date64, "arrow:date64"},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, "arrow:dictionary<values=utf8, indices=int8, ordered=false>"},
		{arrow.MapOf(arrow.BinaryTypes.LargeString, arrow.StructOf(arrow.Field{Name: "1a", Type: arrow.FixedWidthTypes.Boolean},
			arrow.Field{Name: "12", Type: arrow.PrimitiveTypes.Int16}, arrow.Field{Name: "x`y", Type: arrow.Null})),
			"map<string,struct<1a:boolean,12:smallint,x`y:void>>"},
		{arrow.PrimitiveTypes.Uint8, "arrow:uint8"},
	} {
		if got := sparkTypeFromArrow(tc.typ); got != tc.want {
			t.Errorf("sparkTypeFromArrow(%s) = %q, want %q", tc.typ, got, tc.want)
		}
	}
}

func TestValueStrings(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{dec("-12340", 10, 3), "-12.340"},
		{dec("0", 5, 2), "0.00"},
		{dec("-5", 5, 3), "-0.005"},
		{dec("12", 5, -2), "1200"},
		{Decimal{}, "0"},
		{dec("-"+nines38, 38, 38), "-0." + nines38},
		{YearMonthInterval{14}, "INTERVAL '1-2' YEAR TO MONTH"},
		{YearMonthInterval{-14}, "INTERVAL '-1-2' YEAR TO MONTH"},
		{YearMonthInterval{math.MinInt32}, "INTERVAL '-178956970-8' YEAR TO MONTH"},
		{CalendarInterval{}, "0 seconds"},
		{CalendarInterval{14, 3, int64(4*time.Hour + 5500*time.Millisecond)}, "1 years 2 months 3 days 4 hours 5.5 seconds"},
		{CalendarInterval{-1, 0, -1000}, "-1 months -0.000001 seconds"},
		{MapEntry{[]byte{1, 0xab}, nil}, "[01 AB] -> null"},
		{Row{int32(1), "abc", nil, []any{int64(1), nil}, []MapEntry{{"a", 1.5}}, Row{float32(1e7)}}, "{1, abc, null, [1, null], {a -> 1.5}, {1.0E7}}"},
		{Row{utc(1969, 12, 31, 23, 59, 59, 999000), -(26*time.Hour + 3*time.Minute + 4500*time.Millisecond), time.Duration(0)},
			"{1969-12-31 23:59:59.000999, INTERVAL '-1 02:03:04.5' DAY TO SECOND, INTERVAL '0 00:00:00' DAY TO SECOND}"},
		{Row{1.0, 1.5e-4, 123.456, math.Inf(-1), dec("5", 2, 1)}, "{1.0, 1.5E-4, 123.456, -Infinity, 0.5}"},
		{Column{"id", "bigint", false}, "id bigint NOT NULL"},
		{Column{"first name", "string", true}, "`first name` string"},
	} {
		if got := tc.v.(interface{ String() string }).String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.v, got, tc.want)
		}
	}
	if got, want := dec("-12340", 10, 3).Rat(), big.NewRat(-1234, 100); got.Cmp(want) != 0 {
		t.Errorf("Rat = %v, want %v", got, want)
	}
	if got := dec("12", 5, -2).Rat(); got.Cmp(big.NewRat(1200, 1)) != 0 {
		t.Errorf("Rat with negative scale = %v", got)
	}
}

// BenchmarkDecodeArrow decodes 1e5 rows × 10 columns of common types.
func BenchmarkDecodeArrow(b *testing.B) {
	const n = 100_000
	mem := memory.NewGoAllocator()
	s := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "i", Type: arrow.PrimitiveTypes.Int32},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64}, {Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean}, {Name: "amount", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
		{Name: "ts", Type: tsUTC}, {Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
	rec := buildRecord(mem, s, func(rb *array.RecordBuilder) {
		for i := range n {
			rb.Field(0).(*array.Int64Builder).Append(int64(i) * 7919)
			rb.Field(1).(*array.Int32Builder).Append(int32(i % 1000))
			rb.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
			rb.Field(3).(*array.StringBuilder).Append("row-" + strings.Repeat("x", i%16))
			rb.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
			rb.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i) * 101))
			rb.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(1700000000000000 + int64(i)))
			rb.Field(7).(*array.Date32Builder).Append(arrow.Date32(19000 + i%365))
			if i%10 == 0 {
				rb.Field(8).AppendNull()
			} else {
				rb.Field(8).(*array.StringBuilder).Append("name")
			}
			lb := rb.Field(9).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{int32(i), 1}, nil)
		}
	})
	data := ipcStream(b, mem, s, []arrow.RecordBatch{rec})
	rec.Release()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, rows, err := decodeArrowBatch(data, mem); err != nil || len(rows) != n {
			b.Fatalf("decode: %d rows, %v", len(rows), err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
