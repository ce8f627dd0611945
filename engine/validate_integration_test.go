//go:build integration

package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// problemOn returns the problems about one element.
func problemsOn(ps pipeline.Problems, name string) pipeline.Problems {
	var out pipeline.Problems
	for _, p := range ps {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// wantProblem checks that exactly one problem names the element, with the
// field, error class and words in its fix.
func wantProblem(t *testing.T, ps pipeline.Problems, on, name, field, class string, fixHas ...string) {
	t.Helper()
	got := problemsOn(ps, name)
	if len(got) != 1 {
		t.Errorf("problems about %s: %s\nwant exactly one", name, problemsText(got))
		return
	}
	p := got[0]
	if p.On != on || p.Field != field || !strings.HasPrefix(p.Message, "["+class) {
		t.Errorf("problem about %s: %+v\nwant on %s, field %s, class %s", name, p, on, field, class)
	}
	for _, w := range fixHas {
		if !strings.Contains(p.Fix, w) {
			t.Errorf("fix of %s %q lacks %q", name, p.Fix, w)
		}
	}
}

func TestValidateReportsProblemsPerDataset(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".orders (order_id INT, amount DOUBLE) USING parquet",
		"INSERT INTO "+e.src+".orders VALUES (1, 10.0)")
	p := pipe(t, "broken", []pipeline.Dataset{
		{Name: "good", Kind: pipeline.MaterializedView, Query: "SELECT order_id, amount FROM " + e.src + ".orders"},
		{Name: "bad", Kind: pipeline.MaterializedView, Query: "SELECT order_id, amont FROM " + e.src + ".orders"},
		{Name: "downstream", Kind: pipeline.MaterializedView, Query: "SELECT * FROM bad"},
		{Name: "checked", Kind: pipeline.MaterializedView, Query: "SELECT * FROM good", Expectations: []pipeline.Expectation{
			{Name: "positive", Condition: "amount > 0", OnViolation: pipeline.Warn},
			{Name: "typo", Condition: "amout > 0", OnViolation: pipeline.Drop},
		}},
		{Name: "missing", Kind: pipeline.MaterializedView, Query: "SELECT * FROM " + e.src + ".nosuch"},
		{Name: "feed", Kind: pipeline.StreamingTable},
	}, pipeline.Flow{Name: "feed_orders", Target: "feed", Query: "SELECT order_id, nope FROM STREAM(" + e.src + ".orders)"})

	t0 := time.Now()
	v, err := e.eng.Validate(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validate took %v:%s", time.Since(t0), problemsText(v.Problems))
	if v.OK {
		t.Fatal("validate OK, want problems")
	}
	wantProblem(t, v.Problems, "dataset", "bad", "query", "UNRESOLVED_COLUMN", "`amont`", "`amount`")
	wantProblem(t, v.Problems, "dataset", "checked", "expectations[1].condition", "UNRESOLVED_COLUMN", "`amout`", "order_id, amount")
	wantProblem(t, v.Problems, "dataset", "missing", "query", "TABLE_OR_VIEW_NOT_FOUND", "list_sources", "spark_catalog."+e.src)
	wantProblem(t, v.Problems, "flow", "feed_orders", "query", "UNRESOLVED_COLUMN", "`nope`")
	if got := problemsOn(v.Problems, "bad")[0].Got; got != "`amont`" {
		t.Errorf("got %q, want `amont`", got)
	}
	for _, name := range []string{"good", "downstream", "feed"} {
		if ps := problemsOn(v.Problems, name); len(ps) > 0 {
			t.Errorf("%s is reported although its own text is fine:%s", name, problemsText(ps))
		}
	}
	if len(v.Problems) != 4 {
		t.Errorf("%d problems, want 4:%s", len(v.Problems), problemsText(v.Problems))
	}
	cols := map[string]int{}
	for _, d := range v.Datasets {
		cols[d.Name] = len(d.Columns)
	}
	if cols["good"] != 2 || cols["checked"] != 2 || cols["bad"] != 0 || cols["downstream"] != 0 {
		t.Errorf("columns known per dataset: %v", cols)
	}
	if got := e.tables(); len(got) != 0 {
		t.Errorf("validation wrote tables %v", got)
	}
}

// TestValidateDryRunProblems covers problems only the SDP dry-run sees.
func TestValidateDryRunProblems(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE " + e.src + ".orders (order_id INT, amount DOUBLE) USING parquet")
	for _, tc := range []struct {
		name            string
		ds              []pipeline.Dataset
		on, elem, field string
		class           string
		fixHas          string
	}{
		{"batch read into a streaming table", []pipeline.Dataset{
			{Name: "st", Kind: pipeline.StreamingTable, Query: "SELECT * FROM " + e.src + ".orders"}},
			"dataset", "st", "query", "INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE", "STREAM("},
		{"streaming read into a materialized view", []pipeline.Dataset{
			{Name: "mv", Kind: pipeline.MaterializedView, Query: "SELECT * FROM STREAM(" + e.src + ".orders)"}},
			"dataset", "mv", "query", "INVALID_FLOW_QUERY_TYPE.STREAMING_RELATION_FOR_MATERIALIZED_VIEW", "remove STREAM"},
		{"declared schema that does not match", []pipeline.Dataset{
			{Name: "typed", Kind: pipeline.MaterializedView, Schema: "order_id BIGINT, amount DOUBLE", Query: "SELECT * FROM " + e.src + ".orders"}},
			"dataset", "typed", "schema", "USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE", "cast"},
		{"only temporary views", []pipeline.Dataset{
			{Name: "tv", Kind: pipeline.TemporaryView, Query: "SELECT * FROM " + e.src + ".orders"}},
			"pipeline", "dry", "", "RUN_EMPTY_PIPELINE", "materialized_view"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pipe(t, "dry", tc.ds)
			t0 := time.Now()
			v, err := e.eng.Validate(e.ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("validate took %v:%s", time.Since(t0), problemsText(v.Problems))
			if v.OK {
				t.Fatal("validate OK, want a problem")
			}
			wantProblem(t, v.Problems, tc.on, tc.elem, tc.field, tc.class, tc.fixHas)
		})
	}
}
