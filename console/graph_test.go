package console

import (
	"testing"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestLayoutGraphByDepth(t *testing.T) {
	p := &pipeline.Pipeline{Name: "p", Storage: "file:///x"}
	for _, d := range []pipeline.Dataset{
		{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT * FROM raw.src"},
		{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT * FROM a"},
		{Name: "c", Kind: pipeline.MaterializedView, Query: "SELECT * FROM a JOIN b USING (id)"},
		{Name: "events", Kind: pipeline.StreamingTable},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.PutFlow(pipeline.Flow{Name: "feed", Target: "events", Query: "SELECT * FROM STREAM(raw.clicks)"}); err != nil {
		t.Fatal(err)
	}
	g := layoutGraph(pipeline.BuildGraph(p))
	col := map[string]int{}
	for _, n := range g.Nodes {
		col[n.Name] = (n.X - margin) / (nodeW + colGap)
	}
	want := map[string]int{"raw.src": 0, "raw.clicks": 0, "a": 1, "feed": 1, "b": 2, "events": 2, "c": 3}
	for name, c := range want {
		if got, ok := col[name]; !ok || got != c {
			t.Errorf("%s in column %d (present %v), want %d", name, got, ok, c)
		}
	}
	// Edges: src→a, a→b, a→c, b→c, clicks→feed, feed→events.
	if len(g.Edges) != 6 {
		t.Errorf("%d edges, want 6: %+v", len(g.Edges), g.Edges)
	}
	if g.Width <= 0 || g.Height <= 0 {
		t.Errorf("size %dx%d", g.Width, g.Height)
	}
}
