package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/guardrails/plan"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestSourceGlobs(t *testing.T) {
	e, err := New(context.Background(), Config{URL: "sc://localhost:15002", Catalog: "dev", Database: "s",
		Storage: "file:///tmp/x", Sources: []string{"spark_catalog.samples", "dev.raw.orders_*", "dev.raw.customers"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"spark_catalog.samples.*", "dev.raw.orders_*", "dev.raw.customers"}
	if d := cmp.Diff(want, e.sourceGlobs()); d != "" {
		t.Errorf("sourceGlobs (-want +got):\n%s", d)
	}
	for _, g := range e.sourceGlobs() {
		if err := (guardrails.CheckOptions{AllowedSources: []string{g}}).Validate(); err != nil {
			t.Errorf("glob %s: %v", g, err)
		}
	}
}

// TestPlanProblems checks how findings become problems: the rule id first,
// and the element whose own text holds the offending relation or literal.
func TestPlanProblems(t *testing.T) {
	p := &pipeline.Pipeline{Name: "p", Catalog: "dev", Database: "s"}
	for _, d := range []pipeline.Dataset{
		{Name: "up", Kind: pipeline.TemporaryView, Query: "SELECT * FROM other.secret"},
		{Name: "lit", Kind: pipeline.TemporaryView, Query: "SELECT 'a\\nb' AS x FROM up"},
		{Name: "down", Kind: pipeline.MaterializedView, Query: "SELECT * FROM lit"},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	gopts := guardrails.CheckOptions{DefaultCatalog: "dev", DefaultSchema: "s", Datasets: []string{"up", "lit", "down"}}
	fs := []guardrails.Finding{
		{Rule: plan.RuleSource, Got: "dev.other.secret", Message: "m1", Hint: "h1"},
		{Rule: plan.RuleLineBreak, Got: "'a\\nb'", Message: "m2", Hint: "h2"},
		{Rule: plan.RuleStaticMismatch, Got: "dev.x.y", Message: "m3", Hint: "h3"},
	}
	got := planProblems(p, gopts, fs, subject{"dataset", "down", "SELECT * FROM lit"})
	want := pipeline.Problems{
		{On: "dataset", Name: "up", Field: "query", Got: "dev.other.secret", Message: "plan.source: m1", Fix: "h1"},
		{On: "dataset", Name: "lit", Field: "query", Got: "'a\\nb'", Message: "plan.line_break: m2", Fix: "h2"},
		{On: "dataset", Name: "down", Field: "query", Got: "dev.x.y", Message: "plan.static_mismatch: m3", Fix: "h3"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	// An ad-hoc query that reads the relation itself is the one at fault,
	// even when a dataset reads it too.
	adhoc := planProblems(p, gopts, fs[:1], subject{on: "query", text: "SELECT * FROM other.secret"})
	want = pipeline.Problems{{On: "query", Got: "dev.other.secret", Message: "plan.source: m1", Fix: "h1"}}
	if d := cmp.Diff(want, adhoc); d != "" {
		t.Errorf("ad-hoc query problems (-want +got):\n%s", d)
	}
}
