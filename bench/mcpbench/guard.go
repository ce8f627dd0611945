package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/policy"
)

// guardQuery is a realistic body of about 1 KiB that passes the guard.
const guardQuery = `WITH recent AS (
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
  AND r.customer_id NOT IN (SELECT customer_id FROM samples.blocked)
GROUP BY r.order_date, cu.country
HAVING sum(r.amount) > 100
/* keep the ordering stable */
ORDER BY r.order_date, revenue DESC
`

// guardBody returns a passing body of just under size bytes.
func guardBody(size int) string {
	var b strings.Builder
	for b.Len() < size-len(guardQuery)-40 {
		if b.Len() > 0 {
			b.WriteString("UNION ALL\n")
		}
		b.WriteString("SELECT * FROM (\n" + guardQuery + ")\n")
	}
	return b.String()
}

// benchRules are five rules of the kinds a team writes.
const benchRules = `version: 1
rules:
  - {name: wide-preview, when: 'tool == "preview" && limit > 200', action: warn, message: fewer rows}
  - {name: no-hr, when: 'reads.exists(r, r.startsWith("spark_catalog.hr."))', action: deny, message: no HR}
  - {name: no-rand, when: '"rand" in functions', action: warn, message: nondeterministic}
  - {name: prod-stream, when: 'env == "production" && kind == "streaming_table"', action: audit}
  - {name: names, when: 'pipeline.matches("^[a-z]+_v[0-9]+$")', action: audit}
`

// guardLatency measures the SQL guard on one body (the static checks every
// body passes before anything reaches Spark) and the policy's CEL rules on
// one call: p50/p99 over n runs after a warm-up.
func guardLatency(ctx context.Context, report *bytes.Buffer, n int) error {
	fp, err := guardrails.NewFunctionPolicy(nil, []string{"current_user"})
	if err != nil {
		return err
	}
	opts := guardrails.CheckOptions{AllowedSources: []string{"spark_catalog.samples.*"}, DefaultCatalog: "spark_catalog",
		DefaultSchema: "dev", Datasets: []string{"orders_clean"}, Functions: fp, MaxBytes: 64 << 10}
	fmt.Fprintf(report, "\n## SQL guard and policy rules, per call\n\n"+
		"`guardrails.Check` (hygiene, tokenizer, relation and function scan, allow-lists, function policy) on a\n"+
		"passing body, and the policy's CEL rules on one call's facts; %d runs each after %d warm-up runs,\n"+
		"one goroutine. Target: guard p99 < 1 ms at 64 KiB.\n\n"+
		"| what | size | p50 (µs) | p99 (µs) | p99 < 1 ms |\n|---|---:|---:|---:|---|\n", n, n/10)
	measure := func(name, size string, fn func() error) error {
		lat := make([]time.Duration, 0, n)
		for i := range n + n/10 {
			t0 := time.Now()
			if err := fn(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if i >= n/10 {
				lat = append(lat, time.Since(t0))
			}
		}
		s := summarize(lat)
		ok := "yes"
		if s.p99 >= time.Millisecond {
			ok = "**no**"
		}
		fmt.Fprintf(report, "| %s | %s | %.1f | %.1f | %s |\n", name, size, us(s.p50), us(s.p99), ok)
		return nil
	}
	for _, b := range []struct {
		size string
		body string
	}{{"1 KiB", guardQuery}, {"64 KiB", guardBody(64 << 10)}} {
		if err := measure("SQL guard", b.size, func() error {
			if fs := guardrails.Check(b.body, opts).Findings; len(fs) > 0 {
				return fmt.Errorf("the benchmark body is refused: %s", guardrails.Format(fs))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	req := policy.Request{Tool: "declare_table", Pipeline: "sales_v2", Kind: "materialized_view",
		Reads:     []string{"spark_catalog.samples.customers", "spark_catalog.samples.orders"},
		Functions: []string{"count", "percentile_approx", "row_number", "sum", "upper"}, Env: "sandbox"}
	for _, p := range []struct {
		name string
		pol  func() (*policy.Policy, error)
	}{
		{"CEL rules: the default policy (2 rules)", func() (*policy.Policy, error) { return policy.Default(), nil }},
		{"CEL rules: 5 typical rules", func() (*policy.Policy, error) { return policy.Parse("bench", []byte(benchRules)) }},
	} {
		pol, err := p.pol()
		if err != nil {
			return err
		}
		rs := pol.RuleSet()
		if err := measure(p.name, "one call", func() error {
			if ds := policy.Denied(rs.Evaluate(ctx, req)); len(ds) > 0 {
				return fmt.Errorf("denied: %v", ds)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
