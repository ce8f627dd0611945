package pipeline

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// graphPipeline builds a pipeline without validation, so tests can declare
// graphs PutDataset would accept in another order (or not at all).
func graphPipeline(datasets []Dataset, flows ...Flow) *Pipeline {
	return &Pipeline{Name: "p", Catalog: "cat", Database: "db", Storage: "s3a://b/p", Datasets: datasets, Flows: flows}
}

func mvd(name, query string) Dataset {
	return Dataset{Name: name, Kind: MaterializedView, Query: query}
}

func TestGraphClassification(t *testing.T) {
	p := graphPipeline([]Dataset{
		mvd("a", "SELECT * FROM ext_table"),
		mvd("b", "SELECT * FROM a JOIN db.a AS a2 ON true JOIN cat.db.a AS a3 ON true JOIN CAT.DB.A AS a4 ON true"),
		mvd("c", "SELECT * FROM other_db.a, othercat.db.a, cat.other.a, x.cat.db.a, range(10), parquet.`/data/x`"),
		{Name: "s", Kind: StreamingTable, Query: "SELECT * FROM STREAM(a) UNION ALL SELECT * FROM STREAM ext_stream"},
		mvd("d", "WITH a AS (SELECT 1 AS x) SELECT * FROM a"),
		mvd("e", "SELECT * FROM `A`"),
	})
	g := BuildGraph(p)
	if ps := g.Problems(); len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	want := []Element{
		{Name: "a", Kind: "materialized_view", Sources: []Source{{Parts: []string{"ext_table"}}}},
		{Name: "b", Kind: "materialized_view", Upstreams: []string{"a"}},
		{Name: "c", Kind: "materialized_view", Sources: []Source{
			{Parts: []string{"cat", "other", "a"}},
			{Parts: []string{"other_db", "a"}},
			{Parts: []string{"othercat", "db", "a"}},
			{Path: true, Parts: []string{"parquet", "/data/x"}},
			{Function: "range"},
			{Parts: []string{"x", "cat", "db", "a"}},
		}},
		{Name: "d", Kind: "materialized_view"},
		{Name: "e", Kind: "materialized_view", Upstreams: []string{"a"}},
		{Name: "s", Kind: "streaming_table", Upstreams: []string{"a"}, Sources: []Source{{Parts: []string{"ext_stream"}}}},
	}
	if diff := cmp.Diff(want, g.Elements(), ignoreMemo); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b", "e", "s"}, g.Dependents("a"), ignoreMemo); diff != "" {
		t.Errorf("dependents of a (-want +got):\n%s", diff)
	}
}

func TestGraphProblems(t *testing.T) {
	tests := []struct {
		name     string
		p        *Pipeline
		want     []where
		wantGots []string
	}{
		{"sound", graphPipeline([]Dataset{mvd("a", "SELECT 1"), mvd("b", "SELECT * FROM a")}), nil, nil},
		{"undeclared unqualified name is a source", graphPipeline([]Dataset{mvd("b", "SELECT * FROM STREAM(nope)")}), nil, nil},
		{"undeclared names qualified with the own schema are sources", graphPipeline([]Dataset{
			mvd("b", "SELECT * FROM db.nope JOIN cat.db.gone ON true"),
		}), nil, nil},
		{"temporary view read qualified", graphPipeline([]Dataset{
			{Name: "v", Kind: TemporaryView, Query: "SELECT 1"}, mvd("b", "SELECT * FROM db.v"),
		}), []where{{"dataset", "b", "query", "db.v"}}, nil},
		{"self cycle", graphPipeline([]Dataset{mvd("a", "SELECT * FROM a")}),
			[]where{{"dataset", "a", "query", "a -> a"}}, nil},
		{"two cycles", graphPipeline([]Dataset{
			mvd("a", "SELECT * FROM c"), mvd("b", "SELECT * FROM a"), mvd("c", "SELECT * FROM b"),
			mvd("x", "SELECT * FROM y"), mvd("y", "SELECT * FROM db.x"),
			mvd("z", "SELECT * FROM a"),
		}), []where{{"dataset", "a", "query", "a -> b -> c -> a"}, {"dataset", "x", "query", "x -> y -> x"}}, nil},
		{"cycle through a flow", graphPipeline([]Dataset{
			{Name: "t", Kind: StreamingTable}, mvd("m", "SELECT * FROM t"),
		}, Flow{Name: "f", Target: "t", Query: "SELECT * FROM STREAM(m)"}),
			[]where{{"flow", "f", "query", "f -> t -> m -> f"}}, nil},
		{"flow reading its own target", graphPipeline([]Dataset{{Name: "t", Kind: StreamingTable}},
			Flow{Name: "f", Target: "t", Query: "SELECT * FROM STREAM(t)"}),
			[]where{{"flow", "f", "query", "f -> t -> f"}}, nil},
		{"streaming table nothing writes to", graphPipeline([]Dataset{{Name: "t", Kind: StreamingTable}}),
			[]where{{"dataset", "t", "query", ""}}, nil},
		{"condition reading a table", graphPipeline([]Dataset{{Name: "a", Kind: MaterializedView, Query: "SELECT 1 AS id",
			Expectations: []Expectation{{Name: "e", Condition: "id IN (SELECT id FROM other)", OnViolation: Drop}}}}),
			[]where{{"dataset", "a", "expectations[0].condition", "id IN (SELECT id FROM other)"}}, nil},
		{"unscannable body", graphPipeline([]Dataset{mvd("a", "SELECT 'open")}),
			[]where{{"dataset", "a", "query", "SELECT 'open"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := BuildGraph(tc.p)
			if diff := cmp.Diff(tc.want, wheres(t, g.Problems().Err()), ignoreMemo); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraphOrder(t *testing.T) {
	p := graphPipeline([]Dataset{
		mvd("report", "SELECT * FROM clean JOIN dims ON true"),
		mvd("dims", "SELECT * FROM ext.dims"),
		{Name: "events", Kind: StreamingTable},
		mvd("clean", "SELECT * FROM events"),
		mvd("alone", "SELECT 1"),
	},
		Flow{Name: "b_flow", Target: "events", Query: "SELECT * FROM STREAM(ext.b)"},
		Flow{Name: "a_flow", Target: "events", Query: "SELECT * FROM STREAM(ext.a)"},
	)
	g := BuildGraph(p)
	got, err := g.Order()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a_flow", "alone", "b_flow", "dims", "events", "clean", "report"}
	if diff := cmp.Diff(want, got, ignoreMemo); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a_flow", "b_flow"}, g.Dependencies("events"), ignoreMemo); diff != "" {
		t.Errorf("dependencies of events (-want +got):\n%s", diff)
	}
	for i := 0; i < 20; i++ { // deterministic across map iteration orders
		again, _ := BuildGraph(p).Order()
		if diff := cmp.Diff(want, again, ignoreMemo); diff != "" {
			t.Fatalf("order changed between builds (-want +got):\n%s", diff)
		}
	}

	cyclic := graphPipeline([]Dataset{mvd("a", "SELECT * FROM b"), mvd("b", "SELECT * FROM a")})
	if _, err := BuildGraph(cyclic).Order(); err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Errorf("Order of a cycle = %v, want the cycle path a -> b -> a", err)
	}
}

func TestMermaid(t *testing.T) {
	p := graphPipeline([]Dataset{
		{Name: "end", Kind: StreamingTable},
		mvd("m", "SELECT * FROM `we\"ird<>`.t"),
		{Name: "v", Kind: TemporaryView, Query: "SELECT * FROM m JOIN end ON true"},
	},
		Flow{Name: "constant", Target: "end", Query: "SELECT 1 AS x"},
		Flow{Name: "batchy", Target: "end", Query: "SELECT * FROM m"},
	)
	checkGolden(t, "mermaid_edge_cases.mmd", []byte(BuildGraph(p).Mermaid()))
}
