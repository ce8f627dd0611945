package plan

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/guardrails"
)

var update = flag.Bool("update", false, "rewrite testdata: the golden summaries, and with -tags integration the captured plans")

// captureCase is one query whose extended explain testdata/plans/<name>.txt
// holds, captured from the pinned Spark by TestCapture (build tag
// integration, -update rewrites the files). The tables are created by
// TestCapture: see its setup for their definitions.
type captureCase struct{ name, query string }

// warehouseToken stands for the sandbox's warehouse directory in captured
// texts, which are otherwise as Spark printed them.
const warehouseToken = "/warehouse"

var captureCases = []captureCase{
	{"table", "SELECT * FROM plancap_src.orders"},
	{"qualified", "SELECT o.id FROM spark_catalog.plancap_src.orders AS o WHERE o.amount > 1"},
	{"backquoted", "SELECT * FROM `spark_catalog`.`plancap_src`.`orders`"},
	{"mixed_case", "SELECT * FROM PlanCap_Src.ORDERS"},
	{"hive_table", "SELECT * FROM plancap_src.hive_t"},
	{"parquet_wide", "SELECT * FROM plancap_src.wide"},
	{"view", "SELECT * FROM plancap_src.v_orders"},
	{"view_outside", "SELECT * FROM plancap_src.v_secret"},
	{"view_nested", "SELECT * FROM plancap_src.v_nested"},
	{"temp_view", "SELECT * FROM plancap_tv"},
	{"cte", "WITH big AS (SELECT * FROM plancap_src.orders WHERE amount > 100) SELECT * FROM big JOIN big b2 ON big.id = b2.id"},
	{"cte_shadow", "WITH orders AS (SELECT 1 AS id) SELECT * FROM orders"},
	{"cte_nested", "WITH a AS (SELECT 1 AS c), b AS (WITH a AS (SELECT * FROM plancap_src.hive_t) SELECT k AS c FROM a) SELECT * FROM a UNION ALL SELECT * FROM b"},
	{"cte_unused", "WITH x AS (SELECT * FROM plancap_other.secret) SELECT 1 AS one"},
	{"join", "SELECT * FROM plancap_src.orders o JOIN plancap_src.customers c ON o.customer = c.name"},
	{"subquery_in", "SELECT * FROM plancap_src.orders WHERE id IN (SELECT k FROM plancap_src.hive_t)"},
	{"subquery_exists", "SELECT * FROM plancap_src.orders o WHERE EXISTS (SELECT 1 FROM plancap_src.customers c WHERE c.name = o.customer)"},
	{"subquery_scalar", "SELECT (SELECT max(k) FROM plancap_src.hive_t) AS m, id FROM plancap_src.orders"},
	{"union", "SELECT id FROM plancap_src.orders UNION SELECT k FROM plancap_src.hive_t"},
	{"set_ops", "SELECT id FROM plancap_src.orders INTERSECT SELECT k FROM plancap_src.hive_t EXCEPT SELECT 1 ORDER BY id LIMIT 5"},
	{"values", "SELECT * FROM VALUES (1, 'a'), (2, 'b') AS t(x, y)"},
	{"values_expr", "SELECT * FROM VALUES (current_date()) AS t(d)"},
	{"range", "SELECT * FROM range(10)"},
	{"explode", "SELECT * FROM explode(array(1, 2, 3))"},
	{"lateral_view", "SELECT id, e FROM plancap_src.orders LATERAL VIEW explode(array(1, 2)) t AS e"},
	{"lateral_subquery", "SELECT * FROM plancap_src.orders o, LATERAL (SELECT o.id * 2 AS d)"},
	{"window", "SELECT id, row_number() OVER (PARTITION BY customer ORDER BY amount) AS rn FROM plancap_src.orders"},
	{"pivot", "SELECT * FROM (SELECT customer, amount FROM plancap_src.orders) PIVOT (sum(amount) FOR customer IN ('ann', 'bob'))"},
	{"pipe", "FROM plancap_src.orders |> WHERE id > 1 |> SELECT id"},
	{"stream", "SELECT * FROM STREAM(plancap_src.orders)"},
	{"stream_hive_alias", "SELECT * FROM STREAM plancap_src.hive_t AS s"},
	{"transform", "SELECT TRANSFORM(id) USING 'cat' AS (x) FROM plancap_src.orders"},
	{"no_from", "SELECT 1 AS one"},
	{"relation_v2", "SELECT * FROM plancap_jdbc.app.t1"},
	{"path", "SELECT * FROM parquet.`" + warehouseToken + "/plancap_src.db/orders`"},
	{"pivot_computed_name", "SELECT * FROM (SELECT customer, amount FROM plancap_src.orders) PIVOT (sum(amount) FOR customer IN (concat('a', char(10), 'b')))"},
	{"forged_line", "SELECT 'a\\n+- Relation spark_catalog.plancap_src.orders[id#1] parquet\\nb' AS s FROM plancap_other.secret"},
}

// testOptions is the policy the golden summaries are checked under:
// plancap_src is the allowed source schema, plancap_pipe the pipeline's,
// and the static scan is guardrails.Check on the case's query.
func testOptions(query string) Options {
	gopts := guardrails.CheckOptions{AllowedSources: []string{"spark_catalog.plancap_src.*"},
		DefaultCatalog: "spark_catalog", DefaultSchema: "plancap_pipe", Datasets: []string{"clean"}, AllowStream: true}
	return Options{
		AllowedSources: gopts.AllowedSources, Catalog: "spark_catalog", Schema: "plancap_pipe", Datasets: gopts.Datasets,
		Static: guardrails.Check(query, gopts).Sources,
		SQL:    query,
		ViewReads: map[string][]string{ // what each view's own plan reads (see view*.txt)
			"spark_catalog.plancap_src.v_orders": {"spark_catalog.plancap_src.v_orders", "spark_catalog.plancap_src.orders"},
			"spark_catalog.plancap_src.v_secret": {"spark_catalog.plancap_src.v_secret", "spark_catalog.plancap_other.secret"},
			"spark_catalog.plancap_src.v_nested": {"spark_catalog.plancap_src.v_nested", "spark_catalog.plancap_src.v_orders",
				"spark_catalog.plancap_src.orders", "spark_catalog.plancap_src.hive_t"},
		},
	}
}

// readCase reads testdata/plans/<name>.txt: "query: ..." and the explain
// text after a "---" line.
func readCase(t testing.TB, name string) (query, explain string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plans", name+".txt"))
	if err != nil {
		t.Fatalf("reading captured plan (go test -tags integration ./guardrails/plan -run TestCapture -update captures it): %v", err)
	}
	head, explain, ok := strings.Cut(string(b), "\n---\n")
	if !ok {
		t.Fatalf("%s.txt: no --- line", name)
	}
	for _, l := range strings.Split(head, "\n") {
		if q, ok := strings.CutPrefix(l, "query: "); ok {
			query = q
		}
	}
	return query, explain
}

// caseFile renders a captured case for testdata.
func caseFile(c captureCase, explain string) string {
	return fmt.Sprintf("# Captured from the pinned Spark by TestCapture; only the warehouse path is replaced by %s.\nquery: %s\n---\n%s", warehouseToken, c.query, explain)
}

// summary renders what Parse read, without the expression ids that change
// between captures: the operator tree, the relations and the leaves.
func summary(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema: %s\noperators:\n", p.Schema)
	depth := map[*Node]int{}
	for _, n := range p.Nodes {
		d := 0
		if n.Parent != nil {
			d = depth[n.Parent] + 1
		}
		depth[n] = d
		kind := ""
		if n.Parent != nil && contains(n.Parent.Subqueries, n) {
			kind = " (subquery)"
		}
		stream := ""
		if n.Streaming {
			stream = "~"
		}
		fmt.Fprintf(&b, "  %s%s%s%s\n", strings.Repeat("  ", d), stream, n.Name, kind)
	}
	b.WriteString("relations:\n")
	for _, r := range p.Relations {
		name := r.Name()
		if r.Parts == nil {
			name = "(no table name)"
		}
		where := "direct"
		if !r.Direct() {
			where = "via " + JoinName(r.Via)
		}
		if r.Streaming {
			where += ", streaming"
		}
		fmt.Fprintf(&b, "  %s %s (%s)\n", r.Node.Name, name, where)
	}
	return b.String()
}

func contains(ns []*Node, n *Node) bool {
	for _, m := range ns {
		if m == n {
			return true
		}
	}
	return false
}

// batchCase is a query of several capture cases side by side (BatchSQL),
// captured into testdata/plans/<name>.txt like the capture cases, with a
// "parts:" line naming the cases instead of the query.
type batchCase struct {
	name string
	of   []string // capture case names, in order
}

// A batch holding an unused WITH query ("cte_unused") is not captured:
// Spark 4.3 fails its analysis with an INTERNAL_ERROR (no CTERelationDef
// for a CTERelationRef), and the engine analyses such a batch's parts
// apart (engine.TestBatchedAnalysisMatchesPartsAlone).
var batchCases = []batchCase{
	{"batch_mixed", []string{"table", "cte_nested", "view_outside", "subquery_scalar", "stream", "transform", "join", "values", "lateral_subquery", "cte"}},
	{"batch_plain", []string{"table", "window"}},
}

// queries are the queries of the cases b is made of.
func (b batchCase) queries(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range b.of {
		i := slices.IndexFunc(captureCases, func(c captureCase) bool { return c.name == name })
		if i < 0 {
			t.Fatalf("batch case %s: no capture case %s", b.name, name)
		}
		out = append(out, captureCases[i].query)
	}
	return out
}

// batchFile renders a captured batch case for testdata.
func batchFile(b batchCase, explain string) string {
	return fmt.Sprintf("# Captured from the pinned Spark by TestCapture: the capture cases named below, side by side (BatchSQL).\nparts: %s\n---\n%s", strings.Join(b.of, " "), explain)
}
