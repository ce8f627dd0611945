package main

import (
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// sourceTables returns the statements that create the benchmark's source
// tables in schema src: orders, web_events and app_events have rows rows,
// customers and products a tenth and a twenty-fifth of that. A few orders
// have a NULL or negative amount, for the drop expectations.
func sourceTables(src string, rows int) []string {
	customers := max(rows/10, 10)
	products := max(rows/25, 10)
	return []string{
		fmt.Sprintf(`CREATE TABLE %[1]s.customers USING parquet AS
SELECT CAST(id AS INT) AS customer_id, CONCAT('customer-', id) AS name,
  element_at(array('DE', 'FR', 'US', 'JP', 'BR'), CAST(id %% 5 AS INT) + 1) AS country,
  CASE id %% 3 WHEN 0 THEN 'enterprise' WHEN 1 THEN 'smb' ELSE 'consumer' END AS segment
FROM range(%[2]d)`, src, customers),
		fmt.Sprintf(`CREATE TABLE %[1]s.products USING parquet AS
SELECT CAST(id AS INT) AS product_id, CONCAT('product-', id) AS title,
  element_at(array('books', 'games', 'garden', 'kitchen', 'toys', 'tools'), CAST(id %% 6 AS INT) + 1) AS category,
  ROUND(1.5 + (id * 7 %% 200), 2) AS price
FROM range(%[2]d)`, src, products),
		fmt.Sprintf(`CREATE TABLE %[1]s.orders USING parquet AS
SELECT id AS order_id, CAST(id * 7 %% %[3]d AS INT) AS customer_id, CAST(id * 13 %% %[4]d AS INT) AS product_id,
  CAST(1 + id %% 4 AS INT) AS quantity,
  CASE WHEN id %% 97 = 0 THEN NULL WHEN id %% 89 = 0 THEN -1.0D ELSE ROUND((id %% 1000) * 1.37D, 2) END AS amount,
  element_at(array('new', 'paid', 'shipped', 'returned'), CAST(id %% 4 AS INT) + 1) AS status,
  DATE_ADD(DATE'2026-01-01', CAST(id %% 90 AS INT)) AS order_date
FROM range(%[2]d)`, src, rows, customers, products),
		fmt.Sprintf(`CREATE TABLE %[1]s.web_events USING parquet AS
SELECT id AS event_id, CAST(id %% %[3]d AS INT) AS customer_id,
  element_at(array('view', 'click', 'search', 'cart'), CAST(id %% 4 AS INT) + 1) AS kind,
  TIMESTAMP_SECONDS(1767225600 + id * 37) AS ts
FROM range(%[2]d)`, src, rows, customers),
		fmt.Sprintf(`CREATE TABLE %[1]s.app_events USING parquet AS
SELECT id AS event_id, CAST(id * 3 %% %[3]d AS INT) AS customer_id,
  element_at(array('open', 'click', 'push', 'close'), CAST(id %% 4 AS INT) + 1) AS kind,
  TIMESTAMP_SECONDS(1767225600 + id * 53) AS ts
FROM range(%[2]d)`, src, rows, customers),
	}
}

// benchPipeline returns the generated 20-dataset pipeline reading the
// source tables of schema src: 4 temporary views, 12 materialized views
// (joins, aggregations, a window, reads of streaming tables) and 4
// streaming tables (two with their own query, two fed by an append flow
// each). Every streaming table has one writer: on file-based tables Spark
// 4.3 drops batches when several flows append to one table, which would
// make the runs differ.
func benchPipeline(src string) (*pipeline.Pipeline, error) {
	s := func(q string) string { return strings.ReplaceAll(q, "SRC.", src+".") }
	p := &pipeline.Pipeline{Name: "bench20"}
	datasets := []pipeline.Dataset{
		// Temporary views.
		{Name: "customer_dim", Kind: pipeline.TemporaryView,
			Query: s("SELECT customer_id, name, country, segment FROM SRC.customers")},
		{Name: "product_dim", Kind: pipeline.TemporaryView,
			Query: s("SELECT product_id, title, category, price FROM SRC.products")},
		{Name: "orders_enriched", Kind: pipeline.TemporaryView,
			Query: s("SELECT o.order_id, o.order_date, o.status, o.quantity, o.amount,\n" +
				"  c.customer_id, c.name, c.country, c.segment, p.product_id, p.category, p.price\n" +
				"FROM SRC.orders o\nJOIN customer_dim c ON o.customer_id = c.customer_id\n" +
				"JOIN product_dim p ON o.product_id = p.product_id")},
		{Name: "active_customers", Kind: pipeline.TemporaryView,
			Query: "SELECT customer_id, COUNT(*) AS orders FROM orders_clean WHERE status <> 'returned' GROUP BY customer_id"},

		// Materialized views.
		{Name: "orders_clean", Kind: pipeline.MaterializedView, Comment: "orders with a positive amount",
			Query: "SELECT * FROM orders_enriched",
			Expectations: []pipeline.Expectation{
				{Name: "positive_amount", Condition: "amount > 0", OnViolation: pipeline.Drop},
				{Name: "small_quantity", Condition: "quantity <= 3", OnViolation: pipeline.Warn},
			}},
		{Name: "revenue_by_customer", Kind: pipeline.MaterializedView,
			Query: "SELECT customer_id, name, country, segment, SUM(amount) AS revenue, COUNT(*) AS orders\n" +
				"FROM orders_clean GROUP BY customer_id, name, country, segment"},
		{Name: "revenue_by_product", Kind: pipeline.MaterializedView,
			Query: "SELECT product_id, category, SUM(amount) AS revenue, SUM(quantity) AS units\n" +
				"FROM orders_clean GROUP BY product_id, category"},
		{Name: "revenue_by_country", Kind: pipeline.MaterializedView,
			Query: "SELECT country, SUM(amount) AS revenue, COUNT(DISTINCT customer_id) AS customers\n" +
				"FROM orders_clean GROUP BY country"},
		{Name: "revenue_by_category", Kind: pipeline.MaterializedView,
			Query: "SELECT category, SUM(amount) AS revenue, AVG(price) AS avg_price FROM orders_clean GROUP BY category"},
		{Name: "daily_revenue", Kind: pipeline.MaterializedView,
			Query: "SELECT order_date, SUM(amount) AS revenue, COUNT(*) AS orders FROM orders_clean GROUP BY order_date"},
		{Name: "top_customers", Kind: pipeline.MaterializedView,
			Query: "SELECT r.customer_id, r.name, r.revenue, a.orders AS active_orders\n" +
				"FROM revenue_by_customer r JOIN active_customers a ON r.customer_id = a.customer_id\n" +
				"ORDER BY r.revenue DESC LIMIT 50"},
		{Name: "product_rank", Kind: pipeline.MaterializedView,
			Query: "SELECT r.product_id, d.title, r.category, r.revenue,\n" +
				"  RANK() OVER (PARTITION BY r.category ORDER BY r.revenue DESC) AS rank_in_category\n" +
				"FROM revenue_by_product r JOIN product_dim d ON r.product_id = d.product_id"},
		{Name: "segment_summary", Kind: pipeline.MaterializedView,
			Query: "SELECT segment, COUNT(*) AS customers, SUM(revenue) AS revenue, MAX(revenue) AS best\n" +
				"FROM revenue_by_customer GROUP BY segment"},
		{Name: "country_category", Kind: pipeline.MaterializedView,
			Query: "SELECT country, category, SUM(amount) AS revenue FROM orders_clean GROUP BY country, category"},
		{Name: "events_by_kind", Kind: pipeline.MaterializedView,
			Query: "SELECT 'web' AS channel, kind, COUNT(*) AS events FROM web_log GROUP BY kind\n" +
				"UNION ALL\nSELECT 'app' AS channel, kind, COUNT(*) AS events FROM app_log GROUP BY kind"},
		{Name: "stream_status", Kind: pipeline.MaterializedView,
			Query: "SELECT status, COUNT(*) AS orders, SUM(amount) AS amount FROM orders_stream GROUP BY status"},

		// Streaming tables.
		{Name: "orders_stream", Kind: pipeline.StreamingTable, Comment: "every order, appended as it arrives",
			Query: s("SELECT order_id, customer_id, status, amount, order_date FROM STREAM(SRC.orders)"),
			Expectations: []pipeline.Expectation{
				{Name: "has_amount", Condition: "amount IS NOT NULL", OnViolation: pipeline.Drop},
			}},
		{Name: "big_orders", Kind: pipeline.StreamingTable,
			Query: s("SELECT order_id, customer_id, amount FROM STREAM(SRC.orders) WHERE amount > 1000")},
		{Name: "web_log", Kind: pipeline.StreamingTable, Comment: "web events"},
		{Name: "app_log", Kind: pipeline.StreamingTable, Comment: "app events"},
	}
	for _, d := range datasets {
		if _, err := p.PutDataset(d); err != nil {
			return nil, fmt.Errorf("declare %s: %w", d.Name, err)
		}
	}
	for _, f := range []pipeline.Flow{
		{Name: "web_to_log", Target: "web_log", Query: s("SELECT event_id, customer_id, kind, ts FROM STREAM(SRC.web_events)")},
		{Name: "app_to_log", Target: "app_log", Query: s("SELECT event_id, customer_id, kind, ts FROM STREAM(SRC.app_events)")},
	} {
		if _, err := p.PutFlow(f); err != nil {
			return nil, fmt.Errorf("declare flow %s: %w", f.Name, err)
		}
	}
	return p, nil
}

// mix describes the kinds of p's datasets, e.g. "4 temporary views, ...".
func mix(p *pipeline.Pipeline) string {
	n := map[pipeline.Kind]int{}
	for _, d := range p.Datasets {
		n[d.Kind]++
	}
	return fmt.Sprintf("%d datasets (%d temporary views, %d materialized views, %d streaming tables) and %d append flows",
		len(p.Datasets), n[pipeline.TemporaryView], n[pipeline.MaterializedView], n[pipeline.StreamingTable], len(p.Flows))
}

// stored lists the datasets of p that a run writes to a table.
func stored(p *pipeline.Pipeline) []string {
	var out []string
	for _, d := range p.Datasets {
		if d.Kind != pipeline.TemporaryView {
			out = append(out, d.Name)
		}
	}
	return out
}
