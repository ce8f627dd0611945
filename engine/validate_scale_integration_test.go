//go:build integration

package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// chain declares n materialized views, each reading the one before; the
// first reads src.
func chain(t *testing.T, name, src string, n int) *pipeline.Pipeline {
	ds := []pipeline.Dataset{{Name: "d0", Kind: pipeline.MaterializedView, Query: "SELECT id, v FROM " + src}}
	for i := 1; i < n; i++ {
		ds = append(ds, pipeline.Dataset{Name: fmt.Sprintf("d%d", i), Kind: pipeline.MaterializedView,
			Query: fmt.Sprintf("SELECT id, v + 1 AS v FROM d%d", i-1)})
	}
	return pipe(t, name, ds)
}

// TestDeepChain validates a 100-deep chain and previews its last link:
// analysis resolves each link against the one before's columns, so depth
// costs nothing per link.
func TestDeepChain(t *testing.T) {
	e := newEnv(t, 8*time.Minute)
	e.exec("CREATE TABLE "+e.src+".base (id INT, v INT) USING parquet",
		"INSERT INTO "+e.src+".base VALUES (1, 0), (2, 10)")
	p := chain(t, "deep", e.src+".base", 100)
	t0 := time.Now()
	v, err := e.eng.Validate(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validate 100-deep chain: %s, checks %+v", time.Since(t0), v.Checks)
	if !v.OK {
		t.Fatalf("validate: %s", problemsText(v.Problems))
	}
	last := v.Datasets[len(v.Datasets)-1]
	if last.Name != "d99" || len(last.Columns) != 2 || last.Columns[1].Type != "int" {
		t.Errorf("columns of %s: %+v", last.Name, last.Columns)
	}
	t0 = time.Now()
	res, err := e.eng.Preview(e.ctx, p, PreviewRequest{Dataset: "d99"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preview d99: %s", time.Since(t0))
	rows := fmt.Sprint(res.Rows)
	if got := rows; got != "[[1 99] [2 109]]" && got != "[[2 109] [1 99]]" {
		t.Errorf("preview d99 rows: %s", got)
	}
}

// TestIncrementalValidation checks what a validation reuses, and that
// cached facts never outlive a change they depend on: a dataset's body,
// an upstream's columns, a source table's schema, the policy, the engine.
func TestIncrementalValidation(t *testing.T) {
	e := newEnv(t, 8*time.Minute)
	e.exec("CREATE TABLE "+e.src+".base (id INT, v INT) USING parquet",
		"INSERT INTO "+e.src+".base VALUES (1, 0)")
	p := pipe(t, "incr", []pipeline.Dataset{
		{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT * FROM " + e.src + ".base"},
		{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT * FROM a"},
		{Name: "c", Kind: pipeline.MaterializedView, Query: "SELECT id FROM b"},
		{Name: "side", Kind: pipeline.MaterializedView, Query: "SELECT 1 AS one"},
	})
	validate := func(step string, analyzed int, dryRun string) *ValidationResult {
		t.Helper()
		t0 := time.Now()
		v, err := e.eng.Validate(e.ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s: %s, checks %+v", step, time.Since(t0), v.Checks)
		if !v.OK {
			t.Fatalf("%s: %s", step, problemsText(v.Problems))
		}
		if v.Checks.Analyzed != analyzed || v.Checks.Analyzed+v.Checks.Reused != 4 || v.Checks.DryRun != dryRun {
			t.Errorf("%s: checks %+v, want %d analysed and dry-run %s", step, v.Checks, analyzed, dryRun)
		}
		return v
	}
	columnsOf := func(v *ValidationResult, name string) string {
		for _, d := range v.Datasets {
			if d.Name == name {
				var out []string
				for _, c := range d.Columns {
					out = append(out, c.Name+" "+c.Type)
				}
				return strings.Join(out, ", ")
			}
		}
		return ""
	}
	validate("cold", 4, dryRunFull)
	validate("unchanged", 0, dryRunReused)

	// A body that changes but keeps its columns: only it is analysed.
	if _, err := p.PutDataset(pipeline.Dataset{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT * FROM a WHERE id > 0"}); err != nil {
		t.Fatal(err)
	}
	validate("body changed", 1, dryRunPartial)
	// Before a release the whole graph is dry-run, once per draft.
	for _, want := range []string{dryRunFull, dryRunReused} {
		v, err := e.eng.ValidateFull(e.ctx, p)
		if err != nil || !v.OK || v.Checks.DryRun != want || v.Checks.Analyzed != 0 {
			t.Fatalf("ValidateFull after a partial validation: %v, %+v, want dry-run %s and nothing analysed", err, v, want)
		}
	}

	// An upstream whose columns change: it and what reads it.
	if _, err := p.PutDataset(pipeline.Dataset{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT id, v, v * 2 AS w FROM " + e.src + ".base"}); err != nil {
		t.Fatal(err)
	}
	v := validate("upstream columns changed", 3, dryRunPartial)
	if got := columnsOf(v, "b"); got != "id int, v int, w int" {
		t.Errorf("columns of b: %s", got)
	}

	// A source table's schema: what reads it, and downstream.
	e.exec("ALTER TABLE " + e.src + ".base ADD COLUMNS (extra STRING)")
	if _, err := p.PutDataset(pipeline.Dataset{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT * FROM " + e.src + ".base"}); err != nil {
		t.Fatal(err)
	}
	validate("source query back to *", 3, dryRunPartial)
	e.exec("ALTER TABLE " + e.src + ".base ADD COLUMNS (more DOUBLE)")
	v = validate("source schema changed", 3, dryRunPartial)
	if got := columnsOf(v, "b"); got != "id int, v int, extra string, more double" {
		t.Errorf("columns of b after the source changed: %s", got)
	}
	validate("unchanged again", 0, dryRunReused)

	// The policy (the allowed sources): nothing is reused.
	e.eng.sources, _ = parseSources([]string{"spark_catalog." + e.src + ".*", "spark_catalog.nothing_else.*"})
	validate("policy changed", 4, dryRunFull)

	// The engine (a new Spark session): nothing is reused.
	c, err := e.eng.session(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.replace(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	validate("engine changed", 4, dryRunFull)
}

// TestAnalyzerLimitIsAProblem: a body nested beyond what Spark's analyzer
// resolves is a problem on its dataset, with the Spark message and a hint,
// not an engine failure.
func TestAnalyzerLimitIsAProblem(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	var b strings.Builder
	b.WriteString("WITH c0 AS (SELECT 1 AS x)")
	const depth = 150
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, ", c%d AS (SELECT x + 1 AS x FROM c%d)", i, i-1)
	}
	fmt.Fprintf(&b, " SELECT x FROM c%d", depth)
	p := pipe(t, "nested", []pipeline.Dataset{
		{Name: "fine", Kind: pipeline.MaterializedView, Query: "SELECT 1 AS one"},
		{Name: "deep", Kind: pipeline.MaterializedView, Query: b.String()},
	})
	v, err := e.eng.Validate(e.ctx, p)
	if err != nil {
		t.Fatalf("validate: %v (want a problem on the dataset)", err)
	}
	t.Logf("problems: %s", problemsText(v.Problems))
	got := problemsOn(v.Problems, "deep")
	if v.OK || len(got) == 0 || !strings.Contains(got[0].Message, "Max iterations") || !strings.Contains(got[0].Fix, "split") {
		t.Errorf("problems about deep: %s", problemsText(got))
	}
	if len(problemsOn(v.Problems, "fine")) > 0 {
		t.Errorf("problems about fine: %s", problemsText(v.Problems))
	}
}
