package tools

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
)

// Setup calls shared by the golden cases.
const (
	ordersClean = `{"pipeline":"sales","name":"orders_clean","kind":"materialized_view",
		"query":"SELECT order_id, customer_id, amount FROM spark_catalog.raw.orders WHERE amount IS NOT NULL",
		"expectations":[{"name":"positive_amount","condition":"amount > 0","on_violation":"drop"}]}`
	customerTotals = `{"pipeline":"sales","name":"customer_totals","kind":"materialized_view",
		"query":"SELECT customer_id, sum(amount) AS total FROM orders_clean GROUP BY customer_id",
		"comment":"Revenue per customer","partition_by":["customer_id"],"table_properties":{"quality":"gold"}}`
	eventsTable = `{"pipeline":"events","name":"events","kind":"streaming_table","comment":"All events"}`
	webFlow     = `{"pipeline":"events","name":"web_events","target":"events","query":"SELECT * FROM STREAM(spark_catalog.raw.orders)"}`
	brokenTotal = `{"pipeline":"sales","name":"broken","kind":"materialized_view","query":"SELECT missing_col FROM orders_clean"}`
	divByZero   = `{"pipeline":"sales","name":"ratios","kind":"materialized_view","query":"SELECT order_id, 1/0 AS r FROM orders_clean"}`
)

type step struct{ tool, args string }

var salesSetup = []step{{"declare_table", ordersClean}, {"declare_table", customerTotals}}

type goldenCase struct {
	name  string // testdata/golden/<tool>/<name>.json
	opts  harnessOpts
	setup []step
	tool  string
	args  string // "$HASH" and "$DRAFT" become the last pipeline_hash and draft_hash seen in setup
}

// runSetup makes the setup calls and returns the case's arguments with the
// hashes filled in.
func runSetup(h *harness, tc goldenCase) string {
	var lastHash, lastDraft string
	for _, s := range tc.setup {
		out := h.mustCall(s.tool, s.args)
		if v, ok := out["pipeline_hash"].(string); ok {
			lastHash = v
		}
		if v, ok := out["draft_hash"].(string); ok {
			lastDraft = v
		}
	}
	return strings.NewReplacer("$HASH", lastHash, "$DRAFT", lastDraft).Replace(tc.args)
}

func goldenCases() []goldenCase {
	prod := harnessOpts{production: true}
	validated := append(append([]step{}, salesSetup...), step{"validate", `{"pipeline":"sales"}`})
	prod42 := harnessOpts{production: true, prodProfile: &engine.Profile{SparkVersion: "4.2.0", TableFormat: "delta"}}
	// Production has orders_clean from an older declaration, in Delta, with
	// columns the draft no longer computes; customer_totals does not exist.
	rows := int64(1200)
	changed := harnessOpts{production: true, prodTables: map[string]engine.TableState{
		"orders_clean": {Definition: strings.Repeat("0", 64), Format: "delta", Rows: &rows, Columns: []connect.Column{
			{Name: "id", Type: "int"}, {Name: "legacy_code", Type: "string", Nullable: true},
			{Name: "total", Type: "decimal(20,2)"}}}}}
	// In a parquet table this server did not write (so the run changes it
	// in place rather than creating it anew) whose id is a string: the
	// metastore cannot retype it in place (a widening such as int → bigint
	// it can).
	inPlace := harnessOpts{production: true, prodTables: map[string]engine.TableState{
		"orders_clean": {Format: "parquet", Rows: &rows, Columns: []connect.Column{
			{Name: "id", Type: "string", Nullable: true}, {Name: "total", Type: "decimal(20,2)", Nullable: true}}}}}
	protected := changed
	protected.policy = "version: 1\nfull_refresh_protected: [sales.orders_clean]\n"
	return []goldenCase{
		// list_sources
		{name: "all", tool: "list_sources", args: `{}`},
		{name: "pattern", tool: "list_sources", args: `{"pattern":"ORD?rs*"}`},
		{name: "bad_pattern", tool: "list_sources", args: `{"pattern":"raw.orders; DROP TABLE x","limit":5}`},
		{name: "engine_down", opts: harnessOpts{infra: errors.New("dial tcp 10.0.0.7:15002: connect: connection refused (token=abc)")},
			tool: "list_sources", args: `{}`},

		// describe_source
		{name: "ok", tool: "describe_source", args: `{"name":"spark_catalog.raw.orders"}`},
		{name: "unknown", tool: "describe_source", args: `{"name":"raw.payments"}`},
		{name: "bad_name", tool: "describe_source", args: `{"name":"raw.orders; --"}`},
		{name: "missing_name", tool: "describe_source", args: `{}`},

		// list_pipelines
		{name: "empty", tool: "list_pipelines", args: `{}`},
		{name: "two", setup: append(append([]step{}, validated...), step{"declare_table", eventsTable}),
			tool: "list_pipelines", args: `{}`},
		{name: "extra_argument", tool: "list_pipelines", args: `{"verbose":true}`},

		// show_pipeline
		{name: "ok", setup: append(append(append([]step{}, validated...), step{"declare_table", eventsTable}), step{"declare_flow", webFlow}),
			tool: "show_pipeline", args: `{"pipeline":"sales"}`},
		{name: "streaming", setup: []step{{"declare_table", eventsTable}, {"declare_flow", webFlow}},
			tool: "show_pipeline", args: `{"pipeline":"events"}`},
		{name: "unknown", setup: salesSetup, tool: "show_pipeline", args: `{"pipeline":"salez"}`},

		// declare_table
		{name: "create", tool: "declare_table", args: ordersClean},
		{name: "replace", setup: salesSetup, tool: "declare_table",
			args: `{"pipeline":"sales","name":"customer_totals","kind":"temporary_view","query":"SELECT customer_id FROM orders_clean"}`},
		{name: "missing_upstream", tool: "declare_table",
			args: `{"pipeline":"sales","name":"totals","kind":"materialized_view","query":"SELECT * FROM orders_clean"}`},
		{name: "streaming_without_query", tool: "declare_table", args: eventsTable},
		{name: "schema_problems", tool: "declare_table", args: `{"pipeline":"Sales-2024","name":"orders","kind":"table",
			"query":"SELECT 1","partition_by":"day","expectations":[{"name":"ok","condition":"x > 0","on_violation":"ignore"},{"name":"x"}],
			"catalog":"main","tabel_properties":{}}`},
		{name: "domain_problems", tool: "declare_table", args: `{"pipeline":"sales","name":"v","kind":"temporary_view",
			"partition_by":["day"],"table_properties":{"comment":"x"}}`},
		{name: "guard_rejects", tool: "declare_table", args: `{"pipeline":"sales","name":"evil","kind":"materialized_view",
			"query":"SELECT reflect('java.lang.Runtime','getRuntime') AS x","expectations":[{"name":"e","condition":"reflect('a','b') = 1","on_violation":"warn"}]}`},
		{name: "not_an_object", tool: "declare_table", args: `["sales"]`},
		{name: "wrong_types", tool: "declare_table", args: `{"pipeline":7,"name":"x","kind":"materialized_view","query":["SELECT 1"],"table_properties":{"a b":"1"}}`},

		// declare_flow
		{name: "create", setup: []step{{"declare_table", eventsTable}}, tool: "declare_flow", args: webFlow},
		{name: "unknown_target", setup: salesSetup, tool: "declare_flow",
			args: `{"pipeline":"sales","name":"more_orders","target":"orders_stream","query":"SELECT * FROM STREAM(spark_catalog.raw.orders)"}`},
		{name: "no_pipeline", tool: "declare_flow", args: webFlow},
		{name: "missing_query", tool: "declare_flow", args: `{"pipeline":"events","name":"f","target":"events"}`},

		// remove_dataset
		{name: "ok", setup: salesSetup, tool: "remove_dataset", args: `{"pipeline":"sales","name":"customer_totals"}`},
		{name: "still_read", setup: salesSetup, tool: "remove_dataset", args: `{"pipeline":"sales","name":"orders_clean"}`},
		{name: "unknown", setup: salesSetup, tool: "remove_dataset", args: `{"pipeline":"sales","name":"nope"}`},

		// preview
		{name: "dataset", setup: salesSetup, tool: "preview", args: `{"pipeline":"sales","dataset":"customer_totals"}`},
		{name: "query_truncated", tool: "preview", args: `{"pipeline":"scratch","query":"SELECT * FROM spark_catalog.raw.orders","limit":2}`},
		{name: "both", setup: salesSetup, tool: "preview", args: `{"pipeline":"sales","dataset":"customer_totals","query":"SELECT 1"}`},
		{name: "neither", tool: "preview", args: `{"pipeline":"sales"}`},
		{name: "limit_too_high", tool: "preview", args: `{"pipeline":"sales","dataset":"x","limit":5000}`},
		{name: "limit_not_a_number", tool: "preview", args: `{"pipeline":"sales","dataset":"x","limit":"10"}`},
		{name: "unknown_dataset", setup: salesSetup, tool: "preview", args: `{"pipeline":"sales","dataset":"totals"}`},
		{name: "analysis_error", tool: "preview", args: `{"pipeline":"scratch","query":"SELECT missing_col FROM spark_catalog.raw.orders"}`},
		{name: "guard_rejects", tool: "preview", args: `{"pipeline":"scratch","query":"SELECT reflect('a','b')"}`},

		// validate
		{name: "ok", setup: salesSetup, tool: "validate", args: `{"pipeline":"sales"}`},
		{name: "problems", setup: append(append([]step{}, salesSetup...), step{"declare_table", brokenTotal}),
			tool: "validate", args: `{"pipeline":"sales"}`},
		{name: "unknown_pipeline", tool: "validate", args: `{"pipeline":"sales"}`},

		// run
		{name: "ok", setup: salesSetup, tool: "run", args: `{"pipeline":"sales"}`},
		{name: "selection", setup: salesSetup, tool: "run", args: `{"pipeline":"sales","refresh":["orders_clean"],"full_refresh":["customer_totals"]}`},
		{name: "failed", setup: append(append([]step{}, salesSetup...), step{"declare_table", divByZero}),
			tool: "run", args: `{"pipeline":"sales"}`},
		{name: "bad_selection", setup: salesSetup, tool: "run",
			args: `{"pipeline":"sales","refresh":["orders_clean","nope"],"full_refresh":["orders_clean"],"full_refresh_all":true}`},
		{name: "duplicate_selection", setup: salesSetup, tool: "run", args: `{"pipeline":"sales","refresh":["a","a"]}`},

		// promote
		{name: "ok", opts: prod, setup: validated, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "never_validated", opts: prod, setup: salesSetup, tool: "promote",
			args: `{"pipeline":"sales","pipeline_hash":"$DRAFT"}`},
		{name: "unknown_hash", opts: prod, setup: validated, tool: "promote",
			args: `{"pipeline":"sales","pipeline_hash":"` + strings.Repeat("a", 64) + `"}`},
		{name: "changed_since_validation", opts: prod,
			setup: append(append([]step{}, validated...), step{"declare_table", eventsTable}, step{"declare_table", `{"pipeline":"sales","name":"extra","kind":"materialized_view","query":"SELECT 1 AS one"}`}),
			tool:  "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "failed_validation", opts: prod,
			setup: append(append([]step{}, salesSetup...), step{"declare_table", brokenTotal}, step{"validate", `{"pipeline":"sales"}`}),
			tool:  "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "bad_hash", opts: prod, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"latest"}`},
		{name: "no_production", setup: validated, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "parity_refused", opts: prod42, setup: validated, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "changed", opts: changed, setup: validated, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "in_place_type_change", opts: inPlace, setup: validated, tool: "promote", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},

		// plan_promotion
		{name: "first", opts: prod, setup: validated, tool: "plan_promotion", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "changed", opts: changed, setup: validated, tool: "plan_promotion", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "protected_full_refresh", opts: protected, setup: validated, tool: "plan_promotion",
			args: `{"pipeline":"sales","pipeline_hash":"$HASH","full_refresh":["orders_clean"]}`},
		{name: "parity", opts: prod42, setup: validated, tool: "plan_promotion", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
		{name: "never_validated", opts: prod, setup: salesSetup, tool: "plan_promotion", args: `{"pipeline":"sales","pipeline_hash":"$DRAFT"}`},
		{name: "no_production", setup: validated, tool: "plan_promotion", args: `{"pipeline":"sales","pipeline_hash":"$HASH"}`},
	}
}

func TestGoldenCalls(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range goldenCases() {
		file := filepath.Join("testdata", "golden", tc.tool, tc.name+".json")
		if seen[file] {
			t.Fatalf("duplicate golden case %s", file)
		}
		seen[file] = true
		t.Run(tc.tool+"/"+tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			args := runSetup(h, tc)
			res, err := h.call(tc.tool, args)
			checkGolden(t, file, view(t, tc.tool, args, res, err))
		})
	}
}

// TestEveryToolHasGoodAndBadGoldens keeps the golden set complete.
func TestEveryToolHasGoodAndBadGoldens(t *testing.T) {
	h := newHarness(t, harnessOpts{production: true})
	all, err := h.handler.All()
	if err != nil {
		t.Fatal(err)
	}
	good, bad := map[string]bool{}, map[string]bool{}
	for _, tc := range goldenCases() {
		hh := newHarness(t, tc.opts)
		res, err := hh.call(tc.tool, runSetup(hh, tc))
		if err == nil && !res.IsError {
			good[tc.tool] = true
		} else {
			bad[tc.tool] = true
		}
	}
	for _, tool := range all {
		if !good[tool.Tool.Name] || !bad[tool.Tool.Name] {
			t.Errorf("%s: golden cases cover good=%v bad=%v; add the missing kind", tool.Tool.Name, good[tool.Tool.Name], bad[tool.Tool.Name])
		}
	}
}
