package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func planPipeline(t *testing.T, totalsQuery string) *pipeline.Pipeline {
	t.Helper()
	p := &pipeline.Pipeline{Name: "sales", Catalog: "main", Database: "analytics", Storage: "s3://b/sdp"}
	for _, d := range []pipeline.Dataset{
		{Name: "clean", Kind: pipeline.TemporaryView, Query: "SELECT id, amount FROM raw.orders"},
		{Name: "totals", Kind: pipeline.MaterializedView, Query: totalsQuery},
		{Name: "events", Kind: pipeline.StreamingTable},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.PutFlow(pipeline.Flow{Name: "web", Target: "events", Query: "SELECT id FROM STREAM(raw.web)"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefinitionHash(t *testing.T) {
	p := planPipeline(t, "SELECT id, sum(amount) AS total FROM clean GROUP BY id")
	h1, err := DefinitionHash(p, "totals")
	if err != nil {
		t.Fatal(err)
	}
	// A change of the temporary view it reads changes its definition; the
	// streaming table's does not.
	q := p.Clone()
	if _, err := q.PutDataset(pipeline.Dataset{Name: "clean", Kind: pipeline.TemporaryView, Query: "SELECT id, amount FROM raw.orders WHERE amount > 0"}); err != nil {
		t.Fatal(err)
	}
	h2, _ := DefinitionHash(q, "totals")
	e1, _ := DefinitionHash(p, "events")
	e2, _ := DefinitionHash(q, "events")
	if h1 == h2 || e1 != e2 {
		t.Errorf("totals %s → %s (want a change), events %s → %s (want none)", h1, h2, e1, e2)
	}
	// A flow into the streaming table is part of its definition; catalog
	// and schema are not; a declared DefinitionProperty is ignored.
	q.Flows[0].Query = "SELECT id FROM STREAM(raw.app)"
	q.Catalog = "other"
	e3, _ := DefinitionHash(q, "events")
	if e3 == e1 {
		t.Error("changing the flow into events kept its definition hash")
	}
	r := p.Clone()
	r.Catalog, r.Database = "x", "y"
	for i := range r.Datasets {
		if r.Datasets[i].Name == "totals" {
			r.Datasets[i].TableProperties = map[string]string{DefinitionProperty: "forged"}
		}
	}
	if h, _ := DefinitionHash(r, "totals"); h != h1 {
		t.Errorf("environment or a declared %s changed the hash", DefinitionProperty)
	}
	s, err := stamp(p)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.Dataset("totals")
	if d.TableProperties[DefinitionProperty] != h1 {
		t.Errorf("stamped %v, want %s", d.TableProperties, h1)
	}
	if v, _ := s.Dataset("clean"); v.TableProperties != nil {
		t.Errorf("a temporary view was stamped: %v", v.TableProperties)
	}
	if orig, _ := p.Dataset("totals"); orig.TableProperties != nil {
		t.Error("stamp changed its input")
	}
}

func TestDiffColumns(t *testing.T) {
	before := []connect.Column{{Name: "id", Type: "int"}, {Name: "name", Type: "string", Nullable: true},
		{Name: "amount", Type: "double"}, {Name: "code", Type: "bigint", Nullable: true}}
	after := []connect.Column{{Name: "ID", Type: "bigint"}, {Name: "amount", Type: "double", Nullable: true},
		{Name: "code", Type: "int"}, {Name: "added", Type: "date", Nullable: true}}
	got := DiffColumns(before, after, false)
	want := []ColumnChange{
		{Column: "id", Change: "retyped", Before: "int", After: "bigint"},
		{Column: "name", Change: "removed", Before: "string", Breaking: true},
		{Column: "amount", Change: "nullability", Before: "NOT NULL", After: "nullable", Breaking: true},
		{Column: "code", Change: "retyped", Before: "bigint", After: "int", Breaking: true},
		{Column: "code", Change: "nullability", Before: "nullable", After: "NOT NULL"},
		{Column: "added", Change: "added", After: "date"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DiffColumns (-want +got):\n%s", d)
	}
	// A file-based table stores every column as nullable: a NOT NULL the
	// query computes is no change.
	stored := []connect.Column{{Name: "n", Type: "bigint", Nullable: true}}
	if got := DiffColumns(stored, []connect.Column{{Name: "n", Type: "bigint"}}, true); len(got) != 0 {
		t.Errorf("file-based table: %v, want no change", got)
	}
}

func TestBuildPlan(t *testing.T) {
	p := planPipeline(t, "SELECT id, sum(amount) AS total FROM clean GROUP BY id")
	def, _ := DefinitionHash(p, "totals")
	evDef, _ := DefinitionHash(p, "events")
	rows := int64(7)
	cols := map[string][]connect.Column{"totals": {{Name: "id", Type: "bigint"}, {Name: "total", Type: "double", Nullable: true}},
		"events": {{Name: "id", Type: "bigint", Nullable: true}}}
	in := PlanInput{Pipeline: p, Columns: cols,
		Tables: map[string]TableState{
			"totals": {Columns: []connect.Column{{Name: "id", Type: "bigint", Nullable: true}, {Name: "total", Type: "double", Nullable: true}},
				Definition: def, Format: "parquet", Rows: &rows},
			"events": {Columns: []connect.Column{{Name: "id", Type: "bigint", Nullable: true}}, Definition: evDef, Format: "parquet", Rows: &rows},
		},
		Parity: Compare(Profile{"4.3.0", "parquet"}, Profile{"4.3.1", "parquet"}, ParityRefuse)}
	plan, err := BuildPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, d := range plan.Datasets {
		actions = append(actions, d.Name+" "+d.Action+" "+d.Refresh)
	}
	if d := cmp.Diff([]string{"totals unchanged recompute", "events unchanged incremental"}, actions); d != "" {
		t.Errorf("actions (-want +got):\n%s", d)
	}
	if plan.Blocked() || !plan.Parity.Same {
		t.Errorf("an unchanged plan on the same minor is blocked: %s", plan.Text())
	}

	// A changed declaration, a full refresh of a protected table, another
	// minor version and a failed pre-flight.
	q := planPipeline(t, "SELECT id, sum(amount) AS total, count(*) AS n FROM clean GROUP BY id")
	in.Pipeline = q
	in.Columns["totals"] = append(in.Columns["totals"], connect.Column{Name: "n", Type: "bigint"})
	in.Options = RunOptions{FullRefresh: []string{"events"}}
	in.Protected = func(d string) string {
		if d == "events" {
			return "sales.events"
		}
		return ""
	}
	in.Parity = Compare(Profile{"4.3.0", "parquet"}, Profile{"4.2.1", "delta"}, ParityWarn)
	in.Preflight = pipeline.Problems{{On: "source", Name: "raw.orders", Message: "no such table in production"}}
	plan, err = BuildPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	text := plan.Text()
	for _, want := range []string{
		"replace definition totals",
		"columns: +n bigint",
		"unchanged          events            full refresh, 7 rows now; protected from full refresh",
		"refused: events would be fully refreshed, but the policy protects it",
		"warning: the sandbox runs Spark 4.3.0, production Spark 4.2.1",
		"source pre-flight: 1 problem(s)",
		"refused: the source pre-flight in production found 1 problem(s)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	if !plan.Blocked() || len(plan.FullRefresh) != 1 {
		t.Errorf("blocked %v, full refresh %v", plan.Blocked(), plan.FullRefresh)
	}
	// A materialized view whose declaration changed along with its columns
	// is dropped and created anew by the run (prepareTables): a retyped
	// column is no refusal, even in a parquet table, and the plan says so.
	in.Options, in.Preflight, in.Protected, in.Parity = RunOptions{}, nil, nil, nil
	in.Columns["totals"] = []connect.Column{{Name: "id", Type: "bigint"}, {Name: "total", Type: "float", Nullable: true}}
	plan, _ = BuildPlan(in)
	if d := plan.Datasets[0]; len(plan.Refusals) != 0 || d.Name != "totals" || !strings.Contains(d.Why, "creates it anew") {
		t.Errorf("retyped column of a redeclared view: refusals %q, %+v", plan.Refusals, d)
	}
	// Columns that changed under the same declaration (its sources
	// changed) are changed in place, and a parquet column cannot change
	// type in place: refused.
	qdef, _ := DefinitionHash(q, "totals")
	oldCols := in.Tables["totals"].Columns
	in.Tables["totals"] = TableState{Definition: qdef, Format: "parquet", Columns: oldCols}
	plan, _ = BuildPlan(in)
	if len(plan.Refusals) != 1 || !strings.Contains(plan.Refusals[0], "totals: column 2 would change from total double to total float") {
		t.Errorf("retyped parquet column: refusals %q", plan.Refusals)
	}
	// A widening works in place.
	in.Tables["totals"] = TableState{Definition: qdef, Format: "parquet", Columns: []connect.Column{
		{Name: "id", Type: "int", Nullable: true}, {Name: "total", Type: "double", Nullable: true}}}
	in.Columns["totals"] = []connect.Column{{Name: "id", Type: "bigint"}, {Name: "total", Type: "double", Nullable: true}}
	if plan, _ = BuildPlan(in); len(plan.Refusals) != 0 {
		t.Errorf("int → bigint in place: refusals %q", plan.Refusals)
	}

	// A streaming table keeps its rows on an incremental run: a column it
	// loses is refused with the fix; a full refresh recreates its table.
	in.Tables["totals"] = TableState{Definition: qdef, Format: "parquet", Columns: in.Columns["totals"]}
	in.Columns["events"] = []connect.Column{{Name: "event_id", Type: "bigint", Nullable: true}}
	plan, _ = BuildPlan(in)
	if len(plan.Refusals) != 1 || !strings.Contains(plan.Refusals[0], "events: column id bigint would go away") ||
		!strings.Contains(plan.Refusals[0], `full_refresh: ["events"]`) {
		t.Errorf("incremental streaming table losing a column: refusals %q", plan.Refusals)
	}
	in.Options = RunOptions{FullRefresh: []string{"events"}}
	plan, _ = BuildPlan(in)
	if d := plan.Datasets[1]; len(plan.Refusals) != 0 || d.Name != "events" || !strings.Contains(d.Why, "creates it anew") {
		t.Errorf("fully refreshed streaming table with new columns: refusals %q, %+v", plan.Refusals, d)
	}
	in.Options = RunOptions{}
	in.Columns["events"] = []connect.Column{{Name: "id", Type: "bigint"}, {Name: "source", Type: "string", Nullable: true}}
	if plan, _ = BuildPlan(in); len(plan.Refusals) != 0 {
		t.Errorf("a column added to a streaming table: refusals %q", plan.Refusals)
	}

	// A table this server never wrote is replaced: its definition is unknown.
	in.Tables["totals"] = TableState{Columns: in.Columns["totals"]}
	plan, _ = BuildPlan(in)
	if d := plan.Datasets[0]; d.Name != "totals" || d.Action != ActionReplace || !strings.Contains(d.Why, "not written by this server") {
		t.Errorf("unknown definition: %+v", d)
	}
}

func TestKeptColumns(t *testing.T) {
	before := []connect.Column{{Name: "id", Type: "int", Nullable: true}, {Name: "label", Type: "string", Nullable: true}}
	for _, tc := range []struct {
		after []connect.Column
		want  string
	}{
		{before, ""},
		{append(slices.Clone(before), connect.Column{Name: "n", Type: "bigint"}), ""},
		{[]connect.Column{{Name: "ID", Type: "INT"}, {Name: "label", Type: "string"}}, ""},                           // case of names and types, nullability
		{[]connect.Column{{Name: "label", Type: "string"}, {Name: "n", Type: "int"}, {Name: "id", Type: "int"}}, ""}, // by name, not position
		{before[:1], "column label string would go away"},
		{[]connect.Column{{Name: "id", Type: "bigint"}, {Name: "label", Type: "string"}}, "column id would change from int to bigint"},
	} {
		if got := keptColumns(before, tc.after); got != tc.want {
			t.Errorf("keptColumns(%v) = %q, want %q", tc.after, got, tc.want)
		}
	}
}
