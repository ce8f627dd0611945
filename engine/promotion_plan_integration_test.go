//go:build integration

package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// TestPromotionPlanOnServer runs a pipeline, then plans a changed version
// of it against what the run left on the server: the definition property
// the run wrote, the columns, the row counts and the server's profile.
// The changed materialized view's table is created anew by the run, in
// every format, so the plan goes ahead and the run is checked.
func TestPromotionPlanOnServer(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".orders (order_id INT, customer STRING, amount DOUBLE) USING parquet",
		"INSERT INTO "+e.src+".orders VALUES (1, 'ann', 5.0), (2, 'bob', 7.5), (3, 'ann', 1.0)")
	v1 := pipe(t, "plan", []pipeline.Dataset{
		{Name: "orders_clean", Kind: pipeline.MaterializedView, Query: "SELECT order_id, customer, amount FROM " + e.src + ".orders"},
		{Name: "totals", Kind: pipeline.MaterializedView, Query: "SELECT customer, sum(amount) AS total FROM orders_clean GROUP BY customer"},
	})
	res, err := e.eng.Run(e.ctx, v1, RunOptions{}, nil)
	if err != nil || !res.OK {
		t.Fatalf("run: %+v %v", res, err)
	}
	def, _ := DefinitionHash(v1, "totals")
	if got := e.rows("SHOW TBLPROPERTIES " + e.schema + ".totals ('" + DefinitionProperty + "')"); len(got) != 1 || got[0][1] != def {
		t.Fatalf("%s of totals = %v, want %s", DefinitionProperty, got, def)
	}

	// v2: totals gets another column and a narrower type; a new dataset.
	v2 := v1.Clone()
	for _, d := range []pipeline.Dataset{
		{Name: "totals", Kind: pipeline.MaterializedView, Query: "SELECT customer, CAST(sum(amount) AS FLOAT) AS total, count(*) AS orders FROM orders_clean GROUP BY customer"},
		{Name: "big", Kind: pipeline.MaterializedView, Query: "SELECT * FROM orders_clean WHERE amount > 5"},
	} {
		if _, err := v2.PutDataset(d); err != nil {
			t.Fatal(err)
		}
	}
	v, err := e.eng.Validate(e.ctx, v2)
	if err != nil || !v.OK {
		t.Fatalf("validate: %+v %v", v, err)
	}
	tables, err := e.eng.InspectTables(e.ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := e.eng.Profile(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	format := sparktest.Sandbox(t).Profile.Format
	if prof.SparkVersion == "" || prof.TableFormat != format {
		t.Errorf("profile %+v, want format %s", prof, format)
	}
	cols := map[string][]connect.Column{}
	for _, d := range v.Datasets {
		cols[d.Name] = d.Columns
	}
	plan, err := BuildPlan(PlanInput{Pipeline: e.eng.bind(v2), Columns: cols, Tables: tables, Parity: Compare(prof, prof, ParityRefuse)})
	if err != nil {
		t.Fatal(err)
	}
	text := plan.Text()
	t.Logf("\n%s", text)
	for _, want := range []string{
		"unchanged          orders_clean      recompute, 3 rows now",
		"create             big",
		"replace definition totals            recompute, 2 rows now; columns: total double → float, +orders bigint (breaks readers)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	// totals' table was written by a run of this server with another
	// declaration, so the run drops it and creates it anew with the new
	// columns, in every format (a parquet table in the metastore could not
	// change total's type in place).
	if len(plan.Refusals) != 0 {
		t.Fatalf("refusals %q on %s, want none", plan.Refusals, format)
	}
	for _, d := range plan.Datasets {
		if d.Name == "totals" && !strings.Contains(d.Why, "creates it anew") {
			t.Errorf("totals: why %q does not say the run creates its table anew", d.Why)
		}
	}
	e.run(v2, RunOptions{})
	e.checkRows("SELECT customer, total, orders FROM "+e.schema+".totals ORDER BY customer",
		[][]any{{"ann", float32(6), int64(2)}, {"bob", float32(7.5), int64(1)}})
}
