package pipeline

import (
	"testing"
)

// goldenCase is a pipeline exercised by the golden tests.
type goldenCase struct {
	name     string
	pipeline func(t *testing.T) *Pipeline
	// preview and violations list the datasets whose PreviewSQL and
	// ViolationCountSQL are kept as golden files.
	preview, violations []string
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{name: "minimal", pipeline: minimalPipeline, preview: []string{"daily_totals"}},
		{name: "every_feature", pipeline: everyFeaturePipeline,
			preview:    []string{"orders_clean", "customer_totals", "events", "vip_customers"},
			violations: []string{"orders_clean", "events", "vip_customers"}},
	}
}

// mustPut declares datasets and flows in order, failing the test on any problem.
func mustPut(t *testing.T, p *Pipeline, items ...any) *Pipeline {
	t.Helper()
	for _, it := range items {
		var err error
		switch x := it.(type) {
		case Dataset:
			_, err = p.PutDataset(x)
		case Flow:
			_, err = p.PutFlow(x)
		default:
			t.Fatalf("mustPut: unexpected %T", it)
		}
		if err != nil {
			t.Fatalf("declaring %v: %v", it, err)
		}
	}
	return p
}

func minimalPipeline(t *testing.T) *Pipeline {
	return mustPut(t, &Pipeline{Name: "sales", Catalog: "dev", Database: "sales",
		Storage: "s3a://example-bucket/pipelines/sales"},
		Dataset{Name: "daily_totals", Kind: MaterializedView,
			Query: "SELECT order_date, SUM(amount) AS total\nFROM raw_orders\nGROUP BY order_date"},
	)
}

// everyFeaturePipeline uses every field, kind and action, names that need
// quoting, and text that needs escaping.
func everyFeaturePipeline(t *testing.T) *Pipeline {
	p := &Pipeline{Name: "shop", Catalog: "dev", Database: "shop_dev",
		Storage:       "s3a://example-bucket/pipelines/shop",
		Configuration: map[string]string{"spark.sql.shuffle.partitions": "8", "pipelines.note": "it's; fine"}}
	return mustPut(t, p,
		Dataset{Name: "orders_raw", Kind: StreamingTable,
			Comment: "Raw orders, appended as they arrive.",
			Query:   "SELECT * FROM STREAM(main.landing.orders)"},
		Dataset{Name: "orders_clean", Kind: MaterializedView,
			Comment:         "Cleaned orders: it's the 'truth' \\ no dupes;\nsecond line\tand a tab",
			Schema:          "order_id BIGINT NOT NULL, customer_id BIGINT, amount DECIMAL(10, 2) COMMENT 'in EUR; gross', order_date DATE",
			PartitionBy:     []string{"order_date"},
			TableProperties: map[string]string{"quality": "silver", "owner.team": "data-eng's"},
			Query: "-- keep one row per order\nSELECT order_id, customer_id, amount, order_date\n" +
				"FROM dev.shop_dev.orders_raw\nWHERE amount IS NOT NULL -- drop broken rows",
			Expectations: []Expectation{
				{Name: "positive_amount", Condition: "amount > 0", OnViolation: Drop},
				{Name: "has_customer", Condition: "customer_id IS NOT NULL", OnViolation: Fail},
				{Name: "recent", Condition: "order_date >= DATE'2020-01-01'", OnViolation: Warn},
				{Name: "sane_amount", Condition: "amount < 1000000 AND amount <> 0.5", OnViolation: Drop},
			}},
		Dataset{Name: "big_orders", Kind: TemporaryView,
			Comment: "Orders over 100.",
			Query:   "SELECT * FROM orders_clean WHERE amount > 100",
			Expectations: []Expectation{
				{Name: "not_test", Condition: "customer_id <> 42", OnViolation: Drop},
			}},
		Dataset{Name: "customer_totals", Kind: MaterializedView,
			Query: "WITH per_order AS (SELECT customer_id, amount FROM big_orders)\n" +
				"SELECT customer_id, SUM(amount) AS total FROM per_order GROUP BY customer_id"},
		Dataset{Name: "events", Kind: StreamingTable,
			Comment:   "All events, from every channel.",
			ClusterBy: []string{"customer_id"},
			Schema:    "event_id STRING NOT NULL, customer_id BIGINT, kind STRING, at TIMESTAMP",
			Expectations: []Expectation{
				{Name: "has_id", Condition: "event_id IS NOT NULL", OnViolation: Fail},
				{Name: "known_kind", Condition: "kind IN ('click', 'view')", OnViolation: Drop},
			}},
		Flow{Name: "web_events", Target: "events", Comment: "From the web site's collector.",
			Query: "SELECT event_id, customer_id, kind, at FROM STREAM main.landing.web_events"},
		Flow{Name: "app_events", Target: "events",
			Query: "SELECT id AS event_id, customer_id, kind, ts AS at FROM STREAM(main.landing.app_events)"},
		Dataset{Name: "select", Kind: MaterializedView,
			Comment: "A name that is a keyword.",
			Query:   "SELECT kind, COUNT(*) AS n FROM events GROUP BY kind"},
		Dataset{Name: "vip_customers", Kind: MaterializedView,
			Query: "SELECT c.customer_id, c.total FROM customer_totals AS c\n" +
				"JOIN shop_dev.`select` AS s ON s.n > 0\nWHERE c.total > 1000",
			Expectations: []Expectation{
				{Name: "big_spender", Condition: "total > 1000", OnViolation: Warn},
			}},
	)
}
