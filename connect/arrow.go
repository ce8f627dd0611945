package connect

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// decodeArrowBatch decodes one Arrow IPC stream, as carried in an
// ExecutePlanResponse's arrow_batch.data, into result columns and rows. A
// nil alloc means memory.DefaultAllocator. Every Arrow buffer is released
// before it returns; the rows hold only Go memory.
func decodeArrowBatch(data []byte, alloc memory.Allocator) ([]Column, [][]any, error) {
	d := newBatchDecoder(alloc)
	rows, err := d.decode(data, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decode arrow batch: %w", err)
	}
	return d.cols, rows, nil
}

// batchDecoder decodes the successive Arrow IPC streams of one result. It
// works out the column list once, checks that later batches keep the same
// schema and counts the IPC bytes and rows it has been given, so that the
// caller can enforce size limits.
type batchDecoder struct {
	alloc    memory.Allocator
	schema   *arrow.Schema
	cols     []Column
	ipcBytes int64 // total size of all IPC streams passed to decode
	rowCount int64 // total number of rows decoded
	src      bytes.Reader
}

// newBatchDecoder returns a decoder that allocates Arrow buffers from alloc
// (memory.DefaultAllocator when nil).
func newBatchDecoder(alloc memory.Allocator) *batchDecoder {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	return &batchDecoder{alloc: alloc}
}

// columns describes the result's columns as given by the first stream's
// schema; it is nil until a stream has been decoded.
func (d *batchDecoder) columns() []Column { return d.cols }

// bytesDecoded returns the total size of the IPC streams passed to decode.
func (d *batchDecoder) bytesDecoded() int64 { return d.ipcBytes }

// rowsDecoded returns the total number of rows decoded so far.
func (d *batchDecoder) rowsDecoded() int64 { return d.rowCount }

// decode reads every record batch of the IPC stream data and appends its
// rows to rows. On error the returned slice has the length rows had on entry.
// Errors carry no "decode" prefix; callers add their own context.
func (d *batchDecoder) decode(data []byte, rows [][]any) (out [][]any, err error) {
	start := len(rows)
	defer func() {
		if p := recover(); p != nil {
			out, err = rows[:start], fmt.Errorf("malformed arrow stream: %v", p)
		}
	}()
	if len(data) == 0 {
		return rows, errors.New("empty arrow ipc stream")
	}
	d.ipcBytes += int64(len(data))
	d.src.Reset(data)
	defer d.src.Reset(nil)
	// No message can be longer than the stream that carries it; the limits
	// stop corrupt length fields from triggering huge allocations.
	size := int64(len(data))
	rd, err := ipc.NewReader(&d.src, ipc.WithAllocator(d.alloc),
		ipc.WithMetadataSizeLimit(size), ipc.WithBodySizeLimit(size))
	if err != nil {
		return rows, fmt.Errorf("read arrow stream: %w", err)
	}
	defer rd.Release()
	if err := d.setSchema(rd.Schema()); err != nil {
		return rows, err
	}
	for rd.Next() {
		rows, err = appendRows(rd.RecordBatch(), rows)
		if err != nil {
			return rows[:start], err
		}
	}
	if err := rd.Err(); err != nil {
		return rows[:start], fmt.Errorf("read arrow stream: %w", err)
	}
	d.rowCount += int64(len(rows) - start)
	return rows, nil
}

// setSchema records the schema of the first stream and rejects later streams
// whose schema differs.
func (d *batchDecoder) setSchema(s *arrow.Schema) error {
	if s == nil {
		return errors.New("arrow stream has no schema")
	}
	if d.schema == nil {
		d.schema = s
		d.cols = columnsFromSchema(s)
		return nil
	}
	if !d.schema.Equal(s) {
		return fmt.Errorf("arrow schema changed between batches: had %s, got %s", d.schema, s)
	}
	return nil
}

// appendRows converts every row of rec to a []any (see the package's result
// value types) and appends them to rows. The record is validated first, so
// malformed buffers yield an error rather than a panic; on error the returned
// slice has the length rows had on entry. rec is neither retained nor
// released.
func appendRows(rec arrow.RecordBatch, rows [][]any) (out [][]any, err error) {
	start := len(rows)
	defer func() {
		if p := recover(); p != nil {
			out, err = rows[:start], fmt.Errorf("arrow record: malformed data: %v", p)
		}
	}()
	if err := array.ValidateRecordFull(rec); err != nil {
		return rows, fmt.Errorf("arrow record: %w", err)
	}
	n, nc := int(rec.NumRows()), int(rec.NumCols())
	if n < 0 || (nc > 0 && n > math.MaxInt/16/nc) {
		return rows, fmt.Errorf("arrow record: row count %d is out of range", rec.NumRows())
	}
	convs := make([]arrowConv, nc)
	for c := range nc {
		col := rec.Column(c)
		if col.Len() != n {
			return rows, fmt.Errorf("arrow record: column %d (%q) has %d values, want %d", c, rec.ColumnName(c), col.Len(), n)
		}
		conv, err := newArrowConv(col)
		if err != nil {
			return rows, fmt.Errorf("arrow record: column %d (%q): %w", c, rec.ColumnName(c), err)
		}
		convs[c] = conv
	}
	// One backing array for the whole record keeps allocations per row at
	// zero; each row is a capacity-limited window onto it.
	backing := make([]any, n*nc)
	for c, conv := range convs {
		for r, i := 0, c; r < n; r, i = r+1, i+nc {
			backing[i] = conv(r)
		}
	}
	rows = slices.Grow(rows, n)
	for r := range n {
		rows = append(rows, backing[r*nc:(r+1)*nc:(r+1)*nc])
	}
	return rows, nil
}

// arrowConv returns the Go value at index i of the Arrow array it was built
// for, or nil when that slot is null. It is built once per array so that the
// type switch runs once per column rather than once per value.
type arrowConv func(i int) any

// arrowNulls is a validity bitmap; a nil bitmap means no slot is null.
type arrowNulls struct {
	bits []byte
	off  int
}

func nullsOf(a arrow.Array) arrowNulls {
	if a.NullN() == 0 {
		return arrowNulls{}
	}
	return arrowNulls{bits: a.NullBitmapBytes(), off: a.Data().Offset()}
}

func (n arrowNulls) isNull(i int) bool {
	if n.bits == nil {
		return false
	}
	j := n.off + i
	return n.bits[j>>3]&(1<<(j&7)) == 0
}

// primitiveConv converts slots that Go represents with the Arrow value type
// itself.
func primitiveConv[T any](a arrow.Array, vals []T) arrowConv {
	nulls := nullsOf(a)
	if nulls.bits == nil {
		return func(i int) any { return vals[i] }
	}
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		return vals[i]
	}
}

// mappedConv converts slots through f, whose body the compiler specialises
// per instantiation.
func mappedConv[T, U any](a arrow.Array, vals []T, f func(T) U) arrowConv {
	nulls := nullsOf(a)
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		return f(vals[i])
	}
}

// newArrowConv builds the converter for one array, recursing into children.
func newArrowConv(arr arrow.Array) (arrowConv, error) {
	switch a := arr.(type) {
	case *array.Null:
		return func(int) any { return nil }, nil
	case *array.Boolean:
		nulls := nullsOf(a)
		return func(i int) any {
			if nulls.isNull(i) {
				return nil
			}
			return a.Value(i)
		}, nil
	case *array.Int8:
		return primitiveConv(a, a.Int8Values()), nil
	case *array.Int16:
		return primitiveConv(a, a.Int16Values()), nil
	case *array.Int32:
		return primitiveConv(a, a.Int32Values()), nil
	case *array.Int64:
		return primitiveConv(a, a.Int64Values()), nil
	case *array.Float32:
		return primitiveConv(a, a.Float32Values()), nil
	case *array.Float64:
		return primitiveConv(a, a.Float64Values()), nil
	case *array.Decimal128:
		t := a.DataType().(*arrow.Decimal128Type)
		return mappedConv(a, a.Values(), func(v decimal.Decimal128) Decimal {
			return Decimal{Unscaled: bigFrom128(v.HighBits(), v.LowBits()), Scale: t.Scale, Precision: t.Precision}
		}), nil
	case *array.Decimal256:
		t := a.DataType().(*arrow.Decimal256Type)
		return mappedConv(a, a.Values(), func(v decimal.Decimal256) Decimal {
			return Decimal{Unscaled: v.BigInt(), Scale: t.Scale, Precision: t.Precision}
		}), nil
	case *array.Decimal64:
		t := a.DataType().(*arrow.Decimal64Type)
		return mappedConv(a, a.Values(), func(v decimal.Decimal64) Decimal {
			return Decimal{Unscaled: big.NewInt(int64(v)), Scale: t.Scale, Precision: t.Precision}
		}), nil
	case *array.Decimal32:
		t := a.DataType().(*arrow.Decimal32Type)
		return mappedConv(a, a.Values(), func(v decimal.Decimal32) Decimal {
			return Decimal{Unscaled: big.NewInt(int64(v)), Scale: t.Scale, Precision: t.Precision}
		}), nil
	case *array.String:
		return stringConv(a, a.ValueOffsets(), a.ValueBytes()), nil
	case *array.LargeString:
		return stringConv(a, a.ValueOffsets(), a.ValueBytes()), nil
	case *array.StringView:
		nulls := nullsOf(a)
		return func(i int) any {
			if nulls.isNull(i) {
				return nil
			}
			return strings.Clone(a.Value(i))
		}, nil
	case *array.Binary:
		return binaryConv(a, a.ValueOffsets(), a.ValueBytes()), nil
	case *array.LargeBinary:
		return binaryConv(a, a.ValueOffsets(), a.ValueBytes()), nil
	case *array.BinaryView:
		nulls := nullsOf(a)
		return func(i int) any {
			if nulls.isNull(i) {
				return nil
			}
			return append([]byte{}, a.Value(i)...)
		}, nil
	case *array.FixedSizeBinary:
		nulls := nullsOf(a)
		return func(i int) any {
			if nulls.isNull(i) {
				return nil
			}
			return append([]byte{}, a.Value(i)...)
		}, nil
	case *array.Date32:
		return mappedConv(a, a.Date32Values(), func(v arrow.Date32) time.Time {
			return time.Unix(int64(v)*86400, 0).UTC()
		}), nil
	case *array.Date64:
		return mappedConv(a, a.Date64Values(), func(v arrow.Date64) time.Time {
			return time.UnixMilli(int64(v)).UTC()
		}), nil
	case *array.Timestamp:
		perSec, nsPerTick := unitScale(a.DataType().(*arrow.TimestampType).Unit)
		return mappedConv(a, a.TimestampValues(), func(v arrow.Timestamp) time.Time {
			return time.Unix(int64(v)/perSec, int64(v)%perSec*nsPerTick).UTC()
		}), nil
	case *array.Duration:
		return durationConv(a)
	case *array.MonthInterval:
		return mappedConv(a, a.MonthIntervalValues(), func(v arrow.MonthInterval) YearMonthInterval {
			return YearMonthInterval{Months: int32(v)}
		}), nil
	case *array.MonthDayNanoInterval:
		return mappedConv(a, a.MonthDayNanoIntervalValues(), func(v arrow.MonthDayNanoInterval) CalendarInterval {
			return CalendarInterval{Months: v.Months, Days: v.Days, Nanoseconds: v.Nanoseconds}
		}), nil
	case *array.DayTimeInterval:
		return mappedConv(a, a.DayTimeIntervalValues(), func(v arrow.DayTimeInterval) CalendarInterval {
			return CalendarInterval{Days: v.Days, Nanoseconds: int64(v.Milliseconds) * int64(time.Millisecond)}
		}), nil
	case *array.Map:
		return mapConv(a)
	case *array.Struct:
		return structConv(a)
	case *array.Dictionary:
		values, err := newArrowConv(a.Dictionary())
		if err != nil {
			return nil, fmt.Errorf("dictionary values: %w", err)
		}
		nulls := nullsOf(a)
		return func(i int) any {
			if nulls.isNull(i) {
				return nil
			}
			return values(a.GetValueIndex(i))
		}, nil
	case array.ListLike:
		return listConv(a)
	default:
		return nil, fmt.Errorf("unsupported arrow type %s", arr.DataType())
	}
}

// bigFrom128 converts a two's complement 128-bit integer, avoiding the
// generic conversion when the value fits in an int64.
func bigFrom128(hi int64, lo uint64) *big.Int {
	if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
		return big.NewInt(int64(lo))
	}
	return decimal128.New(hi, lo).BigInt()
}

// unitScale returns how many ticks of u make a second and how many
// nanoseconds one tick lasts.
func unitScale(u arrow.TimeUnit) (perSec, nsPerTick int64) {
	switch u {
	case arrow.Second:
		return 1, 1e9
	case arrow.Millisecond:
		return 1e3, 1e6
	case arrow.Microsecond:
		return 1e6, 1e3
	default:
		return 1e9, 1
	}
}

// durationConv converts a duration array to time.Duration, failing up front
// if any value lies outside the ±292 years time.Duration can hold.
func durationConv(a *array.Duration) (arrowConv, error) {
	_, ns := unitScale(a.DataType().(*arrow.DurationType).Unit)
	vals := a.DurationValues()
	nulls := nullsOf(a)
	for i, v := range vals {
		if !nulls.isNull(i) && (int64(v) > math.MaxInt64/ns || int64(v) < math.MinInt64/ns) {
			return nil, fmt.Errorf("day-time interval %d%s does not fit in a time.Duration", int64(v), a.DataType().(*arrow.DurationType).Unit)
		}
	}
	return mappedConv(a, vals, func(v arrow.Duration) time.Duration {
		return time.Duration(int64(v) * ns)
	}), nil
}

// stringConv copies the character data of a whole string array into one Go
// string and hands out substrings of it, so a column costs one copy rather
// than one allocation per value.
func stringConv[O int32 | int64](a arrow.Array, offsets []O, data []byte) arrowConv {
	s := string(data)
	nulls := nullsOf(a)
	var base O
	if len(offsets) > 0 {
		base = offsets[0]
	}
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		return s[offsets[i]-base : offsets[i+1]-base]
	}
}

// binaryConv is stringConv for binary data; each value is a
// capacity-limited slice of one private copy.
func binaryConv[O int32 | int64](a arrow.Array, offsets []O, data []byte) arrowConv {
	buf := make([]byte, len(data))
	copy(buf, data)
	nulls := nullsOf(a)
	var base O
	if len(offsets) > 0 {
		base = offsets[0]
	}
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		lo, hi := offsets[i]-base, offsets[i+1]-base
		return buf[lo:hi:hi]
	}
}

func listConv(a array.ListLike) (arrowConv, error) {
	elem, err := newArrowConv(a.ListValues())
	if err != nil {
		return nil, fmt.Errorf("array element: %w", err)
	}
	nulls := nullsOf(a)
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		lo, hi := a.ValueOffsets(i)
		out := make([]any, hi-lo)
		for j := range out {
			out[j] = elem(int(lo) + j)
		}
		return out
	}, nil
}

func mapConv(a *array.Map) (arrowConv, error) {
	entries, ok := a.ListValues().(*array.Struct)
	if !ok || entries.NumField() != 2 {
		return nil, fmt.Errorf("malformed map entries of type %s", a.ListValues().DataType())
	}
	key, err := newArrowConv(entries.Field(0))
	if err != nil {
		return nil, fmt.Errorf("map key: %w", err)
	}
	val, err := newArrowConv(entries.Field(1))
	if err != nil {
		return nil, fmt.Errorf("map value: %w", err)
	}
	nulls := nullsOf(a)
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		lo, hi := a.ValueOffsets(i)
		out := make([]MapEntry, hi-lo)
		for j := range out {
			k := int(lo) + j
			out[j] = MapEntry{Key: key(k), Value: val(k)}
		}
		return out
	}, nil
}

func structConv(a *array.Struct) (arrowConv, error) {
	t := a.DataType().(*arrow.StructType)
	fields := make([]arrowConv, a.NumField())
	for k := range fields {
		conv, err := newArrowConv(a.Field(k))
		if err != nil {
			return nil, fmt.Errorf("struct field %q: %w", t.Field(k).Name, err)
		}
		fields[k] = conv
	}
	nulls := nullsOf(a)
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		row := make(Row, len(fields))
		for k, f := range fields {
			row[k] = f(i)
		}
		return row
	}, nil
}
