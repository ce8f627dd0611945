package connect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
	if err := checkIPCCounts(data); err != nil {
		return rows, err
	}
	d.src.Reset(data)
	defer d.src.Reset(nil)
	rd, err := ipc.NewReader(&d.src, ipc.WithAllocator(d.alloc))
	if err != nil {
		return rows, fmt.Errorf("read arrow stream: %w", err)
	}
	defer rd.Release()
	if err := d.setSchema(rd.Schema()); err != nil {
		return rows, err
	}
	// Null-type arrays cost no bytes, so bound the values a stream may
	// expand to, lest a corrupt length make a few bytes demand gigabytes.
	budget := min(maxRecordCells, 1<<24+64*int64(len(data)))
	for rd.Next() {
		c := recordCells(rd.RecordBatch())
		if c > budget {
			return rows[:start], fmt.Errorf("arrow stream of %d bytes expands to implausibly many values", len(data))
		}
		budget -= c
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
	n, nc := int(rec.NumRows()), int(rec.NumCols())
	if recordCells(rec) > maxRecordCells {
		return rows, fmt.Errorf("arrow record: %d rows of %d columns is too large to decode", n, nc)
	}
	convs := make([]arrowConv, nc)
	for c := range nc {
		col := rec.Column(c)
		if hasNullType(col.DataType()) {
			col = withNullBuffers(col)
			defer col.Release()
		}
		if col.Len() != n {
			return rows, fmt.Errorf("arrow record: column %d (%q) has %d values, want %d", c, rec.ColumnName(c), col.Len(), n)
		}
		if err := array.ValidateFull(col); err != nil {
			return rows, fmt.Errorf("arrow record: column %d (%q): %w", c, rec.ColumnName(c), err)
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

// maxRecordCells caps the values decoded from one record: rows × columns
// plus the lengths of all nested arrays, which size the decoder's
// allocations. Arrays of the null type occupy no IPC bytes, so without a cap
// a corrupt length could make the decoder allocate without bound.
const maxRecordCells = 1 << 28

// recordCells counts the values decoding rec would produce (at least, and
// at most just past maxRecordCells); negative lengths count as too many.
func recordCells(rec arrow.RecordBatch) int64 {
	if rec.NumRows() < 0 || rec.NumRows() > maxRecordCells {
		return math.MaxInt64
	}
	cells := rec.NumRows() * max(rec.NumCols(), 1) // every row costs a slice
	for _, col := range rec.Columns() {
		if cells > maxRecordCells {
			break
		}
		cells += arrayCells(col.Data(), maxRecordCells)
	}
	return cells
}

// arrayCells sums the lengths of d and its descendants, stopping once the
// sum exceeds limit.
func arrayCells(d arrow.ArrayData, limit int64) int64 {
	sum := int64(d.Len())
	for _, k := range d.Children() {
		if sum > limit {
			break
		}
		sum += arrayCells(k, limit-sum)
	}
	return sum
}

// hasNullType reports whether dt is or contains the Arrow null type.
func hasNullType(dt arrow.DataType) bool {
	if dt.ID() == arrow.NULL {
		return true
	}
	if n, ok := dt.(arrow.NestedType); ok {
		for _, f := range n.Fields() {
			if hasNullType(f.Type) {
				return true
			}
		}
	}
	return false
}

// withNullBuffers returns a copy of arr in which every null-type array has
// the single (absent) buffer that arrow-go's validator expects; the IPC
// reader builds them with none. The caller releases the result.
func withNullBuffers(arr arrow.Array) arrow.Array {
	d := nullBufferData(arr.Data())
	defer d.Release()
	return array.MakeFromData(d)
}

func nullBufferData(d arrow.ArrayData) arrow.ArrayData {
	if d.DataType().ID() == arrow.NULL {
		return array.NewData(arrow.Null, d.Len(), []*memory.Buffer{nil}, nil, d.Len(), d.Offset())
	}
	if !hasNullType(d.DataType()) {
		d.Retain()
		return d
	}
	kids := make([]arrow.ArrayData, len(d.Children()))
	for i, k := range d.Children() {
		kids[i] = nullBufferData(k)
	}
	out := array.NewData(d.DataType(), d.Len(), d.Buffers(), kids, d.NullN(), d.Offset())
	for _, k := range kids {
		k.Release()
	}
	return out
}

// checkIPCCounts walks the messages of an IPC stream and rejects any whose
// sizes or counts cannot fit in the stream: metadata and body lengths, and
// the number of fields, child fields, metadata entries and variadic buffers.
// arrow-go allocates for these before reading the bytes, so a few corrupt
// bytes could otherwise demand gigabytes and kill the process rather than
// fail. Other malformations are left to the IPC reader.
func checkIPCCounts(data []byte) error {
	var c flatCheck
	for len(data) >= 8 {
		if binary.LittleEndian.Uint32(data) == 0xFFFFFFFF {
			data = data[4:]
		}
		n := int64(int32(binary.LittleEndian.Uint32(data)))
		if n <= 0 {
			return nil // end-of-stream marker, or a length the reader rejects
		}
		if n > int64(len(data)-4) {
			return fmt.Errorf("arrow ipc message metadata of %d bytes overruns the stream", n)
		}
		c.b, c.budget = data[4:4+n], int(n/4)
		body := c.message()
		if c.bad {
			return errors.New("malformed arrow ipc message metadata")
		}
		if c.dict {
			return errors.New("dictionary-encoded arrow data is not supported")
		}
		if body < 0 || body > int64(len(data))-4-n {
			return fmt.Errorf("arrow ipc message body of %d bytes overruns the stream", body)
		}
		data = data[4+n+body:]
	}
	return nil
}

// flatCheck reads just enough of each flatbuffer-encoded Message to bound
// its vectors. Reading outside the buffer sets bad.
type flatCheck struct {
	b      []byte
	bad    bool
	dict   bool // a dictionary batch was seen
	budget int  // table visits left; bounds the work on cyclic offsets
	views  int  // string and binary view fields in the schema
}

// uint reads a little-endian unsigned integer of size bytes at p.
func (c *flatCheck) uint(p, size int) int {
	if c.bad || p < 0 || p+size > len(c.b) {
		c.bad = true
		return 0
	}
	if size == 2 {
		return int(binary.LittleEndian.Uint16(c.b[p:]))
	}
	return int(binary.LittleEndian.Uint32(c.b[p:]))
}

// slot returns where field i of the table at t is stored, or -1 if absent.
func (c *flatCheck) slot(t, i int) int {
	if c.budget--; c.budget < 0 {
		c.bad = true
	}
	vt := t - int(int32(c.uint(t, 4)))
	if o := 4 + 2*i; o < c.uint(vt, 2) { // the test flatbuffers uses
		if fo := c.uint(vt+o, 2); fo != 0 && !c.bad {
			return t + fo
		}
	}
	return -1
}

// ref follows the offset in field i of table t to a table or vector.
func (c *flatCheck) ref(t, i int) int {
	if p := c.slot(t, i); p >= 0 {
		return p + c.uint(p, 4)
	}
	return -1
}

// vector returns the first element and length of vector field i of table t.
func (c *flatCheck) vector(t, i, elemSize int) (start, n int) {
	v := c.ref(t, i)
	if v < 0 {
		return 0, 0
	}
	if n = c.uint(v, 4); c.bad || n > (len(c.b)-v-4)/elemSize {
		c.bad = true
		return 0, 0
	}
	return v + 4, n
}

// message checks a Message table and returns its declared body length.
func (c *flatCheck) message() (body int64) {
	msg := c.uint(0, 4)
	c.vector(msg, 4, 4) // custom_metadata
	kind := -1
	if p := c.slot(msg, 1); p >= 0 && p < len(c.b) {
		kind = int(c.b[p])
	}
	switch hdr := c.ref(msg, 2); {
	case hdr < 0:
	case kind == 1: // Schema
		c.vector(hdr, 2, 4)
		c.fields(c.vector(hdr, 1, 4))
	case kind == 2: // DictionaryBatch
		c.dict = true
	case kind == 3: // RecordBatch
		c.recordBatch(hdr)
	}
	if p := c.slot(msg, 3); p >= 0 && p+8 <= len(c.b) {
		body = int64(binary.LittleEndian.Uint64(c.b[p:]))
	}
	return body
}

// fields checks a vector of Field tables and, recursively, their children.
func (c *flatCheck) fields(start, n int) {
	for j := 0; j < n && !c.bad; j++ {
		f := start + 4*j + c.uint(start+4*j, 4)
		if p := c.slot(f, 2); p >= 0 && p < len(c.b) && (c.b[p] == 23 || c.b[p] == 24) {
			c.views++ // BinaryView or Utf8View
		}
		c.vector(f, 6, 4) // custom_metadata
		c.fields(c.vector(f, 5, 4))
	}
}

// recordBatch checks that there is a variadic buffer count for each view
// field (arrow-go reads them unchecked) and that none exceeds the buffers
// sent.
func (c *flatCheck) recordBatch(rb int) {
	_, nbuf := c.vector(rb, 2, 16)
	start, n := c.vector(rb, 4, 8)
	if n < c.views {
		c.bad = true
		return
	}
	for j := range n {
		if v := int64(binary.LittleEndian.Uint64(c.b[start+8*j:])); v < 0 || v > int64(nbuf) {
			c.bad = true
		}
	}
}

// arrowConv returns the Go value at index i of the Arrow array it was built
// for, or nil when that slot is null. It is built once per array so that the
// type switch runs once per column rather than once per value. Nested values
// are carved from per-array backing slices, so each index must be converted
// at most once.
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

// withNulls returns f guarded by the validity bitmap of a: null slots
// convert to nil without calling f.
func withNulls(a arrow.Array, f arrowConv) arrowConv {
	nulls := nullsOf(a)
	if nulls.bits == nil {
		return f
	}
	return func(i int) any {
		if nulls.isNull(i) {
			return nil
		}
		return f(i)
	}
}

// primitiveConv converts slots that Go represents with the Arrow value type
// itself.
func primitiveConv[T any](a arrow.Array, vals []T) arrowConv {
	return withNulls(a, func(i int) any { return vals[i] })
}

// newArrowConv builds the converter for one array, recursing into children.
// It covers the Arrow types Spark produces, plus the large variants of
// strings, binaries and lists and the string and binary views.
func newArrowConv(arr arrow.Array) (arrowConv, error) {
	switch a := arr.(type) {
	case *array.Null:
		return func(int) any { return nil }, nil
	case *array.Boolean:
		return withNulls(a, func(i int) any { return a.Value(i) }), nil
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
		return decimal128Conv(a), nil
	case *array.String:
		return stringConv[int32](a), nil
	case *array.LargeString:
		return stringConv[int64](a), nil
	case *array.Binary:
		return binaryConv[int32](a), nil
	case *array.LargeBinary:
		return binaryConv[int64](a), nil
	case *array.StringView:
		return withNulls(a, func(i int) any { return strings.Clone(a.Value(i)) }), nil
	case *array.BinaryView:
		return withNulls(a, func(i int) any { return append([]byte{}, a.Value(i)...) }), nil
	case *array.Date32:
		vals := a.Date32Values()
		return withNulls(a, func(i int) any { return time.Unix(int64(vals[i])*86400, 0).UTC() }), nil
	case *array.Timestamp:
		vals := a.TimestampValues()
		perSec, nsPerTick := unitScale(a.DataType().(*arrow.TimestampType).Unit)
		return withNulls(a, func(i int) any {
			return time.Unix(int64(vals[i])/perSec, int64(vals[i])%perSec*nsPerTick).UTC()
		}), nil
	case *array.Duration:
		return durationConv(a)
	case *array.MonthInterval:
		vals := a.MonthIntervalValues()
		return withNulls(a, func(i int) any { return YearMonthInterval{Months: int32(vals[i])} }), nil
	case *array.MonthDayNanoInterval:
		vals := a.MonthDayNanoIntervalValues()
		return withNulls(a, func(i int) any {
			return CalendarInterval{Months: vals[i].Months, Days: vals[i].Days, Nanoseconds: vals[i].Nanoseconds}
		}), nil
	case *array.Map:
		return mapConv(a)
	case *array.Struct:
		return structConv(a)
	case *array.List:
		return listConv(a)
	case *array.LargeList:
		return listConv(a)
	default:
		return nil, fmt.Errorf("unsupported arrow type %s", arr.DataType())
	}
}

// decimal128Conv converts decimals. Values whose magnitude fits in one
// machine word get their big.Int and its storage from two allocations made
// once per array rather than two per value.
func decimal128Conv(a *array.Decimal128) arrowConv {
	t := a.DataType().(*arrow.Decimal128Type)
	vals := a.Values()
	ints, words := make([]big.Int, len(vals)), make([]big.Word, len(vals))
	return withNulls(a, func(i int) any {
		return Decimal{Unscaled: setInt128(&ints[i], words[i:i+1:i+1], vals[i]), Scale: t.Scale, Precision: t.Precision}
	})
}

// setInt128 returns v as a big.Int: z, backed by word, when v's magnitude
// fits in one Word, and a freshly allocated big.Int otherwise.
func setInt128(z *big.Int, word []big.Word, v decimal128.Num) *big.Int {
	hi, lo := v.HighBits(), v.LowBits()
	neg := hi < 0
	if neg { // two's complement negation of the 128-bit value
		hi, lo = ^hi, ^lo+1
		if lo == 0 {
			hi++
		}
	}
	if hi != 0 || uint64(big.Word(lo)) != lo {
		return v.BigInt()
	}
	word[0] = big.Word(lo)
	z.SetBits(word)
	if neg {
		z.Neg(z)
	}
	return z
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
	unit := a.DataType().(*arrow.DurationType).Unit
	_, ns := unitScale(unit)
	vals, nulls := a.DurationValues(), nullsOf(a)
	for i, v := range vals {
		if !nulls.isNull(i) && (int64(v) > math.MaxInt64/ns || int64(v) < math.MinInt64/ns) {
			return nil, fmt.Errorf("day-time interval %d%s does not fit in a time.Duration", int64(v), unit)
		}
	}
	return withNulls(a, func(i int) any { return time.Duration(int64(vals[i]) * ns) }), nil
}

// offsetArray is a string or binary array with O-sized offsets.
type offsetArray[O int32 | int64] interface {
	arrow.Array
	ValueOffsets() []O
	ValueBytes() []byte
}

// stringConv copies the character data of a whole string array into one Go
// string and hands out substrings of it: one copy per column rather than
// one allocation per value.
func stringConv[O int32 | int64](a offsetArray[O]) arrowConv {
	if a.Len() == 0 { // the offsets buffer of an empty array may be absent
		return func(int) any { return nil }
	}
	offsets, s := a.ValueOffsets(), string(a.ValueBytes())
	base := offsets[0]
	return withNulls(a, func(i int) any { return s[offsets[i]-base : offsets[i+1]-base] })
}

// binaryConv is stringConv for binary data; each value is a
// capacity-limited slice of one private copy.
func binaryConv[O int32 | int64](a offsetArray[O]) arrowConv {
	if a.Len() == 0 {
		return func(int) any { return nil }
	}
	offsets, buf := a.ValueOffsets(), append(make([]byte, 0, len(a.ValueBytes())), a.ValueBytes()...)
	base := offsets[0]
	return withNulls(a, func(i int) any {
		lo, hi := offsets[i]-base, offsets[i+1]-base
		return buf[lo:hi:hi]
	})
}

// listConv converts a list array. All its lists are windows onto one
// backing slice the size of the child array.
func listConv(a array.ListLike) (arrowConv, error) {
	elem, err := newArrowConv(a.ListValues())
	if err != nil {
		return nil, fmt.Errorf("array element: %w", err)
	}
	backing := make([]any, a.ListValues().Len())
	return withNulls(a, func(i int) any {
		lo, hi := a.ValueOffsets(i)
		out := backing[lo:hi:hi]
		for j := range out {
			out[j] = elem(int(lo) + j)
		}
		return out
	}), nil
}

// mapConv converts a map array to []MapEntry values, windows onto one
// backing slice.
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
	backing := make([]MapEntry, entries.Len())
	return withNulls(a, func(i int) any {
		lo, hi := a.ValueOffsets(i)
		out := backing[lo:hi:hi]
		for j := range out {
			out[j] = MapEntry{Key: key(int(lo) + j), Value: val(int(lo) + j)}
		}
		return out
	}), nil
}

// structConv converts a struct array to Row values, windows onto one
// backing slice. A null struct is nil whatever its fields hold.
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
	nf := len(fields)
	backing := make([]any, a.Len()*nf)
	return withNulls(a, func(i int) any {
		row := Row(backing[i*nf : (i+1)*nf : (i+1)*nf])
		for k, f := range fields {
			row[k] = f(i)
		}
		return row
	}), nil
}
