package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// shopModel: a view read by a materialized view, a streaming table fed by
// two flows, a streaming table with its own query.
func shopModel() *pipeline.Pipeline {
	return &pipeline.Pipeline{Name: "shop", Catalog: "spark_catalog", Database: "shop", Storage: "file:///s/shop",
		Datasets: []pipeline.Dataset{
			{Name: "big", Kind: pipeline.MaterializedView, Query: "SELECT * FROM clean WHERE amount > 100",
				Expectations: []pipeline.Expectation{{Name: "positive", Condition: "amount > 0", OnViolation: pipeline.Fail}}},
			{Name: "clean", Kind: pipeline.TemporaryView, Query: "SELECT * FROM samples.orders"},
			{Name: "events", Kind: pipeline.StreamingTable},
			{Name: "log", Kind: pipeline.StreamingTable, Query: "SELECT * FROM STREAM(samples.orders)"},
		},
		Flows: []pipeline.Flow{
			{Name: "app", Target: "events", Query: "SELECT * FROM STREAM(samples.app)"},
			{Name: "web", Target: "events", Query: "SELECT * FROM STREAM(samples.web)"},
		}}
}

func ev(msg string) connect.PipelineEvent {
	return connect.PipelineEvent{Time: time.Unix(1, 0), Message: msg}
}

func TestTrackerProgressAndStatuses(t *testing.T) {
	p := shopModel()
	var got []Progress
	tr := newTracker(p, func(pr Progress) { got = append(got, pr) })
	for _, m := range []string{
		"Flow spark_catalog.shop.big is QUEUED.",
		"Flow spark_catalog.shop.app is QUEUED.",
		"Flow spark_catalog.shop.web is QUEUED.",
		"Flow 'spark_catalog.shop.log' is EXCLUDED.",
		"Flow spark_catalog.shop.big is RUNNING.",
		"Flow spark_catalog.shop.app has COMPLETED.",
		"Flow 'spark_catalog.shop.web' has FAILED.\nError: [STREAM_FAILED] Query [id = 1] terminated with exception: Race while writing batch 0 SQLSTATE: XXKST\n=== Streaming Query ===",
		"Flow spark_catalog.shop.web is STARTING.",
		"Flow spark_catalog.shop.web has COMPLETED.",
		"Flow 'spark_catalog.shop.big' has FAILED.\nError: " + raiseMsg,
		"Run is FAILED.",
	} {
		tr.event(ev(m))
	}
	if len(got) != 11 {
		t.Fatalf("%d progress reports, want 11", len(got))
	}
	var done []int
	for _, pr := range got {
		if pr.Total != 4 {
			t.Errorf("total %d, want 4 flows (big, log, app, web)", pr.Total)
		}
		done = append(done, pr.Done)
	}
	if d := cmp.Diff([]int{0, 0, 0, 1, 1, 2, 3, 2, 3, 4, 4}, done); d != "" {
		t.Errorf("done counts (-want +got):\n%s", d)
	}
	if m := got[6].Message; m != "Flow 'spark_catalog.shop.web' has FAILED. [STREAM_FAILED] Query [id = 1] terminated with exception: Race while writing batch 0" {
		t.Errorf("failure progress message %q", m)
	}
	g := pipeline.BuildGraph(p)
	order, _ := g.Order()
	var statuses []string
	for _, dr := range tr.results(p, g, order) {
		statuses = append(statuses, dr.Name+"="+dr.Kind+":"+dr.Status)
		if dr.Name == "big" && !strings.HasPrefix(dr.Message, "[USER_RAISED_EXCEPTION] sdp-mcp expectation has_name") {
			t.Errorf("message of big: %q", dr.Message)
		}
	}
	want := []string{"app=flow:completed", "clean=temporary_view:skipped", "big=materialized_view:failed",
		"log=streaming_table:excluded", "web=flow:completed", "events=streaming_table:completed"}
	if d := cmp.Diff(want, statuses); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
}

func TestCombineAndViewStatus(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		st, view string
	}{
		{nil, "skipped", "skipped"},
		{[]string{"completed", "excluded"}, "completed", "completed"},
		{[]string{"completed", "failed"}, "failed", "completed"},
		{[]string{"excluded", "excluded"}, "excluded", "excluded"},
		{[]string{"skipped", "excluded"}, "skipped", "skipped"},
	} {
		if got := combine(tc.in); got != tc.st {
			t.Errorf("combine(%v) = %s, want %s", tc.in, got, tc.st)
		}
		if got := viewStatus(tc.in); got != tc.view {
			t.Errorf("viewStatus(%v) = %s, want %s", tc.in, got, tc.view)
		}
	}
}

func TestRunFailure(t *testing.T) {
	e := testEngine(t, "sc://localhost:1")
	p := shopModel()
	raised := &connect.SparkError{Code: codes.Internal, ErrorClass: "USER_RAISED_EXCEPTION", SQLState: "P0001",
		Message: "[USER_RAISED_EXCEPTION] sdp-mcp expectation positive failed on dataset big: amount > 0 SQLSTATE: P0001"}
	re := &connect.RunError{Err: raised, Failures: []connect.FlowFailure{
		{Flow: "spark_catalog.shop.big", ErrorClass: "USER_RAISED_EXCEPTION", Message: raised.Message},
		{Flow: "spark_catalog.shop.web", ErrorClass: "DIVIDE_BY_ZERO", Message: "[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012"},
	}}
	rf, hit := e.runFailure(p, re)
	if rf.Dataset != "big" || rf.ErrorClass != "USER_RAISED_EXCEPTION" || !strings.Contains(rf.Hint, "fail expectation") {
		t.Errorf("failure %+v", rf)
	}
	if hit == nil || hit.expectation != "positive" || hit.dataset != "big" || hit.flow != "" {
		t.Fatalf("expectation hit %+v", hit)
	}
	counts := []ExpectationResult{{Name: "positive", OnViolation: pipeline.Fail, Passed: 7, Failed: 3}}
	if m := hit.describe(p, counts); m != "fail expectation positive of dataset big stopped the run: 3 of 10 rows violate amount > 0 (also failed: web)" {
		t.Errorf("message %q", m)
	}
	if m := hit.describe(p, nil); !strings.Contains(m, "some rows violate amount > 0") {
		t.Errorf("message without counts %q", m)
	}

	// A flow's rows violating its target's expectation.
	m := expectationRE.FindStringSubmatch("[USER_RAISED_EXCEPTION] sdp-mcp expectation has_id failed on dataset events (flow web): id IS NOT NULL")
	if m == nil || m[1] != "has_id" || m[2] != "events" || m[3] != "web" {
		t.Errorf("flow expectation match %q", m)
	}

	// No flow failed by itself: the run's own error names the element.
	re = &connect.RunError{Err: sparkErr("INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE", "42000", batchMsg,
		map[string]string{"flowIdentifier": "`spark_catalog`.`shop`.`log`"})}
	rf, hit = e.runFailure(p, re)
	if rf.Dataset != "log" || rf.ErrorClass != "INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE" || hit != nil {
		t.Errorf("validation failure %+v %+v", rf, hit)
	}
}

func TestSelectionProblems(t *testing.T) {
	p := shopModel()
	for _, tc := range []struct {
		opts   RunOptions
		fields []string
	}{
		{RunOptions{}, nil},
		{RunOptions{Refresh: []string{"big"}, FullRefresh: []string{"log"}}, nil},
		{RunOptions{Refresh: []string{"nosuch"}}, []string{"refresh"}},
		{RunOptions{FullRefresh: []string{"clean"}}, []string{"full_refresh"}},
		{RunOptions{Refresh: []string{"big"}, FullRefresh: []string{"big"}}, []string{"refresh"}},
		{RunOptions{FullRefreshAll: true, Refresh: []string{"big"}}, []string{"full_refresh_all"}},
	} {
		var fields []string
		for _, pr := range selectionProblems(p, tc.opts) {
			fields = append(fields, pr.Field)
		}
		if !cmp.Equal(tc.fields, fields) {
			t.Errorf("%+v: problems on %v, want %v", tc.opts, fields, tc.fields)
		}
	}
}

func TestExpectationCounts(t *testing.T) {
	d := shopModel().Datasets[0]
	got, err := expectationCounts(d, [][]any{{"positive", int64(5), int64(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]ExpectationResult{{Name: "positive", OnViolation: pipeline.Fail, Passed: 5, Failed: 1}}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := expectationCounts(d, [][]any{{"positive", "5", int64(1)}}); err == nil {
		t.Error("a malformed row was accepted")
	}
}
