//go:build integration

package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// shop declares the lifecycle pipeline over the sources in src: source tables
// → a temporary view → two materialized views; a streaming table fed by two
// append flows; a streaming table with its own streaming query.
func shop(t *testing.T, src string) *pipeline.Pipeline {
	return pipe(t, "shop", []pipeline.Dataset{
		{Name: "orders_clean", Kind: pipeline.TemporaryView,
			Query: "SELECT order_id, customer_id, amount FROM " + src + ".orders WHERE amount IS NOT NULL"},
		{Name: "customer_totals", Kind: pipeline.MaterializedView,
			Query: "SELECT c.name, COUNT(*) AS orders, SUM(o.amount) AS total\nFROM orders_clean AS o JOIN " + src + ".customers AS c ON o.customer_id = c.customer_id\nGROUP BY c.name"},
		{Name: "big_orders", Kind: pipeline.MaterializedView, Query: "SELECT order_id, amount FROM orders_clean WHERE amount > 100"},
		{Name: "events", Kind: pipeline.StreamingTable, Comment: "every event, from both channels"},
		{Name: "orders_log", Kind: pipeline.StreamingTable, Query: "SELECT order_id, amount FROM STREAM(" + src + ".orders)"},
	},
		pipeline.Flow{Name: "web_events", Target: "events", Query: "SELECT id, kind, 'web' AS channel FROM STREAM(" + src + ".web)"},
		pipeline.Flow{Name: "app_events", Target: "events", Query: "SELECT id, kind, 'app' AS channel FROM STREAM " + src + ".app"},
	)
}

func TestPipelineLifecycle(t *testing.T) {
	e := newEnv(t, 20*time.Minute)
	e.exec(
		"CREATE TABLE "+e.src+".orders (order_id INT, customer_id INT, amount DOUBLE) USING parquet",
		"CREATE TABLE "+e.src+".customers (customer_id INT, name STRING) USING parquet",
		"CREATE TABLE "+e.src+".web (id INT, kind STRING) USING parquet",
		"CREATE TABLE "+e.src+".app (id INT, kind STRING) USING parquet",
		"INSERT INTO "+e.src+".orders VALUES (1, 1, 50.0), (2, 1, 150.0), (3, 2, NULL), (4, 2, 300.0)",
		"INSERT INTO "+e.src+".customers VALUES (1, 'ann'), (2, 'bob')",
		"INSERT INTO "+e.src+".web VALUES (1, 'click'), (2, 'view')",
		"INSERT INTO "+e.src+".app VALUES (10, 'click')",
	)
	p := shop(t, e.src)

	// Validate: analysis of every dataset and a dry-run; nothing written.
	t0 := time.Now()
	v, err := e.eng.Validate(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validate took %v", time.Since(t0))
	if !v.OK || len(v.Problems) > 0 {
		t.Fatalf("validate: %+v%s", v, problemsText(v.Problems))
	}
	if h, _ := p.Hash(); v.PipelineHash != h {
		t.Errorf("hash %s, want %s", v.PipelineHash, h)
	}
	if !strings.HasPrefix(v.Mermaid, "graph LR") || !strings.Contains(v.Mermaid, "d_customer_totals") {
		t.Errorf("mermaid:\n%s", v.Mermaid)
	}
	col := func(name, typ string, nullable bool) connect.Column {
		return connect.Column{Name: name, Type: typ, Nullable: nullable}
	}
	want := []DatasetInfo{
		{Name: "big_orders", Kind: pipeline.MaterializedView, DependsOn: []string{"orders_clean"},
			Columns: []connect.Column{col("order_id", "int", true), col("amount", "double", true)}},
		{Name: "customer_totals", Kind: pipeline.MaterializedView, DependsOn: []string{"orders_clean"},
			Columns: []connect.Column{col("name", "string", true), col("orders", "bigint", false), col("total", "double", true)}},
		{Name: "events", Kind: pipeline.StreamingTable, DependsOn: []string{"app_events", "web_events"},
			Columns: []connect.Column{col("id", "int", true), col("kind", "string", true), col("channel", "string", false)}},
		{Name: "orders_clean", Kind: pipeline.TemporaryView, DependsOn: []string{},
			Columns: []connect.Column{col("order_id", "int", true), col("customer_id", "int", true), col("amount", "double", true)}},
		{Name: "orders_log", Kind: pipeline.StreamingTable, DependsOn: []string{},
			Columns: []connect.Column{col("order_id", "int", true), col("amount", "double", true)}},
	}
	if d := cmp.Diff(want, v.Datasets); d != "" {
		t.Errorf("validated datasets (-want +got):\n%s", d)
	}
	if sandbox.FileBased(sparktest.Sandbox(t).Profile.Format) {
		if len(v.Warnings) != 1 || v.Warnings[0].Name != "events" {
			t.Errorf("warnings %v, want one about events (two flows into a file-based streaming table)", v.Warnings)
		}
	} else if len(v.Warnings) != 0 {
		t.Errorf("warnings %v, want none: %s keeps two flows into one streaming table exact", v.Warnings, sparktest.Sandbox(t).Profile.Format)
	}
	if got := e.tables(); len(got) != 0 {
		t.Errorf("validation wrote tables %v", got)
	}

	// The first run writes everything.
	var progress []Progress
	res, err := e.eng.Run(e.ctx, p, RunOptions{}, func(pr Progress) { progress = append(progress, pr) })
	if err != nil || !res.OK {
		t.Fatalf("run: %v %+v", err, res)
	}
	t.Logf("first run took %v", res.Duration)
	wantStatus := map[string]string{"orders_clean": "completed", "customer_totals": "completed", "big_orders": "completed",
		"web_events": "completed", "app_events": "completed", "events": "completed", "orders_log": "completed"}
	if d := cmp.Diff(wantStatus, statuses(res)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if len(progress) == 0 {
		t.Fatal("no progress reported")
	}
	last := progress[len(progress)-1]
	if last.Total != 5 || last.Done != 5 || last.Message != "Run is COMPLETED." {
		t.Errorf("last progress %+v, want 5/5 Run is COMPLETED.", last)
	}
	if got := e.tables(); !slices.Equal(got, []string{"big_orders", "customer_totals", "events", "orders_log"}) {
		t.Errorf("tables %v", got)
	}
	e.checkRows("SELECT * FROM "+e.schema+".customer_totals ORDER BY name",
		[][]any{{"ann", int64(2), 200.0}, {"bob", int64(1), 300.0}})
	e.checkRows("SELECT * FROM "+e.schema+".big_orders ORDER BY order_id", [][]any{{int32(2), 150.0}, {int32(4), 300.0}})
	e.checkRows("SELECT * FROM "+e.schema+".orders_log ORDER BY order_id",
		[][]any{{int32(1), 50.0}, {int32(2), 150.0}, {int32(3), nil}, {int32(4), 300.0}})
	checkEvents(t, e, [][]int32{{1, 2}}, [][]int32{{10}})

	// New source rows: the streaming tables append only them; the
	// materialized views are recomputed.
	e.exec("INSERT INTO "+e.src+".orders VALUES (5, 2, 500.0)",
		"INSERT INTO "+e.src+".web VALUES (3, 'click')",
		"INSERT INTO "+e.src+".app VALUES (11, 'view')")
	res = e.run(p, RunOptions{})
	e.checkRows("SELECT * FROM "+e.schema+".orders_log ORDER BY order_id",
		[][]any{{int32(1), 50.0}, {int32(2), 150.0}, {int32(3), nil}, {int32(4), 300.0}, {int32(5), 500.0}})
	e.checkRows("SELECT * FROM "+e.schema+".customer_totals ORDER BY name",
		[][]any{{"ann", int64(2), 200.0}, {"bob", int64(2), 800.0}})
	e.checkRows("SELECT * FROM "+e.schema+".big_orders ORDER BY order_id",
		[][]any{{int32(2), 150.0}, {int32(4), 300.0}, {int32(5), 500.0}})
	checkEvents(t, e, [][]int32{{1, 2}, {3}}, [][]int32{{10}, {11}})

	// Full refresh of orders_log: recomputed from a new checkpoint, every
	// source row exactly once; the rest is excluded and stays as it was.
	e.exec("INSERT INTO " + e.src + ".orders VALUES (6, 1, 20.0)")
	res = e.run(p, RunOptions{FullRefresh: []string{"orders_log"}})
	if d := cmp.Diff(map[string]string{"orders_clean": "excluded", "customer_totals": "excluded", "big_orders": "excluded",
		"web_events": "excluded", "app_events": "excluded", "events": "excluded", "orders_log": "completed"}, statuses(res)); d != "" {
		t.Errorf("full refresh statuses (-want +got):\n%s", d)
	}
	e.checkRows("SELECT * FROM "+e.schema+".orders_log ORDER BY order_id",
		[][]any{{int32(1), 50.0}, {int32(2), 150.0}, {int32(3), nil}, {int32(4), 300.0}, {int32(5), 500.0}, {int32(6), 20.0}})
	e.checkRows("SELECT * FROM "+e.schema+".customer_totals ORDER BY name",
		[][]any{{"ann", int64(2), 200.0}, {"bob", int64(2), 800.0}})
	cp := filepath.Join(strings.TrimPrefix(e.storage, "file://"), "shop", "_checkpoints", "spark_catalog", e.schema, "orders_log", "orders_log")
	for _, n := range []string{"0", "1"} {
		if _, err := os.Stat(filepath.Join(cp, n)); err != nil {
			t.Errorf("checkpoint %s of orders_log under the pipeline's storage: %v", n, err)
		}
	}

	// Refresh selection: only customer_totals (and the view it reads).
	e.exec("INSERT INTO " + e.src + ".orders VALUES (7, 1, 30.0)")
	res = e.run(p, RunOptions{Refresh: []string{"customer_totals"}})
	if d := cmp.Diff(map[string]string{"orders_clean": "completed", "customer_totals": "completed", "big_orders": "excluded",
		"web_events": "excluded", "app_events": "excluded", "events": "excluded", "orders_log": "excluded"}, statuses(res)); d != "" {
		t.Errorf("refresh statuses (-want +got):\n%s", d)
	}
	e.checkRows("SELECT * FROM "+e.schema+".customer_totals ORDER BY name",
		[][]any{{"ann", int64(4), 250.0}, {"bob", int64(2), 800.0}})
	e.checkRows("SELECT count(*) FROM "+e.schema+".orders_log", [][]any{{int64(6)}})
	e.checkRows("SELECT count(*) FROM "+e.schema+".big_orders", [][]any{{int64(3)}})
}

// checkEvents checks the streaming table fed by two flows after runs that
// brought the given source batches of web and app events. Each row must
// come from a batch of its channel, at most once (a run appends only new
// rows), and each flow's batch is all or nothing. On file-based tables Spark
// 4.3 loses a flow's batch when both flows commit one with the same batch
// number (see Engine.warnings); then the run's events must have reported
// the collision, or the batch was silently skipped, which the test records.
func checkEvents(t *testing.T, e *env, web, app [][]int32) {
	t.Helper()
	got := map[string]int{}
	for _, r := range e.rows("SELECT channel, id FROM " + e.schema + ".events") {
		got[r[0].(string)+":"+itoa(r[1].(int32))]++
	}
	expected := map[string]bool{}
	lost := 0
	for _, ch := range []struct {
		name    string
		batches [][]int32
	}{{"web", web}, {"app", app}} {
		for _, batch := range ch.batches {
			present := 0
			for _, id := range batch {
				k := ch.name + ":" + itoa(id)
				expected[k] = true
				if got[k] > 0 {
					present++
				}
			}
			if present != 0 && present != len(batch) {
				t.Errorf("events holds part of %s batch %v: %v", ch.name, batch, got)
			}
			if present == 0 {
				lost++
			}
		}
	}
	for k, n := range got {
		if !expected[k] {
			t.Errorf("events holds unexpected row %s", k)
		}
		if n > 1 {
			t.Errorf("events holds %s %d times: a run appended old rows again", k, n)
		}
	}
	if lost > 0 && !sandbox.FileBased(sparktest.Sandbox(t).Profile.Format) {
		t.Errorf("events lost %d of %d flow batches on %s, whose transaction log keeps two flows exact; rows %v",
			lost, len(web)+len(app), sparktest.Sandbox(t).Profile, got)
	} else if lost > 0 {
		t.Logf("KNOWN SPARK LIMITATION (warned by Validate): events lost %d of %d flow batches; rows %v", lost, len(web)+len(app), got)
	}
	if lost == len(web)+len(app) {
		t.Errorf("events received nothing: %v", got)
	}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }
