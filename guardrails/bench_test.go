package guardrails

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchQuery is a realistic body of about 1 KiB that passes the checks.
const benchQuery = `WITH recent AS (
  SELECT o.order_id, o.customer_id, o.amount, CAST(o.ts AS DATE) AS order_date
  FROM spark_catalog.samples.orders AS o
  WHERE o.ts >= current_date() - INTERVAL 30 DAYS AND o.status IN ('paid', 'shipped')
),
customers AS (
  SELECT c.customer_id, upper(trim(c.name)) AS name, c.country -- normalised
  FROM spark_catalog.samples.customers c
)
SELECT r.order_date,
       cu.country,
       count(DISTINCT r.customer_id) AS buyers,
       sum(r.amount) FILTER (WHERE r.amount > 0) AS revenue,
       percentile_approx(r.amount, 0.5) AS median_amount,
       row_number() OVER (PARTITION BY cu.country ORDER BY sum(r.amount) DESC) AS rank
FROM recent r
JOIN customers cu ON r.customer_id = cu.customer_id
LEFT JOIN orders_clean f ON f.order_id = r.order_id
WHERE f.order_id IS NULL
  AND EXTRACT(YEAR FROM r.order_date) = 2026
  AND r.customer_id NOT IN (SELECT customer_id FROM dev.s.blocked)
GROUP BY r.order_date, cu.country
HAVING sum(r.amount) > 100
/* keep the ordering stable */
ORDER BY r.order_date, revenue DESC
`

// benchBody returns a passing body of just under size bytes.
func benchBody(size int) string {
	var b strings.Builder
	for b.Len() < size-len(benchQuery)-40 {
		if b.Len() > 0 {
			b.WriteString("UNION ALL\n")
		}
		b.WriteString("SELECT * FROM (\n")
		b.WriteString(benchQuery)
		b.WriteString(")\n")
	}
	return b.String()
}

func TestBenchBodiesPass(t *testing.T) {
	for _, body := range []string{benchQuery, benchBody(64 << 10)} {
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

func BenchmarkCheck1K(b *testing.B)  { benchmarkCheck(b, benchQuery) }
func BenchmarkCheck64K(b *testing.B) { benchmarkCheck(b, benchBody(64<<10)) }

// cpuTime is the CPU time of the whole process (garbage collection included),
// which stays meaningful on a loaded machine where wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
