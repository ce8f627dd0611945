package engine

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestLevels(t *testing.T) {
	p := &pipeline.Pipeline{Name: "lv"}
	for _, d := range []pipeline.Dataset{
		{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT 1 AS x"},
		{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT x FROM a"},
		{Name: "c", Kind: pipeline.MaterializedView, Query: "SELECT 2 AS x"},
		{Name: "d", Kind: pipeline.MaterializedView, Query: "SELECT b.x FROM b JOIN c ON b.x = c.x"},
		{Name: "s", Kind: pipeline.StreamingTable},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.PutFlow(pipeline.Flow{Name: "s_in", Target: "s", Query: "SELECT x FROM STREAM(b)"}); err != nil {
		t.Fatal(err)
	}
	g := pipeline.BuildGraph(p)
	order, err := g.Order()
	if err != nil {
		t.Fatal(err)
	}
	got := levels(g, order)
	want := [][]string{{"a", "c"}, {"b"}, {"d", "s_in"}, {"s"}}
	for _, l := range got {
		slices.Sort(l)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("levels (-want +got):\n%s", d)
	}
}

// TestDeclarationsChangeWithEveryField: the verified declarations of a
// partial dry-run see a change to any part of a declaration.
func TestDeclarationsChangeWithEveryField(t *testing.T) {
	base := pipeline.Dataset{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT 1 AS x"}
	p := &pipeline.Pipeline{Name: "d", Datasets: []pipeline.Dataset{base}}
	before := declarations(p)
	for _, d := range []pipeline.Dataset{
		{Name: "a", Kind: pipeline.TemporaryView, Query: base.Query},
		{Name: "a", Kind: base.Kind, Query: "SELECT 2 AS x"},
		{Name: "a", Kind: base.Kind, Query: base.Query, Comment: "c"},
		{Name: "a", Kind: base.Kind, Query: base.Query, PartitionBy: []string{"x"}},
		{Name: "a", Kind: base.Kind, Query: base.Query, TableProperties: map[string]string{"k": "v"}},
		{Name: "a", Kind: base.Kind, Query: base.Query, Schema: "x INT"},
		{Name: "a", Kind: base.Kind, Query: base.Query, Expectations: []pipeline.Expectation{{Name: "e", Condition: "x > 0", OnViolation: pipeline.Warn}}},
	} {
		q := &pipeline.Pipeline{Name: "d", Datasets: []pipeline.Dataset{d}}
		if declarations(q)["a"] == before["a"] {
			t.Errorf("declaration %+v hashes like %+v", d, base)
		}
	}
	q := &pipeline.Pipeline{Name: "d", Datasets: []pipeline.Dataset{base}, Configuration: map[string]string{"k": "v"}}
	if declarations(q)[configElement] == before[configElement] {
		t.Error("a configuration change is not seen")
	}
}
