package eval

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// TableResult is how one expected table compared.
type TableResult struct {
	Table        string   `json:"table"`
	Matched      bool     `json:"matched"`
	Mode         string   `json:"mode"` // exact or by key
	ExpectedRows int      `json:"expected_rows"`
	ActualRows   int      `json:"actual_rows"`
	Problems     []string `json:"problems,omitempty"`
}

// maxProblems caps the differences reported per table.
const maxProblems = 5

// cell is one value, normalized: numbers as float64, everything else as
// its canonical text.
type cell struct {
	num   float64
	isNum bool
	text  string
}

func normalize(v any) cell {
	switch x := v.(type) {
	case nil:
		return cell{text: "NULL"}
	case int8:
		return numCell(float64(x))
	case int16:
		return numCell(float64(x))
	case int32:
		return numCell(float64(x))
	case int64:
		return numCell(float64(x))
	case int:
		return numCell(float64(x))
	case float32:
		return numCell(float64(x))
	case float64:
		return numCell(x)
	case connect.Decimal:
		f, _ := x.Rat().Float64()
		return numCell(f)
	case string:
		return cell{text: strconv.Quote(x)}
	case time.Time:
		return cell{text: x.UTC().Format(time.RFC3339Nano)}
	default:
		return cell{text: fmt.Sprint(x)}
	}
}

func numCell(f float64) cell {
	return cell{num: f, isNum: true, text: strconv.FormatFloat(f, 'g', 10, 64)}
}

// equal compares two cells; numbers may differ by tol (and by a relative
// 1e-9 for floating-point noise).
func (c cell) equal(o cell, tol float64) bool {
	if c.isNum && o.isNum {
		d := math.Abs(c.num - o.num)
		return d <= tol || d <= 1e-9*math.Max(math.Abs(c.num), math.Abs(o.num))
	}
	return c.isNum == o.isNum && c.text == o.text
}

// compareTables compares the actual rows with the expected ones over the
// expected columns (extra actual columns are ignored).
func compareTables(e Expected, want, got *connect.Result) TableResult {
	r := TableResult{Table: e.Table, Mode: "exact", ExpectedRows: len(want.Rows), ActualRows: len(got.Rows)}
	if len(e.Key) > 0 {
		r.Mode = "by key " + strings.Join(e.Key, ", ")
		if e.Tolerance > 0 {
			r.Mode += fmt.Sprintf(" (tolerance %g)", e.Tolerance)
		}
	}
	problem := func(format string, a ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
		}
	}
	// Map the expected columns to the actual table's columns.
	cols := make([]string, len(want.Columns))
	at := make([]int, len(want.Columns))
	for i, c := range want.Columns {
		cols[i] = strings.ToLower(c.Name)
		at[i] = slices.IndexFunc(got.Columns, func(g connect.Column) bool { return strings.EqualFold(g.Name, c.Name) })
		if at[i] < 0 {
			problem("column %s is missing", c.Name)
		}
	}
	if len(r.Problems) > 0 {
		return r
	}
	rows := func(res *connect.Result, pick bool) [][]cell {
		out := make([][]cell, len(res.Rows))
		for i, row := range res.Rows {
			out[i] = make([]cell, len(cols))
			for j := range cols {
				k := j
				if pick {
					k = at[j]
				}
				out[i][j] = normalize(row[k])
			}
		}
		return out
	}
	w, g := rows(want, false), rows(got, true)
	if len(e.Key) == 0 {
		compareExact(cols, w, g, problem)
	} else {
		compareByKey(cols, e.Key, e.Tolerance, w, g, problem)
	}
	if len(w) != len(g) {
		problem("%d rows, want %d", len(g), len(w))
	}
	r.Matched = len(r.Problems) == 0
	return r
}

func rowText(cols []string, row []cell) string {
	parts := make([]string, len(row))
	for i, c := range row {
		parts[i] = cols[i] + "=" + c.text
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func compareExact(cols []string, w, g [][]cell, problem func(string, ...any)) {
	key := func(r []cell) string { return rowText(cols, r) }
	sortRows := func(rs [][]cell) {
		slices.SortFunc(rs, func(a, b []cell) int { return strings.Compare(key(a), key(b)) })
	}
	sortRows(w)
	sortRows(g)
	i, j := 0, 0
	for i < len(w) && j < len(g) {
		if rowsEqual(w[i], g[j], 0) {
			i++
			j++
			continue
		}
		if key(w[i]) < key(g[j]) {
			problem("missing row %s", key(w[i]))
			i++
		} else {
			problem("unexpected row %s", key(g[j]))
			j++
		}
	}
	for ; i < len(w); i++ {
		problem("missing row %s", key(w[i]))
	}
	for ; j < len(g); j++ {
		problem("unexpected row %s", key(g[j]))
	}
}

func rowsEqual(a, b []cell, tol float64) bool {
	for i := range a {
		if !a[i].equal(b[i], tol) {
			return false
		}
	}
	return true
}

func compareByKey(cols, keyCols []string, tol float64, w, g [][]cell, problem func(string, ...any)) {
	var idx []int
	for _, k := range keyCols {
		i := slices.Index(cols, strings.ToLower(k))
		if i < 0 {
			problem("key column %s is not a column of the expected table", k)
			return
		}
		idx = append(idx, i)
	}
	key := func(r []cell) string {
		parts := make([]string, len(idx))
		for n, i := range idx {
			parts[n] = cols[i] + "=" + r[i].text
		}
		return strings.Join(parts, ", ")
	}
	index := func(rs [][]cell, what string) map[string][]cell {
		m := make(map[string][]cell, len(rs))
		for _, r := range rs {
			k := key(r)
			if _, dup := m[k]; dup {
				problem("%s key (%s) appears more than once", what, k)
			}
			m[k] = r
		}
		return m
	}
	wm, gm := index(w, "expected"), index(g, "actual")
	keys := make([]string, 0, len(wm))
	for k := range wm {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		gr, ok := gm[k]
		if !ok {
			problem("missing key (%s)", k)
			continue
		}
		for i, c := range wm[k] {
			if !c.equal(gr[i], tol) {
				problem("key (%s): %s = %s, want %s", k, cols[i], gr[i].text, c.text)
			}
		}
	}
	var extra []string
	for k := range gm {
		if _, ok := wm[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		problem("unexpected key (%s)", k)
	}
}
