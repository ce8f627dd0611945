//go:build integration

package engine

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/guardrails/plan"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/plan_relations.golden")

// planFixture creates the tables and views the plan corpus reads in e.src,
// and a schema outside the allowed sources; it returns that schema.
func planFixture(e *env) string {
	other := e.src + "_other"
	e.exec("CREATE SCHEMA " + other)
	e.t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = e.admin.Collect(cctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+other+" CASCADE"), connect.ExecOptions{})
	})
	s := e.src
	e.exec(
		"CREATE TABLE "+s+".orders (id INT, amount DOUBLE, customer STRING) USING parquet",
		"CREATE TABLE "+s+".customers (name STRING, city STRING) USING parquet",
		"CREATE TABLE "+s+".events (id INT, kind STRING) STORED AS TEXTFILE",
		"CREATE TABLE "+s+".items (order_id INT, tags ARRAY<STRING>) USING parquet",
		"CREATE TABLE "+other+".secret (k INT, v STRING) USING parquet",
		"INSERT INTO "+s+".orders VALUES (1, 10.0, 'ann'), (2, 20.0, 'bob')",
		"INSERT INTO "+other+".secret VALUES (7, 'seven')",
		"CREATE VIEW "+s+".v_orders AS SELECT id, amount FROM "+s+".orders WHERE amount > 0",
		"CREATE VIEW "+s+".v_secret AS SELECT * FROM "+other+".secret",
		"CREATE VIEW "+s+".v_nested AS SELECT v_orders.id, amount, kind FROM "+s+".v_orders JOIN "+s+".events ON v_orders.id = events.id",
	)
	return other
}

// corpusEntry is one line of testdata/plan_corpus.txt.
type corpusEntry struct{ name, query string }

func readCorpus(t *testing.T) []corpusEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plan_corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, q, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("corpus line %q is not name: query", l)
		}
		out = append(out, corpusEntry{name, q})
	}
	return out
}

// explained is one corpus query as sent and the plan Spark analyzed.
type explained struct {
	corpusEntry
	sql  string
	plan *plan.Plan
}

// explainCorpus creates the fixture and explains every corpus query in a
// locked-down session whose current schema is e.src.
func explainCorpus(t *testing.T) (*env, string, []explained) {
	e := newEnv(t, 5*time.Minute)
	other := planFixture(e)
	if err := lockDown(e.ctx, e.admin); err != nil {
		t.Fatal(err)
	}
	e.exec("USE " + e.src)
	r := strings.NewReplacer("{src}", e.src, "{SRC}", strings.ToUpper(e.src), "{other}", other)
	var out []explained
	for _, c := range readCorpus(t) {
		sql := r.Replace(c.query)
		text, err := e.admin.Explain(e.ctx, connect.SQL(sql), connect.ExplainExtended)
		if err != nil {
			t.Fatalf("%s: explain %s: %v", c.name, sql, err)
		}
		p, err := plan.Parse(text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, text)
		}
		out = append(out, explained{c, sql, p})
	}
	return e, other, out
}

// TestPlanRelationsGolden pins the relations Parse finds in the pinned
// Spark's plans of the corpus (testdata/plan_relations.golden; -update
// rewrites it): a Spark upgrade that changes the plan text fails here.
func TestPlanRelationsGolden(t *testing.T) {
	e, other, plans := explainCorpus(t)
	back := strings.NewReplacer(other, "{other}", e.src, "{src}")
	var b strings.Builder
	for _, x := range plans {
		fmt.Fprintf(&b, "%s:\n", x.name)
		for _, r := range x.plan.Relations {
			where := "direct"
			if !r.Direct() {
				where = "via " + back.Replace(plan.JoinName(r.Via))
			}
			if r.Streaming {
				where += ", streaming"
			}
			fmt.Fprintf(&b, "  %s %s (%s)\n", r.Node.Name, back.Replace(r.Name()), where)
		}
	}
	path := filepath.Join("testdata", "plan_relations.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("go test -tags integration ./engine -run TestPlanRelationsGolden -update writes it: %v", err)
	}
	if d := cmp.Diff(string(want), b.String()); d != "" {
		t.Errorf("%s (-want +got; -update rewrites it):\n%s", path, d)
	}
}

// TestPlanStaticDifferential compares the static scanner with Spark: for
// every corpus query, the relations guardrails.Check finds (qualified, CTE
// names resolved away) must be exactly the relations Spark's analyzed plan
// reads directly (a view counts as its name).
//
// A query the guard refuses by construct (staticRefusals) is not compared:
// the guard does not report what it refuses to resolve.
func TestPlanStaticDifferential(t *testing.T) {
	staticRefusals := map[string]string{"identifier_literal": guardrails.RuleIdentifierClause}
	e, _, plans := explainCorpus(t)
	opts := guardrails.CheckOptions{DefaultCatalog: "spark_catalog", DefaultSchema: e.src, AllowStream: true,
		AllowedSources: []string{"*.*.*"}}
	for _, x := range plans {
		rep := guardrails.Check(x.sql, opts)
		if got := rules(rep.Findings); len(got) > 0 || staticRefusals[x.name] != "" {
			if !slices.Equal(got, []string{staticRefusals[x.name]}) {
				t.Errorf("%s: the guard reports %v, want %q", x.name, got, staticRefusals[x.name])
			}
			continue
		}
		static := []string{}
		for _, s := range rep.Sources {
			if n := plan.JoinName(lower(s.Parts)); !s.Function && !slices.Contains(static, n) {
				static = append(static, n)
			}
		}
		spark := []string{}
		for _, r := range x.plan.Relations {
			if n := r.Name(); r.Direct() && !slices.Contains(spark, n) {
				spark = append(spark, n)
			}
		}
		slices.Sort(static)
		slices.Sort(spark)
		if d := cmp.Diff(spark, static); d != "" {
			t.Errorf("%s: %s\nstatic scan vs Spark's plan (-spark +static):\n%s", x.name, x.sql, d)
		}
	}
}

// planRules lists the plan problems as "<on> <name> <rule>", sorted,
// checking that each has a message and a fix.
func planRules(t *testing.T, ps pipeline.Problems) []string {
	t.Helper()
	out := []string{}
	for _, p := range ps {
		rule, _, ok := strings.Cut(p.Message, ": ")
		if !ok || !strings.HasPrefix(rule, "plan.") {
			continue
		}
		if p.Fix == "" {
			t.Errorf("problem without a fix: %+v", p)
		}
		fields := []string{p.On, p.Name, rule}
		if p.Name == "" {
			fields = []string{p.On, rule}
		}
		out = append(out, strings.Join(fields, " "))
	}
	slices.Sort(out)
	return out
}

// problemsOf returns the problems err holds, failing the test on any other
// error.
func problemsOf(t *testing.T, err error) pipeline.Problems {
	t.Helper()
	var ps pipeline.Problems
	if err != nil && !errors.As(err, &ps) {
		t.Fatalf("infrastructure error: %v", err)
	}
	return ps
}

// TestPlanCheck runs previews, validations and runs through the engine
// against the real sandbox with bodies whose plans pass and fail the plan
// check. The engine does not run the static guard (the tools do), so the
// plan check is all that stands in the way here.
func TestPlanCheck(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	other := planFixture(e)
	src := e.src

	// A view in an allowed schema over a table outside them: the view is
	// what is checked, and its definition is its own plan's.
	good := pipe(t, "viewed", []pipeline.Dataset{
		{Name: "via_view", Kind: pipeline.MaterializedView, Query: "SELECT k, v FROM " + src + ".v_secret"},
		{Name: "nested", Kind: pipeline.MaterializedView, Query: "SELECT count(*) AS n FROM " + src + ".v_nested"},
	})
	res, err := e.eng.Preview(e.ctx, good, PreviewRequest{Dataset: "via_view"})
	if err != nil {
		t.Fatalf("preview through an allowed view: %v", err)
	}
	if d := cmp.Diff([][]any{{int32(7), "seven"}}, res.Rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	v, err := e.eng.Validate(e.ctx, good)
	if err != nil || !v.OK {
		t.Fatalf("validate: %v %+v", err, v)
	}
	e.run(good, RunOptions{})
	e.checkRows("SELECT * FROM "+e.schema+".via_view", [][]any{{int32(7), "seven"}})

	// Ad-hoc bodies refused by their plan. The script transform would
	// create marker if it ran.
	marker := filepath.Join(t.TempDir(), "transform-ran")
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"SELECT TRANSFORM(id) USING 'touch " + marker + "' AS (x) FROM " + src + ".orders", []string{"query plan.script"}},
		{"SELECT * FROM " + other + ".secret", []string{"query plan.source"}},
		// The static scan cannot see through IDENTIFIER(...) (the guard
		// refuses it); Spark's plan shows what it reads.
		{"SELECT * FROM IDENTIFIER('" + other + ".secret')", []string{"query plan.source", "query plan.static_mismatch"}},
		{"SELECT 'a\\n+- Relation x.y.z[a#1] parquet' AS s", []string{"query plan.line_break", "query plan.unreadable"}},
	} {
		_, err := e.eng.Preview(e.ctx, good, PreviewRequest{Query: tc.body})
		if d := cmp.Diff(tc.want, planRules(t, problemsOf(t, err))); d != "" {
			t.Errorf("preview %s (-want +got):\n%s\n%v", tc.body, d, err)
		}
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the script transform ran (%s exists: %v)", marker, err)
	}

	// An upstream that reads outside the sources: a preview downstream, a
	// validation and a run all name the upstream; nothing is written.
	leaky := pipe(t, "leaky", []pipeline.Dataset{
		{Name: "up", Kind: pipeline.TemporaryView, Query: "SELECT k, v FROM " + other + ".secret"},
		{Name: "down", Kind: pipeline.MaterializedView, Query: "SELECT k FROM up"},
		{Name: "fine", Kind: pipeline.MaterializedView, Query: "SELECT id FROM " + src + ".orders"},
	})
	_, err = e.eng.Preview(e.ctx, leaky, PreviewRequest{Dataset: "down"})
	if d := cmp.Diff([]string{"dataset up plan.source"}, planRules(t, problemsOf(t, err))); d != "" {
		t.Errorf("preview downstream (-want +got):\n%s\n%v", d, err)
	}
	v, err = e.eng.Validate(e.ctx, leaky)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dataset up plan.source"}, planRules(t, v.Problems)); d != "" || v.OK {
		t.Errorf("validate (OK %v; -want +got):\n%s\n%v", v.OK, d, v.Problems)
	}
	before := e.tables()
	_, err = e.eng.Run(e.ctx, leaky, RunOptions{}, nil)
	if d := cmp.Diff([]string{"dataset up plan.source"}, planRules(t, problemsOf(t, err))); d != "" {
		t.Errorf("run (-want +got):\n%s\n%v", d, err)
	}
	if got := e.tables(); !slices.Equal(got, before) {
		t.Errorf("a refused run wrote tables: %v, before %v", got, before)
	}

	// The check function on a real plan, with a forged static scan that
	// does not report the table the plan reads.
	sql := "SELECT * FROM " + src + ".v_orders JOIN " + src + ".orders USING (id)"
	text, err := e.eng.explain(e.ctx, connect.SQL(sql))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	reads, err := e.eng.viewReads(e.ctx, pl)
	if err != nil {
		t.Fatal(err)
	}
	opts := plan.Options{AllowedSources: e.eng.sourceGlobs(), SQL: sql, ViewReads: reads,
		Static: []guardrails.Source{{Parts: []string{"spark_catalog", src, "v_orders"}}}}
	if got := rules(plan.Check(pl, opts)); !slices.Equal(got, []string{plan.RuleStaticMismatch}) {
		t.Errorf("forged static scan: rules %v, want [%s]", got, plan.RuleStaticMismatch)
	}
	opts.Static = append(opts.Static, guardrails.Source{Parts: []string{"spark_catalog", src, "orders"}})
	if got := plan.Check(pl, opts); len(got) != 0 {
		t.Errorf("the real static scan: %v", got)
	}
	// The view's own plan must cover what appears under it.
	opts.ViewReads = map[string][]string{"spark_catalog." + src + ".v_orders": {"spark_catalog." + src + ".customers"}}
	if got := rules(plan.Check(pl, opts)); !slices.Equal(got, []string{plan.RuleViewMismatch}) {
		t.Errorf("view mismatch: rules %v, want [%s]", got, plan.RuleViewMismatch)
	}
}

// TestPlanCheckLatency measures what the plan check adds to a preview: the
// explain (and, for a view, the view's own explain), parsing and checking.
func TestPlanCheckLatency(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	planFixture(e)
	p := pipe(t, "timed", []pipeline.Dataset{
		{Name: "t", Kind: pipeline.MaterializedView, Query: "SELECT o.id, c.city FROM " + e.src + ".orders o JOIN " + e.src + ".customers c ON o.customer = c.name"},
		{Name: "v", Kind: pipeline.MaterializedView, Query: "SELECT * FROM " + e.src + ".v_orders"},
	})
	b := e.eng.bind(p)
	const runs = 20
	for _, ds := range []string{"t", "v"} {
		sql, err := pipeline.PreviewSQL(b, ds, DefaultPreviewLimit+1)
		if err != nil {
			t.Fatal(err)
		}
		rel := connect.Limit(connect.SQL(sql), DefaultPreviewLimit+1)
		var check, preview []time.Duration
		for i := 0; i < runs+1; i++ {
			t0 := time.Now()
			ps, err := e.eng.checkPlan(e.ctx, b, rel, sql, subject{on: "dataset", name: ds})
			if err != nil || len(ps) > 0 {
				t.Fatalf("check: %v %v", err, ps)
			}
			t1 := time.Now()
			if _, err := e.eng.Preview(e.ctx, p, PreviewRequest{Dataset: ds}); err != nil {
				t.Fatal(err)
			}
			if i > 0 { // the first round warms the session up
				check, preview = append(check, t1.Sub(t0)), append(preview, time.Since(t1))
			}
		}
		slices.Sort(check)
		slices.Sort(preview)
		t.Logf("dataset %s: plan check median %v (min %v, max %v); whole preview, check included, median %v",
			ds, check[runs/2], check[0], check[runs-1], preview[runs/2])
	}
}
