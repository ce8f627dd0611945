//go:build integration

package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestRunExpectations(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".readings (id INT, v INT) USING parquet",
		"INSERT INTO "+e.src+".readings VALUES (1, 10), (2, -5), (3, NULL), (4, 20)")
	src := e.src + ".readings"
	p := pipe(t, "quality", []pipeline.Dataset{
		// drop: violating rows (NULL counts as a violation) are removed.
		{Name: "non_negative", Kind: pipeline.MaterializedView, Query: "SELECT id, v FROM " + src,
			Expectations: []pipeline.Expectation{{Name: "v_not_negative", Condition: "v >= 0", OnViolation: pipeline.Drop}}},
		// warn: every row is kept, violations are counted.
		{Name: "all_readings", Kind: pipeline.MaterializedView, Query: "SELECT id, v FROM " + src,
			Expectations: []pipeline.Expectation{
				{Name: "has_v", Condition: "v IS NOT NULL", OnViolation: pipeline.Warn},
				{Name: "small", Condition: "v < 15", OnViolation: pipeline.Warn},
			}},
		// drop on a streaming table fed by a flow: the flow's rows are filtered.
		{Name: "small_stream", Kind: pipeline.StreamingTable,
			Expectations: []pipeline.Expectation{{Name: "below_15", Condition: "v < 15", OnViolation: pipeline.Drop}}},
	}, pipeline.Flow{Name: "readings_in", Target: "small_stream", Query: "SELECT id, v FROM STREAM(" + src + ")"})

	res := e.run(p, RunOptions{})
	e.checkRows("SELECT * FROM "+e.schema+".non_negative ORDER BY id", [][]any{{int32(1), int32(10)}, {int32(4), int32(20)}})
	e.checkRows("SELECT count(*) FROM "+e.schema+".all_readings", [][]any{{int64(4)}})
	e.checkRows("SELECT * FROM "+e.schema+".small_stream ORDER BY id", [][]any{{int32(1), int32(10)}, {int32(2), int32(-5)}})
	for name, want := range map[string][]ExpectationResult{
		"non_negative": {{Name: "v_not_negative", OnViolation: pipeline.Drop, Passed: 2, Failed: 2}},
		"all_readings": {{Name: "has_v", OnViolation: pipeline.Warn, Passed: 3, Failed: 1}, {Name: "small", OnViolation: pipeline.Warn, Passed: 2, Failed: 2}},
		"small_stream": {{Name: "below_15", OnViolation: pipeline.Drop, Passed: 2, Failed: 2}},
	} {
		if d := cmp.Diff(want, res.expectations(name)); d != "" {
			t.Errorf("expectations of %s (-want +got):\n%s", name, d)
		}
	}

	// fail: the run fails, naming the expectation and the violating rows.
	// (Retries are switched off through the pipeline's configuration: by
	// default Spark tries a failing flow three times.)
	_, err := p.PutDataset(pipeline.Dataset{Name: "strict", Kind: pipeline.MaterializedView, Query: "SELECT id, v FROM " + src,
		Expectations: []pipeline.Expectation{
			{Name: "positive", Condition: "v > 0", OnViolation: pipeline.Warn},
			{Name: "no_nulls", Condition: "v IS NOT NULL", OnViolation: pipeline.Fail},
		}})
	if err != nil {
		t.Fatal(err)
	}
	p.Configuration = map[string]string{"spark.sql.pipelines.maxFlowRetryAttempts": "0"}
	t0 := time.Now()
	res, err = e.eng.Run(e.ctx, p, RunOptions{Refresh: []string{"strict"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failing run took %v: %+v", time.Since(t0), res.Failure)
	if res.OK || res.Failure == nil {
		t.Fatalf("run with a failing expectation: %+v, want a failure", res)
	}
	f := res.Failure
	if f.Dataset != "strict" || f.ErrorClass != "USER_RAISED_EXCEPTION" ||
		!strings.Contains(f.Message, "no_nulls") || !strings.Contains(f.Message, "1 of 4 rows violate v IS NOT NULL") ||
		!strings.Contains(f.Hint, "on_violation") {
		t.Errorf("failure %+v, want dataset strict, the expectation no_nulls and 1 of 4 rows", f)
	}
	if st := statuses(res)["strict"]; st != "failed" {
		t.Errorf("strict is %s, want failed", st)
	}
	want := []ExpectationResult{
		{Name: "positive", OnViolation: pipeline.Warn, Passed: 2, Failed: 2},
		{Name: "no_nulls", OnViolation: pipeline.Fail, Passed: 3, Failed: 1},
	}
	if d := cmp.Diff(want, res.expectations("strict")); d != "" {
		t.Errorf("expectations of strict (-want +got):\n%s", d)
	}
	// SDP creates the table before its flow runs; the flow wrote nothing.
	e.checkRows("SELECT count(*) FROM "+e.schema+".strict", [][]any{{int64(0)}})
}
