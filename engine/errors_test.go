package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Messages as the Spark 4.3 sandbox sends them (recorded, trimmed).
const (
	unresolvedMsg = "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nope` cannot be resolved. Did you mean one of the following? [`id`, `name`]. SQLSTATE: 42703; line 1 pos 7;\n'Project ['nope]\n+- SubqueryAlias spark_catalog.s.src\n"
	notFoundMsg   = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `spark_catalog`.`s`.`nosuch` cannot be found. Verify the spelling and correctness of the schema and catalog.\nSearch path: [`system`.`builtin`].\nIf you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog.\nTo tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01; line 1 pos 14;\n'Project [*]\n"
	batchMsg      = "[INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE] Flow `spark_catalog`.`shop`.`st` returns an invalid relation type. SQLSTATE: 42000"
	raiseMsg      = "[USER_RAISED_EXCEPTION] sdp-mcp expectation has_name failed on dataset mv1: name IS NOT NULL SQLSTATE: P0001"
)

func sparkErr(class, state, msg string, params map[string]string) *connect.SparkError {
	return &connect.SparkError{Code: codes.Internal, ErrorClass: class, SQLState: state, Message: msg, MessageParameters: params,
		ExceptionClass: "org.apache.spark.sql.AnalysisException"}
}

func TestFailureBriefAndHint(t *testing.T) {
	env := hintEnv{sources: []sourceSchema{{"spark_catalog", "samples", []string{"*"}}}}
	for _, tc := range []struct {
		name      string
		f         failure
		brief     string
		got       string
		hintHas   []string
		hintLacks string
	}{{
		name:    "unresolved column, parameters from the message",
		f:       failureOfFlow(connect.FlowFailure{ErrorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", Message: unresolvedMsg}),
		brief:   "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nope` cannot be resolved. Did you mean one of the following? [`id`, `name`].",
		got:     "`nope`",
		hintHas: []string{"`nope` does not exist", "`id`, `name`"},
	}, {
		name:    "table not found",
		f:       mustFailure(t, sparkErr("TABLE_OR_VIEW_NOT_FOUND", "42P01", notFoundMsg, map[string]string{"relationName": "`spark_catalog`.`s`.`nosuch`"})),
		got:     "`spark_catalog`.`s`.`nosuch`",
		hintHas: []string{"list_sources", "spark_catalog.samples", "declare_table"},
	}, {
		name:    "batch read into a streaming table",
		f:       mustFailure(t, sparkErr("INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE", "42000", batchMsg, nil)),
		brief:   "[INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE] Flow `spark_catalog`.`shop`.`st` returns an invalid relation type.",
		hintHas: []string{"STREAM(name)"},
	}, {
		name:    "fail expectation",
		f:       failureOfFlow(connect.FlowFailure{ErrorClass: "USER_RAISED_EXCEPTION", Message: raiseMsg}),
		brief:   "[USER_RAISED_EXCEPTION] sdp-mcp expectation has_name failed on dataset mv1: name IS NOT NULL",
		hintHas: []string{"on_violation drop"},
	}, {
		name:    "class missing from the message",
		f:       failure{Class: "DIVIDE_BY_ZERO", Message: "Division by zero.\n== SQL ==\nSELECT 1/0"},
		brief:   "[DIVIDE_BY_ZERO] Division by zero.",
		hintHas: []string{"try_divide"},
	}, {
		name:    "unknown class",
		f:       failure{Class: "SOMETHING_NEW", Message: "[SOMETHING_NEW] odd."},
		brief:   "[SOMETHING_NEW] odd.",
		hintHas: []string{"as the message says"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.brief != "" && tc.f.brief() != tc.brief {
				t.Errorf("brief\n got %q\nwant %q", tc.f.brief(), tc.brief)
			}
			if b := tc.f.brief(); strings.Contains(b, "\n") || strings.Contains(b, "SQLSTATE") || strings.Contains(b, "DROP VIEW") {
				t.Errorf("brief keeps noise: %q", b)
			}
			if tc.got != "" && tc.f.got() != tc.got {
				t.Errorf("got %q, want %q", tc.f.got(), tc.got)
			}
			h := tc.f.hint(env)
			for _, w := range tc.hintHas {
				if !strings.Contains(h, w) {
					t.Errorf("hint %q lacks %q", h, w)
				}
			}
		})
	}
	// For a condition the known columns beat Spark's suggestions.
	f := failureOfFlow(connect.FlowFailure{ErrorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", Message: unresolvedMsg})
	if h := f.hint(hintEnv{columns: []string{"a", "b"}}); !strings.Contains(h, "use one of the columns a, b") {
		t.Errorf("condition hint %q", h)
	}
}

func mustFailure(t *testing.T, err error) failure {
	t.Helper()
	f, ok := failureOf(fmt.Errorf("wrapped: %w", err))
	if !ok {
		t.Fatalf("no Spark error in %v", err)
	}
	return f
}

func TestAgentFixable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{sparkErr("UNRESOLVED_COLUMN.WITH_SUGGESTION", "42703", "", nil), true},
		{sparkErr("CAST_INVALID_INPUT", "22018", "", nil), true},
		{sparkErr("USER_RAISED_EXCEPTION", "P0001", "", nil), true},
		{sparkErr("INTERNAL_ERROR", "XX000", "", nil), false},
		{sparkErr("STREAM_FAILED", "XXKST", "", nil), false},
		{&connect.SparkError{Code: codes.Internal, ExceptionClass: "org.apache.spark.sql.catalyst.parser.ParseException"}, true},
		{&connect.SparkError{Code: codes.Unavailable, Message: "connection refused"}, false},
		{&connect.SparkError{Code: codes.Unauthenticated}, false},
		{fmt.Errorf("%w: %w", connect.ErrServerRestarted, sparkErr("INVALID_HANDLE.SESSION_NOT_FOUND", "HY000", "", nil)), false},
		{fmt.Errorf("x: %w", connect.ErrResultTooLarge), false},
		{errors.New("plain"), false},
		{nil, false},
	} {
		if got := agentFixable(tc.err); got != tc.want {
			t.Errorf("agentFixable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestElementNamed(t *testing.T) {
	names := map[string]bool{"st": true, "orders": true, "f1": true}
	for _, tc := range []struct {
		f    failure
		want string
	}{
		{failure{Params: map[string]string{"flowIdentifier": "`spark_catalog`.`shop`.`st`"}}, "st"},
		{failure{Params: map[string]string{"tableName": "spark_catalog.shop.orders"}}, "orders"},
		{failure{Message: "Table 'spark_catalog.shop.orders' has a user-specified schema"}, "orders"},
		{failure{Message: "flow `SPARK_CATALOG`.`SHOP`.`F1` failed"}, "f1"},
		{failure{Message: "Table 'spark_catalog.other.orders' is elsewhere"}, ""},
		{failure{Params: map[string]string{"flowIdentifier": "`spark_catalog`.`shop`.`unknown`"}}, ""},
	} {
		if got := elementNamed(tc.f, "spark_catalog", "shop", names); got != tc.want {
			t.Errorf("elementNamed(%+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	if got := nameOf("`spark_catalog`.`shop`.`Orders`"); got != "orders" {
		t.Errorf("nameOf = %q", got)
	}
}

func TestRunProblems(t *testing.T) {
	e := testEngine(t, "sc://localhost:1")
	p := e.bind(&pipeline.Pipeline{Name: "shop", Datasets: []pipeline.Dataset{
		{Name: "bad", Kind: pipeline.MaterializedView, Query: "SELECT nope FROM x"},
		{Name: "down", Kind: pipeline.MaterializedView, Query: "SELECT * FROM bad"},
		{Name: "st", Kind: pipeline.StreamingTable},
	}, Flows: []pipeline.Flow{{Name: "f1", Target: "st", Query: "SELECT * FROM STREAM(y)"}}})
	re := &connect.RunError{
		Err: &connect.SparkError{Code: codes.Internal, ExceptionClass: "org.apache.spark.sql.pipelines.graph.UnresolvedPipelineException"},
		Failures: []connect.FlowFailure{
			{Flow: "spark_catalog.shop.bad", ErrorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", Message: unresolvedMsg},
			{Flow: "spark_catalog.shop.down", Upstream: true},
			{Flow: "spark_catalog.shop.f1", ErrorClass: "TABLE_OR_VIEW_NOT_FOUND", Message: notFoundMsg},
		},
	}
	ps := e.runProblems(p, re, nil)
	if len(ps) != 2 || ps[0].On != "dataset" || ps[0].Name != "bad" || ps[1].On != "flow" || ps[1].Name != "f1" {
		t.Errorf("problems:%s", problemsText(ps))
	}
	if ps := e.runProblems(p, re, map[string]bool{"bad": true}); len(ps) != 1 || ps[0].Name != "f1" {
		t.Errorf("with bad known:%s", problemsText(ps))
	}
	// A validation error names its element in its parameters only.
	re = &connect.RunError{Err: sparkErr("INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE", "42000", batchMsg,
		map[string]string{"flowIdentifier": "`spark_catalog`.`shop`.`st`"})}
	ps = e.runProblems(p, re, nil)
	want := pipeline.Problems{{On: "dataset", Name: "st", Field: "query",
		Message: "[INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE] Flow `spark_catalog`.`shop`.`st` returns an invalid relation type.",
		Fix:     failure{Class: "INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE"}.hint(hintEnv{})}}
	if d := cmp.Diff(want, ps); d != "" {
		t.Errorf("validation error (-want +got):\n%s", d)
	}
	re = &connect.RunError{Err: sparkErr("RUN_EMPTY_PIPELINE", "42617", "[RUN_EMPTY_PIPELINE] no datasets. SQLSTATE: 42617", nil)}
	if ps := e.runProblems(p, re, nil); len(ps) != 1 || ps[0].On != "pipeline" || ps[0].Name != "shop" {
		t.Errorf("empty pipeline:%s", problemsText(ps))
	}
}

func problemsText(ps pipeline.Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}
