package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// fakeSources describes the tables it holds (lower-case names), refuses
// the names in outside and fails on broken.
type fakeSources struct {
	tables  map[string][]connect.Column
	outside map[string]bool
	broken  error
}

func (f fakeSources) DescribeSource(_ context.Context, name string) (*Source, error) {
	n := strings.ToLower(name)
	switch {
	case f.broken != nil:
		return nil, f.broken
	case f.outside[n]:
		return nil, pipeline.Problems{{On: "source", Message: "outside the sources the agent may read: x"}}
	}
	cols, ok := f.tables[n]
	if !ok {
		return nil, pipeline.Problems{{On: "source", Message: "no such table among the sources spark_catalog.samples.*"}}
	}
	return &Source{Name: "spark_catalog." + n, Columns: cols}, nil
}

func TestPreflight(t *testing.T) {
	p := &pipeline.Pipeline{Name: "shop", Catalog: "spark_catalog", Database: "shop", Storage: "file:///s",
		Datasets: []pipeline.Dataset{
			{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT * FROM samples.orders JOIN samples.customers USING (id)"},
			{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT * FROM SAMPLES.ORDERS JOIN samples.items USING (id) JOIN range(3) r ON true"},
			{Name: "c", Kind: pipeline.StreamingTable, Query: "SELECT * FROM STREAM(samples.secret)"},
		}}
	col := func(name, typ string) connect.Column { return connect.Column{Name: name, Type: typ, Nullable: true} }
	sandbox := fakeSources{tables: map[string][]connect.Column{
		"samples.orders":    {col("id", "bigint"), col("amount", "decimal(10,2)"), col("note", "string")},
		"samples.customers": {col("id", "bigint")},
		"samples.items":     {col("id", "bigint")},
		"samples.secret":    {col("id", "bigint")},
	}}
	prod := fakeSources{
		tables: map[string][]connect.Column{
			"samples.orders":    {col("ID", "bigint"), col("amount", "double"), col("extra", "int")},
			"samples.customers": {col("id", "BIGINT"), col("more", "string")},
		},
		outside: map[string]bool{"samples.secret": true},
	}
	rep, err := Preflight(context.Background(), p, "production", sandbox, prod)
	if err != nil {
		t.Fatal(err)
	}
	want := &PreflightReport{Environment: "production", Sources: []SourceCheck{
		{Name: "range(...)", Status: SourceUnchecked},
		{Name: "samples.customers", Target: "spark_catalog.samples.customers", Status: SourceOK},
		{Name: "samples.items", Status: SourceMissing,
			Message: "production has no table samples.items (no such table among the sources spark_catalog.samples.*)"},
		{Name: "samples.orders", Target: "spark_catalog.samples.orders", Status: SourceIncompatible,
			Gaps: []ColumnGap{{Column: "amount", Want: "decimal(10,2)", Got: "double"}, {Column: "note", Want: "string"}},
			Message: "production's table spark_catalog.samples.orders differs from the sandbox's: " +
				"column amount is double, not decimal(10,2); no column note (string)"},
		{Name: "samples.secret", Status: SourceNotAllowed, Message: "samples.secret is outside the sources production allows"},
	}}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if rep.OK() {
		t.Error("OK() is true with gaps")
	}
	ps := rep.Problems()
	if len(ps) != 3 {
		t.Fatalf("got %d problems, want 3 (every gap at once): %v", len(ps), ps)
	}
	if got := ps[0].String(); !strings.Contains(got, "production has no table samples.items") ||
		!strings.Contains(got, "create it in production") {
		t.Errorf("missing-source problem: %s", got)
	}

	// Without a reference only existence counts.
	rep, err = Preflight(context.Background(), p, "production", nil, prod)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Problems()); got != 2 {
		t.Errorf("existence only: %d problems, want 2: %v", got, rep.Problems())
	}

	// An unreachable environment is an error, not a report.
	boom := errors.New("unreachable")
	if _, err := Preflight(context.Background(), p, "production", sandbox, fakeSources{broken: boom}); !errors.Is(err, boom) {
		t.Errorf("broken target: err %v, want %v", err, boom)
	}
}
