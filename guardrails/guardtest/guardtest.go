// Package guardtest owns the query bodies that the guard's tests and
// benchmarks share with make bench: a realistic pipeline query of about
// 1 KiB, passing bodies of any size made of it, and adversarial shapes aimed
// at the parts of the guard whose cost grows with the input.
package guardtest

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// Query is a realistic pipeline query body of about 1 KiB that passes the
// guard under the test policies (sources spark_catalog.samples.* and dev.s.*,
// dataset orders_clean).
//
//go:embed bench_query.sql
var Query string

//go:embed adversarial.txt
var adversarial string

// Body returns a passing body of just under size bytes: copies of Query,
// each as a subquery, joined with UNION ALL. It returns Query itself when
// size leaves room for one copy or less.
func Body(size int) string {
	var b strings.Builder
	for b.Len() < size-len(Query)-40 {
		if b.Len() > 0 {
			b.WriteString("UNION ALL\n")
		}
		b.WriteString("SELECT * FROM (\n")
		b.WriteString(Query)
		b.WriteString(")\n")
	}
	if b.Len() == 0 {
		return Query
	}
	return b.String()
}

// Shape is one adversarial body.
type Shape struct {
	Name string
	Body string
}

// Adversarial returns the shapes of adversarial.txt, each built to just
// under size bytes: the prefix, the unit repeated (with %d replaced by the
// repetition's number) and the suffix.
func Adversarial(size int) ([]Shape, error) {
	var out []Shape
	for n, line := range strings.Split(adversarial, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 4 {
			return nil, fmt.Errorf("adversarial.txt:%d: %q is not name|prefix|unit|suffix", n+1, line)
		}
		var b strings.Builder
		b.WriteString(f[1])
		for i := 0; ; i++ {
			u := strings.ReplaceAll(f[2], "%d", strconv.Itoa(i))
			if b.Len()+len(u)+len(f[3]) >= size {
				break
			}
			b.WriteString(u)
		}
		b.WriteString(f[3])
		out = append(out, Shape{Name: f[0], Body: b.String()})
	}
	return out, nil
}
