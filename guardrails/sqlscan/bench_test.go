package sqlscan

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/guardrails/guardtest"
)

func benchmarkScan(b *testing.B, src string) {
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	measure(b, func() {
		if _, err := Scan(src); err != nil {
			b.Fatal(err)
		}
	})
}

// measure runs f b.N times and, besides ns/op, reports the 99th percentile
// of the single-call wall times (p99-ns) and the process CPU time per call
// (cpu-ns/op, garbage collection included), which stays meaningful on a
// loaded machine where wall time does not.
func measure(b *testing.B, f func()) {
	var times []time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		f()
		times = append(times, time.Since(t0))
	}
	cpu := cpuTime() - cpu0
	slices.Sort(times)
	if n := len(times); n > 0 {
		b.ReportMetric(float64(times[(n*99)/100]), "p99-ns")
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkScan1K(b *testing.B)  { benchmarkScan(b, guardtest.Query) }
func BenchmarkScan64K(b *testing.B) { benchmarkScan(b, guardtest.Body(64<<10)) }

func BenchmarkTokenize64K(b *testing.B) {
	src := guardtest.Body(64 << 10)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	measure(b, func() {
		if _, err := Tokenize(src); err != nil {
			b.Fatal(err)
		}
	})
}

// pathological returns inputs of about 64 KiB built to trip quadratic or
// deeply recursive paths.
func pathological() map[string]string {
	const n = 64 << 10
	rep := func(s string) string { return strings.Repeat(s, n/len(s)) }
	ctes := "WITH " + strings.Repeat("c AS (SELECT 1), ", 2000) + "d AS (SELECT 1) SELECT * FROM " + strings.Repeat("c, ", 4000) + "d"
	return map[string]string{
		"open parens":      rep("("),
		"from parens":      "SELECT * FROM " + rep("(") + "a JOIN b",
		"variables":        rep("${"),
		"exists":           rep("EXISTS ("),
		"commas in from":   "SELECT * FROM " + rep("a, "),
		"joins":            "SELECT * FROM a " + rep("JOIN b "),
		"qualified name":   "SELECT * FROM " + rep("a.") + "b",
		"casts":            rep("x::"),
		"angle brackets":   "SELECT x::STRUCT" + rep("<"),
		"lateral views":    "SELECT * FROM t " + rep("LATERAL VIEW explode(a) e AS c "),
		"nested comments":  rep("/*"),
		"unclosed string":  "'" + rep("a"),
		"doubled quotes":   "'" + rep("''"),
		"many ctes":        ctes,
		"raw string tries": rep("r'x' "),
		"numbers":          rep("1.5e3 "),
		"hints":            rep("/*+ a */"),
		"values":           "SELECT * FROM VALUES " + rep("(1), "),
		"case":             rep("CASE WHEN "),
		"stream":           "SELECT * FROM " + rep("STREAM "),
		"with":             rep("WITH "),
		"table":            rep("TABLE "),
	}
}

func TestScanPathological(t *testing.T) {
	cases := pathological()
	shapes, err := guardtest.Adversarial(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shapes {
		cases["guard: "+s.Name] = s.Body
	}
	for name, src := range cases {
		t0 := time.Now()
		if _, err := Scan(src); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s: %v", name, err)
			}
		}
		t.Logf("%-16s %7d bytes %v", name, len(src), time.Since(t0))
	}
}

func BenchmarkScanPathological(b *testing.B) {
	for name, src := range pathological() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				_, _ = Scan(src)
			}
		})
	}
}

func BenchmarkScanner64K(b *testing.B) {
	src := guardtest.Body(64 << 10)
	var s Scanner
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	measure(b, func() {
		if _, err := s.Scan(src); err != nil {
			b.Fatal(err)
		}
	})
}
