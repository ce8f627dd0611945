//go:build integration

package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// previewProblem runs a preview that must fail with problems.
func previewProblem(t *testing.T, eng *Engine, e *env, p *pipeline.Pipeline, req PreviewRequest) pipeline.Problems {
	t.Helper()
	res, err := eng.Preview(e.ctx, p, req)
	var ps pipeline.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("preview %+v: %+v, %v; want problems", req, res, err)
	}
	t.Logf("preview %+v:%s", req, problemsText(ps))
	return ps
}

func TestPreview(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".orders (order_id INT, amount DOUBLE) USING parquet",
		"INSERT INTO "+e.src+".orders VALUES (1, 50.0), (2, 150.0), (3, NULL), (4, 300.0), (5, 120.0)")
	src := e.src + ".orders"
	p := pipe(t, "previews", []pipeline.Dataset{
		{Name: "orders_clean", Kind: pipeline.TemporaryView, Query: "SELECT order_id, amount FROM " + src + " WHERE amount IS NOT NULL"},
		{Name: "big", Kind: pipeline.MaterializedView, Query: "SELECT order_id, amount FROM orders_clean WHERE amount > 100",
			Expectations: []pipeline.Expectation{{Name: "not_300", Condition: "amount <> 300", OnViolation: pipeline.Drop}}},
		{Name: "orders_stream", Kind: pipeline.StreamingTable, Query: "SELECT order_id, amount * 2 AS doubled FROM STREAM(" + src + ")"},
		{Name: "typo", Kind: pipeline.MaterializedView, Query: "SELECT order_id, amont FROM " + src},
		{Name: "after_typo", Kind: pipeline.MaterializedView, Query: "SELECT * FROM typo"},
	})

	// A declared dataset, before any run: its upstream view is inlined and
	// its drop expectation applied.
	t0 := time.Now()
	res, err := e.eng.Preview(e.ctx, p, PreviewRequest{Dataset: "big"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preview of big took %v (engine says %v)", time.Since(t0), res.Elapsed)
	if d := cmp.Diff(&PreviewResult{
		Columns: []connect.Column{{Name: "order_id", Type: "int", Nullable: true}, {Name: "amount", Type: "double", Nullable: true}},
		Rows:    [][]any{{int32(2), 150.0}, {int32(5), 120.0}},
	}, res, cmpPreview, cmp.Transformer("sorted", sortRows)); d != "" {
		t.Errorf("preview of big (-want +got):\n%s", d)
	}

	// A streaming table's STREAM read is previewed as a batch read.
	res, err = e.eng.Preview(e.ctx, p, PreviewRequest{Dataset: "orders_stream", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 3 || !res.Truncated || len(res.Columns) != 2 || res.Columns[1].Name != "doubled" {
		t.Errorf("preview of orders_stream with limit 3: %+v, want 3 rows of 5, truncated", res)
	}

	// Truncated: only when more rows exist than the limit.
	for _, tc := range []struct {
		limit     int
		rows      int
		truncated bool
	}{{2, 2, true}, {4, 4, false}, {10, 4, false}} {
		res, err := e.eng.Preview(e.ctx, p, PreviewRequest{Dataset: "orders_clean", Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != tc.rows || res.Truncated != tc.truncated {
			t.Errorf("limit %d: %d rows, truncated %v; want %d, %v", tc.limit, len(res.Rows), res.Truncated, tc.rows, tc.truncated)
		}
	}

	// An ad-hoc query body over the declared datasets.
	res, err = e.eng.Preview(e.ctx, p, PreviewRequest{Query: "SELECT count(*) AS n, max(amount) AS top FROM big"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]any{{int64(2), 150.0}}, res.Rows); d != "" {
		t.Errorf("ad-hoc preview (-want +got):\n%s", d)
	}

	// The byte cap: over it, the preview is retried with fewer rows and
	// marked truncated; a single row over it is a problem.
	wide := "SELECT id, repeat('x', 10000) AS s FROM range(50)"
	res, err = e.eng.Preview(e.ctx, p, PreviewRequest{Query: wide, Limit: 50, MaxBytes: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capped preview: %d rows, truncated %v", len(res.Rows), res.Truncated)
	if len(res.Rows) == 0 || len(res.Rows) >= 10 || !res.Truncated {
		t.Errorf("capped preview: %d rows, truncated %v; want a few rows, truncated", len(res.Rows), res.Truncated)
	}
	ps := previewProblem(t, e.eng, e, p, PreviewRequest{Query: wide, Limit: 5, MaxBytes: 2_000})
	if ps[0].Field != "max_bytes" {
		t.Errorf("single row over the cap: %v", ps)
	}

	// Errors: attributed to the dataset whose text fails, with a hint.
	ps = previewProblem(t, e.eng, e, p, PreviewRequest{Query: "SELECT nope FROM big"})
	if ps[0].On != "query" || !strings.HasPrefix(ps[0].Message, "[UNRESOLVED_COLUMN") || !strings.Contains(ps[0].Fix, "`order_id`") {
		t.Errorf("ad-hoc query with an unknown column: %v", ps)
	}
	ps = previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "after_typo"})
	if ps[0].On != "dataset" || ps[0].Name != "typo" || !strings.HasPrefix(ps[0].Message, "[UNRESOLVED_COLUMN") {
		t.Errorf("preview reading a broken upstream: %v, want the problem on typo", ps)
	}
	ps = previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "nosuch"})
	if ps[0].Field != "name" {
		t.Errorf("unknown dataset: %v", ps)
	}
	previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "big", Query: "SELECT 1"})
	previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "big", Limit: MaxPreviewLimit + 1})

	// Materialized: the table the last run wrote, read fresh after each run.
	ps = previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "big", Materialized: true})
	if !strings.Contains(ps[0].Fix, "run the pipeline") {
		t.Errorf("materialized preview before a run: %v", ps)
	}
	previewProblem(t, e.eng, e, p, PreviewRequest{Dataset: "orders_clean", Materialized: true})
	runnable := p.Clone()
	for _, n := range []string{"after_typo", "typo"} {
		if err := runnable.RemoveDataset(n); err != nil {
			t.Fatal(err)
		}
	}
	e.run(runnable, RunOptions{})
	res, err = e.eng.Preview(e.ctx, runnable, PreviewRequest{Dataset: "big", Materialized: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]any{{int32(2), 150.0}, {int32(5), 120.0}}, sortRows(res.Rows)); d != "" || !res.Materialized {
		t.Errorf("materialized preview (-want +got):\n%s", d)
	}
	e.exec("INSERT INTO " + src + " VALUES (6, 600.0)")
	e.run(runnable, RunOptions{})
	res, err = e.eng.Preview(e.ctx, runnable, PreviewRequest{Dataset: "big", Materialized: true})
	if err != nil {
		t.Fatalf("materialized preview after the table was rewritten: %v", err)
	}
	if d := cmp.Diff([][]any{{int32(2), 150.0}, {int32(5), 120.0}, {int32(6), 600.0}}, sortRows(res.Rows)); d != "" {
		t.Errorf("materialized preview after a second run (-want +got):\n%s", d)
	}
}

// TestPreviewTimeout: a preview that outlives the call timeout is
// interrupted and reported as a problem; the engine stays usable.
func TestPreviewTimeout(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	eng := e.engine(Config{CallTimeout: 3 * time.Second})
	p := pipe(t, "slow", nil)
	t0 := time.Now()
	ps := previewProblem(t, eng, e, p, PreviewRequest{Query: "SELECT reflect('java.lang.Thread', 'sleep', CAST(30000 AS BIGINT)) AS s"})
	took := time.Since(t0)
	t.Logf("timed-out preview returned after %v", took)
	if took > 10*time.Second || !strings.Contains(ps[0].Message, "did not finish within 3s") {
		t.Errorf("timed-out preview: %v after %v", ps, took)
	}
	t0 = time.Now()
	res, err := eng.Preview(e.ctx, p, PreviewRequest{Query: "SELECT 1 AS one"})
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("preview after a timeout: %+v %v", res, err)
	}
	t.Logf("next preview took %v", time.Since(t0))
}

var cmpPreview = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Elapsed"
}, cmp.Ignore())

func sortRows(rows [][]any) [][]any {
	out := append([][]any(nil), rows...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j][0].(int32) < out[i][0].(int32) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
