package guardrails

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestTmpLatency(t *testing.T) {
	body := benchBody(64 << 10)
	for range 200 {
		Check(body, opts)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	lat := make([]time.Duration, 4000)
	gcAt := make([]uint32, 4000)
	for i := range lat {
		t0 := time.Now()
		Check(body, opts)
		lat[i] = time.Since(t0)
		_ = gcAt
	}
	runtime.ReadMemStats(&ms)
	s := slices.Clone(lat)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)))] }
	fmt.Println("gcs", ms.NumGC-gc0, "p50", q(.5), "p90", q(.9), "p95", q(.95), "p98", q(.98), "p99", q(.99), "p999", q(.999), "max", s[len(s)-1])
	// where are the slow ones
	var slow []int
	for i, d := range lat {
		if d > q(.99) {
			slow = append(slow, i)
		}
	}
	fmt.Println("slow at", slow)
}
