//go:build integration

package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// TestBatchedAnalysisMatchesPartsAlone validates one pipeline twice, with
// fresh engines: once with every part analysed alone and once batched. The
// answers — columns (types and nullability), problems with their fields
// and fixes, plan-check refusals — must be the same, and the batched
// validation must have sent far fewer analysis requests.
func TestBatchedAnalysisMatchesPartsAlone(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	s := e.src
	e.exec("CREATE TABLE "+s+".base (id INT NOT NULL, v INT, s STRING, d DECIMAL(10,2)) USING parquet",
		"INSERT INTO "+s+".base VALUES (1, 0, 'a', 1.50)",
		"CREATE TABLE "+s+".dims (k INT, label STRING) USING parquet",
		"CREATE VIEW "+s+".base_view AS SELECT id, v FROM "+s+".base")
	mv := func(name, q string, ex ...pipeline.Expectation) pipeline.Dataset {
		return pipeline.Dataset{Name: name, Kind: pipeline.MaterializedView, Query: q, Expectations: ex}
	}
	ds := []pipeline.Dataset{
		mv("plain", "SELECT * FROM "+s+".base"),
		mv("joined", "SELECT b.id, d.label, b.d * 2 AS dd FROM "+s+".base b LEFT JOIN "+s+".dims d ON b.v = d.k"),
		mv("agg", "SELECT s, count(*) AS n, sum(v) AS total, max(d) AS top FROM "+s+".base GROUP BY s"),
		mv("windowed", "SELECT id, row_number() OVER (PARTITION BY s ORDER BY id) AS rn FROM "+s+".base"),
		mv("nested", "SELECT id, named_struct('a', v, 'b', s) AS st, array(v, id) AS arr, map(s, v) AS m FROM "+s+".base"),
		mv("literals", "SELECT 1 AS one, 'x' AS x, CAST(NULL AS STRING) AS nothing, current_date() AS today"),
		mv("subq", "SELECT id, (SELECT max(k) FROM "+s+".dims) AS top_k FROM "+s+".base WHERE v IN (SELECT k FROM "+s+".dims)"),
		mv("with_cte", "WITH t AS (SELECT id, v FROM "+s+".base) SELECT t.id, t.v + 1 AS v1 FROM t"),
		mv("via_view", "SELECT id FROM "+s+".base_view"),
		mv("checked", "SELECT id, v FROM "+s+".base", pipeline.Expectation{Name: "pos", Condition: "v >= 0", OnViolation: pipeline.Warn}),
		mv("bad_check", "SELECT id, v FROM "+s+".base", pipeline.Expectation{Name: "typo", Condition: "vv >= 0", OnViolation: pipeline.Drop}),
		mv("bad_column", "SELECT id, nosuch FROM "+s+".base"),
		mv("missing_table", "SELECT * FROM "+s+".nosuch"),
		mv("dup_names", "SELECT id, id FROM "+s+".base"),
		// Spark 4.3 cannot analyse a batch holding an unused WITH query
		// (an INTERNAL_ERROR): its batch is analysed apart.
		mv("unused_cte", "WITH x AS (SELECT * FROM "+s+".dims) SELECT id FROM "+s+".base"),
		// Level 1 and 2: reading the parts above, also the failed ones.
		mv("up_plain", "SELECT id, v * 2 AS v2, d FROM plain"),
		mv("up_join", "SELECT p.id, a.n FROM plain p JOIN agg a ON p.s = a.s"),
		mv("up_nested", "SELECT st.a, arr[0] AS first, m FROM nested"),
		mv("up_literals", "SELECT one + 1 AS two, nothing FROM literals"),
		mv("up_bad", "SELECT * FROM bad_column"),
		mv("up_up", "SELECT count(*) AS c FROM up_plain"),
		{Name: "feed", Kind: pipeline.StreamingTable},
	}
	for i := range 12 {
		ds = append(ds, mv(fmt.Sprintf("w%02d", i), fmt.Sprintf("SELECT id, v + %d AS v FROM plain UNION ALL SELECT id, v FROM windowed JOIN plain USING (id)", i)))
	}
	p := pipe(t, "batched", ds,
		pipeline.Flow{Name: "feed_a", Target: "feed", Query: "SELECT id, v FROM STREAM(" + s + ".base)"},
		pipeline.Flow{Name: "feed_b", Target: "feed", Query: "SELECT id, CAST(NULL AS INT) AS v FROM STREAM(" + s + ".base)"})

	validate := func(p *pipeline.Pipeline, batch int) (*ValidationResult, int64) {
		t.Helper()
		eng := e.engine(Config{})
		eng.batch = batch
		t0 := time.Now()
		v, err := eng.Validate(e.ctx, p)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		t.Logf("batch %d: %s, %d analysis requests, checks %+v", batch, time.Since(t0), eng.analyzeCalls.Load(), v.Checks)
		return v, eng.analyzeCalls.Load()
	}
	alone, _ := validate(p, 1)
	batched, _ := validate(p, analysisBatch)

	norm := func(v *ValidationResult) *ValidationResult {
		c := *v
		c.Checks = nil
		c.Problems = slices.Clone(v.Problems)
		slices.SortFunc(c.Problems, func(a, b pipeline.Problem) int {
			return strings.Compare(a.Name+a.Field+a.Message, b.Name+b.Field+b.Message)
		})
		return &c
	}
	if d := cmp.Diff(norm(alone), norm(batched)); d != "" {
		t.Errorf("batched analysis differs from parts analysed alone (-alone +batched):\n%s", d)
	}
	// The answers are the expected ones, not just equal.
	for _, name := range []string{"bad_column", "missing_table", "bad_check"} {
		if len(problemsOn(batched.Problems, name)) == 0 {
			t.Errorf("no problem about %s: %s", name, problemsText(batched.Problems))
		}
	}
	if ps := problemsOn(batched.Problems, "bad_check"); len(ps) != 1 || ps[0].Field != "expectations[0].condition" {
		t.Errorf("problem about bad_check: %s", problemsText(ps))
	}
	for _, d := range batched.Datasets {
		if d.Name == "plain" {
			if len(d.Columns) != 4 || !d.Columns[1].Nullable || d.Columns[3].Type != "decimal(10,2)" {
				t.Errorf("columns of plain: %v", d.Columns)
			}
		}
		if d.Name == "literals" && (len(d.Columns) != 4 || d.Columns[0].Nullable || !d.Columns[2].Nullable) {
			t.Errorf("columns of literals: %+v", d.Columns)
		}
	}

	// Without failures to isolate, batches answer for many parts at once.
	clean := p.Clone()
	for _, name := range []string{"up_bad", "bad_check", "bad_column", "missing_table"} {
		if err := clean.RemoveDataset(name); err != nil {
			t.Fatal(err)
		}
	}
	v, aloneCalls := validate(clean, 1)
	if !v.OK {
		t.Fatalf("the pipeline without its broken datasets: %s", problemsText(v.Problems))
	}
	_, batchedCalls := validate(clean, analysisBatch)
	if batchedCalls*2 > aloneCalls {
		t.Errorf("batched analysis sent %d requests, parts alone %d: want at most half", batchedCalls, aloneCalls)
	}
}
