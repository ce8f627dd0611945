package guardrails

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/guardrails/guardtest"
)

func TestBenchBodiesPass(t *testing.T) {
	for _, body := range []string{guardtest.Query, guardtest.Body(64 << 10)} {
		if fs := CheckBody(body, opts); len(fs) > 0 {
			t.Errorf("bench body of %d bytes is refused:\n%s", len(body), Format(fs))
		}
	}
}

func benchmarkCheck(b *testing.B, body string) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var times []time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		if fs := CheckBody(body, opts); len(fs) > 0 {
			b.Fatal(Format(fs))
		}
		times = append(times, time.Since(t0))
	}
	cpu := cpuTime() - cpu0
	slices.Sort(times)
	if n := len(times); n > 0 {
		b.ReportMetric(float64(times[(n*99)/100]), "p99-ns")
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

func BenchmarkCheck1K(b *testing.B)  { benchmarkCheck(b, guardtest.Query) }
func BenchmarkCheck64K(b *testing.B) { benchmarkCheck(b, guardtest.Body(64<<10)) }

// cpuTime is the CPU time of the whole process (garbage collection included),
// which stays meaningful on a loaded machine where wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
