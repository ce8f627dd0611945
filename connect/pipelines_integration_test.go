//go:build integration

package connect_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// What the events of a real Spark 4.3.0 run look like (StartRun streams
// them as plain text; recorded from the shared sandbox):
//
//	"Flow spark_catalog.sdp_it_x.upper_names is QUEUED."
//	"Flow spark_catalog.sdp_it_x.upper_names is PLANNING."     (batch flows only)
//	"Flow spark_catalog.sdp_it_x.raw_copy is STARTING."
//	"Flow spark_catalog.sdp_it_x.raw_copy is RUNNING."
//	"Flow spark_catalog.sdp_it_x.raw_copy has COMPLETED."
//	"Flow 'spark_catalog.sdp_it_x.raw_copy' is EXCLUDED."      (not selected by Refresh/FullRefresh)
//	"Run is COMPLETED."                                        (the only event of a successful dry run)
//	"Failed to resolve flow: 'spark_catalog.sdp_it_x.bad'.\nError: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column,
//	 variable, or function parameter with name `nope` cannot be resolved. ... SQLSTATE: 42703; line 1 pos 7;\n'Project ['nope]\n..."
//	"Failed to resolve flow due to upstream failure: 'spark_catalog.sdp_it_x.downstream'.\nError: Failed to read dataset
//	 'spark_catalog.sdp_it_x.bad'. Dataset is defined in the pipeline but could not be resolved."  (sent before the cause)
//	"Flow 'spark_catalog.sdp_it_x.from_src' has FAILED.\nError: [STREAM_FAILED] Query [id = ..., runId = ...] terminated
//	 with exception: Race while writing batch 0 to the file sink metadata log at file:.../merged: another writer
//	 already committed this batch. ... SQLSTATE: XXKST\n=== Streaming Query ===\n..."
//
// Flow names are fully qualified; the flow of a dataset defined with AS has
// the dataset's name, a CREATE FLOW has its own. Progress messages leave the
// name unquoted, failures, exclusions and skips quote it. A failed flow is
// retried (its FAILED event is followed by STARTING again), so FAILED is
// final only when no later event names the flow. A run that fails is not
// announced by an event: the stream ends with the run's error.

// pipelineSchema creates a schema unique to the test and drops it at the end.
func pipelineSchema(t *testing.T, ctx context.Context, c *connect.Client) string {
	t.Helper()
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	schema := fmt.Sprintf("sdp_it_%s_%d", name, time.Now().UnixNano()%1e9)
	sqlExec(t, ctx, c, "CREATE SCHEMA "+schema)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = c.Collect(cctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+schema+" CASCADE"), connect.ExecOptions{})
	})
	return schema
}

func sqlExec(t *testing.T, ctx context.Context, c *connect.Client, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func queryRows(t *testing.T, ctx context.Context, c *connect.Client, query string) [][]any {
	t.Helper()
	res, err := c.Collect(ctx, connect.SQL(query), connect.ExecOptions{})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res.Rows
}

func checkRows(t *testing.T, ctx context.Context, c *connect.Client, query string, want [][]any) {
	t.Helper()
	if d := cmp.Diff(want, queryRows(t, ctx, c, query)); d != "" {
		t.Errorf("%s (-want +got):\n%s", query, d)
	}
}

// tablesIn lists the tables of schema, sorted.
func tablesIn(t *testing.T, ctx context.Context, c *connect.Client, schema string) []string {
	t.Helper()
	var out []string
	for _, r := range queryRows(t, ctx, c, "SHOW TABLES IN "+schema) {
		if r[2] == true { // isTemporary
			continue
		}
		out = append(out, r[1].(string))
	}
	slices.Sort(out)
	return out
}

// storageRoot is a fresh pipeline storage root as Spark wants it: an absolute
// file:// URI (a bare path is refused).
func storageRoot(t *testing.T) (uri, dir string) {
	dir = t.TempDir()
	return "file://" + filepath.ToSlash(dir), dir
}

// defineGraph creates a graph in schema and registers sqlText as one file.
func defineGraph(t *testing.T, ctx context.Context, c *connect.Client, schema, sqlText string) *connect.Graph {
	t.Helper()
	g, err := c.CreateDataflowGraph(ctx, connect.GraphOptions{DefaultDatabase: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.DefineSQL(ctx, "transformations/pipeline.sql", sqlText); err != nil {
		t.Fatal(err)
	}
	return g
}

// runGraph defines sqlText in a new graph (a graph runs once) and runs it.
func runGraph(t *testing.T, ctx context.Context, c *connect.Client, schema, sqlText string, opts connect.RunOptions) (*connect.RunResult, error) {
	t.Helper()
	g := defineGraph(t, ctx, c, schema, sqlText)
	res, err := g.StartRun(ctx, opts, func(ev connect.PipelineEvent) {
		t.Logf("event %s %.300q", ev.Time.Format("15:04:05.000"), ev.Message)
	})
	if err == nil {
		t.Logf("run (dry=%v refresh=%v full=%v) took %v with %d events", opts.Dry, opts.Refresh, opts.FullRefresh, res.Duration, len(res.Events))
	}
	return res, err
}

// flowStates maps each flow to the states the events report for it, in order.
func flowStates(events []connect.PipelineEvent) map[string][]string {
	out := map[string][]string{}
	for _, ev := range events {
		if u, ok := ev.FlowUpdate(); ok {
			out[u.Flow] = append(out[u.Flow], u.State)
		}
	}
	return out
}

func lastRunState(events []connect.PipelineEvent) string {
	if len(events) == 0 {
		return ""
	}
	s, _ := events[len(events)-1].RunState()
	return s
}

const endToEndSQL = `
-- a batch dataset, a temporary view over it, and a dataset over the view
CREATE MATERIALIZED VIEW upper_names AS SELECT id, upper(name) AS name FROM src;
CREATE TEMPORARY VIEW recent AS SELECT * FROM upper_names WHERE id > 1;
CREATE MATERIALIZED VIEW recent_names AS SELECT * FROM recent;

-- a streaming table with its own flow
CREATE STREAMING TABLE raw_copy AS SELECT * FROM STREAM(src);

-- a streaming table fed by two flows
CREATE STREAMING TABLE merged;
CREATE FLOW from_src AS INSERT INTO merged BY NAME SELECT id, name FROM STREAM(src);
CREATE FLOW from_src_shifted AS INSERT INTO merged BY NAME SELECT id + 100 AS id, name FROM STREAM(src);
`

func TestPipelineEndToEnd(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 10*time.Minute)
	schema := pipelineSchema(t, ctx, c)
	q := func(name string) string { return "spark_catalog." + schema + "." + name }
	sqlExec(t, ctx, c,
		"CREATE TABLE "+schema+".src (id INT, name STRING) USING parquet",
		"INSERT INTO "+schema+".src VALUES (1, 'a'), (2, 'b')")
	storage, storageDir := storageRoot(t)

	// A dry run resolves and validates the whole graph and writes nothing.
	res, err := runGraph(t, ctx, c, schema, endToEndSQL, connect.RunOptions{Dry: true, Storage: storage})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if lastRunState(res.Events) != "COMPLETED" {
		t.Errorf("dry run events %v, want a final Run is COMPLETED.", res.Events)
	}
	if got := tablesIn(t, ctx, c, schema); !slices.Equal(got, []string{"src"}) {
		t.Errorf("after the dry run the schema holds %v, want only src", got)
	}
	if entries, err := os.ReadDir(storageDir); err != nil || len(entries) != 0 {
		t.Errorf("the dry run wrote to the storage root: %v %v", entries, err)
	}

	// The first run writes every dataset.
	res, err = runGraph(t, ctx, c, schema, endToEndSQL, connect.RunOptions{Storage: storage})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if lastRunState(res.Events) != "COMPLETED" {
		t.Errorf("last event %v, want Run is COMPLETED.", res.Events[len(res.Events)-1])
	}
	states := flowStates(res.Events)
	for _, f := range []string{"upper_names", "recent_names", "raw_copy", "from_src", "from_src_shifted"} {
		s := states[q(f)]
		if len(s) == 0 || s[0] != connect.FlowQueued || s[len(s)-1] != connect.FlowCompleted {
			t.Errorf("flow %s went through %v, want QUEUED ... COMPLETED", f, s)
		}
	}
	if got := tablesIn(t, ctx, c, schema); !slices.Equal(got, []string{"merged", "raw_copy", "recent_names", "src", "upper_names"}) {
		t.Errorf("tables %v: the temporary view must not be persisted, every dataset must be", got)
	}
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".upper_names ORDER BY id", [][]any{{int32(1), "A"}, {int32(2), "B"}})
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".recent_names ORDER BY id", [][]any{{int32(2), "B"}})
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".raw_copy ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}})
	firstMerge := res.Events

	// A second run after new source rows: the streaming tables append only
	// the new rows, the materialized views are recomputed.
	sqlExec(t, ctx, c, "INSERT INTO "+schema+".src VALUES (3, 'c')")
	res, err = runGraph(t, ctx, c, schema, endToEndSQL, connect.RunOptions{Storage: storage})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".raw_copy ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}})
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".upper_names ORDER BY id", [][]any{{int32(1), "A"}, {int32(2), "B"}, {int32(3), "C"}})
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".recent_names ORDER BY id", [][]any{{int32(2), "B"}, {int32(3), "C"}})
	checkMerged(t, ctx, c, schema, append(firstMerge, res.Events...))

	// Refresh selection: only upper_names is updated.
	sqlExec(t, ctx, c, "INSERT INTO "+schema+".src VALUES (4, 'd')")
	res, err = runGraph(t, ctx, c, schema, endToEndSQL, connect.RunOptions{Storage: storage, Refresh: []string{"upper_names"}})
	if err != nil {
		t.Fatalf("refresh run: %v", err)
	}
	states = flowStates(res.Events)
	if s := states[q("raw_copy")]; !slices.Equal(s, []string{connect.FlowExcluded}) {
		t.Errorf("raw_copy went through %v in a run refreshing upper_names only, want EXCLUDED", s)
	}
	checkRows(t, ctx, c, "SELECT count(*) FROM "+schema+".upper_names", [][]any{{int64(4)}})
	checkRows(t, ctx, c, "SELECT count(*) FROM "+schema+".raw_copy", [][]any{{int64(3)}})
	checkRows(t, ctx, c, "SELECT count(*) FROM "+schema+".recent_names", [][]any{{int64(2)}})

	// Full refresh selection: raw_copy starts over from a new checkpoint
	// and ends with every source row exactly once; the rest is untouched.
	sqlExec(t, ctx, c, "INSERT INTO "+schema+".src VALUES (5, 'e')")
	res, err = runGraph(t, ctx, c, schema, endToEndSQL, connect.RunOptions{Storage: storage, FullRefresh: []string{"raw_copy"}})
	if err != nil {
		t.Fatalf("full refresh run: %v", err)
	}
	if s := flowStates(res.Events)[q("upper_names")]; !slices.Equal(s, []string{connect.FlowExcluded}) {
		t.Errorf("upper_names went through %v in a run fully refreshing raw_copy only, want EXCLUDED", s)
	}
	checkRows(t, ctx, c, "SELECT * FROM "+schema+".raw_copy ORDER BY id",
		[][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}, {int32(4), "d"}, {int32(5), "e"}})
	checkRows(t, ctx, c, "SELECT count(*) FROM "+schema+".upper_names", [][]any{{int64(4)}})
	// Checkpoints live under <storage>/_checkpoints/<catalog>/<db>/<table>/<flow>/<n>;
	// a full refresh moves on to the next n.
	cp := filepath.Join(storageDir, "_checkpoints", "spark_catalog", schema, "raw_copy", "raw_copy")
	for _, n := range []string{"0", "1"} {
		if _, err := os.Stat(filepath.Join(cp, n)); err != nil {
			t.Errorf("checkpoint %s of raw_copy: %v", n, err)
		}
	}
}

// checkMerged checks the streaming table fed by two flows after two runs
// (source batches {1,2} and {3}). On Spark 4.3.0 with file-based tables the
// two flows share the table's _spark_metadata log, whose entries are keyed
// by batch id, and each flow counts its own batches from 0. When one flow
// commits batch N after the other did, the file sink skips it as "already
// committed" (server log: "Skipping already committed batch N") and its rows
// are lost without any event; when both commit at the same moment, the
// second fails with "Race while writing batch N" (a FAILED event), is
// retried, and then skips. So every source batch lands from at least one
// flow and each flow's batch is all or nothing, but a flow's batches can
// vanish silently.
func checkMerged(t *testing.T, ctx context.Context, c *connect.Client, schema string, events []connect.PipelineEvent) {
	t.Helper()
	got := map[int32]bool{}
	for _, r := range queryRows(t, ctx, c, "SELECT id FROM "+schema+".merged") {
		id := r[0].(int32)
		if got[id] {
			t.Errorf("merged holds id %d twice", id)
		}
		got[id] = true
	}
	lost := 0
	for _, batch := range [][]int32{{1, 2}, {3}} {
		present := 0
		for _, shift := range []int32{0, 100} {
			n := 0
			for _, id := range batch {
				if got[id+shift] {
					n++
				}
			}
			if n != 0 && n != len(batch) {
				t.Errorf("merged holds part of batch %v (+%d): %v", batch, shift, got)
			}
			if n == len(batch) {
				present++
			} else {
				lost++
			}
		}
		if present == 0 {
			t.Errorf("no flow delivered source batch %v to merged: %v", batch, got)
		}
	}
	if lost > 0 {
		races := 0
		for _, ev := range events {
			if u, ok := ev.FlowUpdate(); ok && u.State == connect.FlowFailed && strings.Contains(u.Error, "Race while writing batch") {
				races++
			}
		}
		t.Logf("KNOWN SPARK LIMITATION: merged lost %d of 4 flow batches, %d of them with a reported race (two flows into one file-based streaming table share its _spark_metadata log); ids %v", lost, races, got)
	}
}

func TestPipelineDryRunReportsFailingDataset(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 5*time.Minute)
	schema := pipelineSchema(t, ctx, c)
	sqlExec(t, ctx, c, "CREATE TABLE "+schema+".src (id INT, name STRING) USING parquet")
	storage, _ := storageRoot(t)
	const sqlText = `
CREATE MATERIALIZED VIEW good AS SELECT id FROM src;
CREATE MATERIALIZED VIEW bad AS SELECT nope FROM src;
CREATE MATERIALIZED VIEW downstream AS SELECT * FROM bad;
`
	t0 := time.Now()
	_, err := runGraph(t, ctx, c, schema, sqlText, connect.RunOptions{Dry: true, Storage: storage})
	t.Logf("failing dry run took %v", time.Since(t0))
	var re *connect.RunError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RunError", err)
	}
	var se *connect.SparkError
	if !errors.As(err, &se) || !strings.HasSuffix(se.ExceptionClass, "UnresolvedPipelineException") {
		t.Errorf("run error %#v, want Spark's UnresolvedPipelineException", se)
	}
	bad, downstream := "spark_catalog."+schema+".bad", "spark_catalog."+schema+".downstream"
	if !slices.Equal(re.FailedFlows, []string{bad}) {
		t.Errorf("FailedFlows %v, want [%s]", re.FailedFlows, bad)
	}
	if len(re.Failures) != 2 {
		t.Fatalf("failures %+v, want bad and downstream", re.Failures)
	}
	f := re.Failures[0]
	if f.Flow != bad || f.Upstream || !strings.HasPrefix(f.ErrorClass, "UNRESOLVED_COLUMN") || !strings.Contains(f.Message, "`nope`") {
		t.Errorf("failure of bad: %+v, want UNRESOLVED_COLUMN naming `nope`", f)
	}
	if f := re.Failures[1]; f.Flow != downstream || !f.Upstream {
		t.Errorf("failure of downstream: %+v, want an upstream failure", f)
	}
	if !strings.Contains(err.Error(), "flow "+bad+": [UNRESOLVED_COLUMN") {
		t.Errorf("message %q does not name the failing dataset and class", err)
	}
	if got := tablesIn(t, ctx, c, schema); !slices.Equal(got, []string{"src"}) {
		t.Errorf("a failed dry run left tables %v", got)
	}

	// A storage root must be an absolute URI: "file:" + path is accepted
	// as well as "file://" + path; a bare path is refused before sending
	// (Spark would answer PIPELINE_STORAGE_ROOT_INVALID).
	const good = "CREATE MATERIALIZED VIEW good AS SELECT id FROM src"
	if _, err := runGraph(t, ctx, c, schema, good, connect.RunOptions{Dry: true, Storage: "file:" + filepath.ToSlash(t.TempDir())}); err != nil {
		t.Errorf("file: storage: %v", err)
	}
	g := defineGraph(t, ctx, c, schema, good)
	if _, err := g.StartRun(ctx, connect.RunOptions{Dry: true, Storage: t.TempDir()}, nil); err == nil || !strings.Contains(err.Error(), "absolute URI") {
		t.Errorf("bare path storage: got %v, want it refused", err)
	}
}

func TestPipelineGraphLifecycle(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 5*time.Minute)
	schema := pipelineSchema(t, ctx, c)
	storage, _ := storageRoot(t)
	g := defineGraph(t, ctx, c, schema, "CREATE MATERIALIZED VIEW one AS SELECT 1 AS x")
	if _, err := g.StartRun(ctx, connect.RunOptions{Dry: true, Storage: storage}, nil); err != nil {
		t.Fatal(err)
	}
	// Spark keeps the execution of a graph's first run and refuses another.
	if _, err := g.StartRun(ctx, connect.RunOptions{Storage: storage}, nil); !errors.Is(err, connect.ErrGraphAlreadyRun) {
		t.Fatalf("second run on one graph: %v, want ErrGraphAlreadyRun", err)
	}
	if err := g.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	err := g.DefineSQL(ctx, "again.sql", "CREATE MATERIALIZED VIEW two AS SELECT 2 AS x")
	if !strings.Contains(connect.ErrorClassOf(err), "DATAFLOW_GRAPH_NOT_FOUND") {
		t.Errorf("define on a dropped graph: %v, want DATAFLOW_GRAPH_NOT_FOUND", err)
	}
	// Registration errors carry the file name given to DefineSQL.
	g2, err := c.CreateDataflowGraph(ctx, connect.GraphOptions{DefaultDatabase: schema})
	if err != nil {
		t.Fatal(err)
	}
	err = g2.DefineSQL(ctx, "transformations/bad.sql", "CREATE TABLE plain (x INT)")
	if connect.ErrorClassOf(err) != "PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR" || !strings.Contains(err.Error(), "transformations/bad.sql:1") {
		t.Errorf("unsupported statement: %v, want a registration error at transformations/bad.sql:1", err)
	}
}

// TestPipelineSQLFeatures records which table clauses SDP SQL accepts on the
// pinned Spark version, and whether they take effect.
func TestPipelineSQLFeatures(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 10*time.Minute)
	schema := pipelineSchema(t, ctx, c)
	sqlExec(t, ctx, c,
		"CREATE TABLE "+schema+".src (id INT, name STRING) USING parquet",
		"INSERT INTO "+schema+".src VALUES (1, 'a')")
	storage, _ := storageRoot(t)

	// Accepted and applied.
	const accepted = `
CREATE MATERIALIZED VIEW m_part PARTITIONED BY (name) AS SELECT * FROM src;
CREATE MATERIALIZED VIEW m_comment COMMENT 'hello mv' AS SELECT * FROM src;
CREATE MATERIALIZED VIEW m_props TBLPROPERTIES ('k1' = 'v1') AS SELECT * FROM src;
CREATE MATERIALIZED VIEW m_cols (id INT, name STRING COMMENT 'the name') AS SELECT * FROM src;
CREATE STREAMING TABLE s_all (id INT, name STRING) PARTITIONED BY (name) COMMENT 'st' TBLPROPERTIES ('a' = 'b') AS SELECT * FROM STREAM(src);
CREATE STREAMING TABLE s_cluster CLUSTER BY (id) AS SELECT * FROM STREAM(src);
`
	if _, err := runGraph(t, ctx, c, schema, accepted, connect.RunOptions{Storage: storage}); err != nil {
		t.Fatalf("run: %v", err)
	}
	describe := func(table string) string {
		var b strings.Builder
		for _, r := range queryRows(t, ctx, c, "DESCRIBE TABLE EXTENDED "+schema+"."+table) {
			fmt.Fprintf(&b, "%v|%v|%v\n", r[0], r[1], r[2])
		}
		return b.String()
	}
	// Delta adds its protocol versions to the table properties, and its
	// tables written by a flow with CLUSTER BY come out partitioned by the
	// clustering columns (Delta 4.4.0 on Spark 4.2.0).
	format := sparktest.Sandbox(t).Profile.Format
	clustered := "# Clustering Information|"
	if format == sandbox.FormatDelta {
		clustered = "# Partition Information|"
	}
	for table, want := range map[string][]string{
		"m_part":    {"# Partition Information|", "name|string|"},
		"m_comment": {"Comment|hello mv|"},
		"m_props":   {"Table Properties|[", "k1=v1"},
		"m_cols":    {"name|string|the name"},
		"s_all":     {"# Partition Information|", "Comment|st|", "Table Properties|[a=b"},
		"s_cluster": {clustered, "id|int|"},
	} {
		d := describe(table)
		for _, w := range want {
			if !strings.Contains(d, w) {
				t.Errorf("DESCRIBE %s lacks %q:\n%s", table, w, d)
			}
		}
		checkRows(t, ctx, c, "SELECT id, name FROM "+schema+"."+table, [][]any{{int32(1), "a"}})
	}

	// Refused.
	for _, tc := range []struct {
		name, sql, class string
		at               string // define, dry or run
	}{
		// The parser has no expectations.
		{"expect", "CREATE MATERIALIZED VIEW m_expect (id INT, name STRING, CONSTRAINT id_set EXPECT (id IS NOT NULL) ON VIOLATION DROP ROW) AS SELECT * FROM src", "PARSE_SYNTAX_ERROR", "define"},
		// Partitioning: identity columns only.
		{"partition transform", "CREATE MATERIALIZED VIEW m_bucket PARTITIONED BY (bucket(2, id)) AS SELECT * FROM src", "PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR", "define"},
		// A column list must match the query's schema exactly: no casts.
		{"column list with other type", "CREATE MATERIALIZED VIEW m_long (id BIGINT, name STRING) AS SELECT * FROM src", "USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE", "dry"},
		{"column list with NOT NULL", "CREATE MATERIALIZED VIEW m_nn (id INT NOT NULL, name STRING) AS SELECT * FROM src", "USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE", "dry"},
		// CLUSTER BY on a materialized view passes the dry run but its
		// flow fails (three attempts) when written to parquet; Delta
		// clusters the table.
		{"materialized view cluster by", "CREATE MATERIALIZED VIEW m_cluster CLUSTER BY (id) AS SELECT * FROM src", "SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED", "run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.at == "run" && format == sandbox.FormatDelta {
				if _, err := runGraph(t, ctx, c, schema, tc.sql, connect.RunOptions{Storage: storage}); err != nil {
					t.Fatalf("run on %s: %v, want success", format, err)
				}
				if d := describe("m_cluster"); !strings.Contains(d, clustered) {
					t.Errorf("m_cluster on %s lacks %q:\n%s", format, clustered, d)
				}
				return
			}
			g, err := c.CreateDataflowGraph(ctx, connect.GraphOptions{DefaultDatabase: schema})
			if err != nil {
				t.Fatal(err)
			}
			err = g.DefineSQL(ctx, "features.sql", tc.sql)
			if tc.at == "define" {
				if connect.ErrorClassOf(err) != tc.class {
					t.Fatalf("define: %v, want %s", err, tc.class)
				}
				return
			}
			if err != nil {
				t.Fatalf("define: %v", err)
			}
			if tc.at == "run" {
				if _, derr := runGraph(t, ctx, c, schema, tc.sql, connect.RunOptions{Dry: true, Storage: storage}); derr != nil {
					t.Errorf("dry run: %v, want success", derr)
				}
			}
			_, err = g.StartRun(ctx, connect.RunOptions{Dry: tc.at == "dry", Storage: storage}, nil)
			var re *connect.RunError
			if !errors.As(err, &re) || connect.ErrorClassOf(err) != tc.class {
				t.Fatalf("run: %v, want a RunError of class %s", err, tc.class)
			}
			t.Logf("%s: %s", tc.at, firstLineOf(err.Error()))
			if tc.at == "run" && !slices.Equal(re.FailedFlows, []string{"spark_catalog." + schema + ".m_cluster"}) {
				t.Errorf("FailedFlows %v", re.FailedFlows)
			}
		})
	}
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// slowGraph has a slow dataset (about 8 s of task time on the 2-core
// sandbox: 4 rows sleeping 4 s each in 2 partitions) and one that can only
// start after it.
const slowGraph = `
CREATE MATERIALIZED VIEW slow AS SELECT id, reflect('java.lang.Thread', 'sleep', CAST(4000 AS BIGINT)) AS s FROM range(0, 4, 1, 2);
CREATE MATERIALIZED VIEW after_slow AS SELECT count(*) AS n FROM slow;
`

// cancelWhenRunning starts a run of slowGraph and cancels it once slow runs.
func cancelWhenRunning(t *testing.T, c *connect.Client, schema string, opts connect.RunOptions) (time.Duration, error) {
	t.Helper()
	ctx := sparktest.Context(t, 5*time.Minute)
	g := defineGraph(t, ctx, c, schema, slowGraph)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cancelled time.Time
	_, err := g.StartRun(rctx, opts, func(ev connect.PipelineEvent) {
		t.Logf("event %q", ev.Message)
		if u, ok := ev.FlowUpdate(); ok && u.State == connect.FlowRunning && cancelled.IsZero() {
			time.Sleep(500 * time.Millisecond)
			cancelled = time.Now()
			cancel()
		}
	})
	if cancelled.IsZero() {
		t.Fatalf("the run ended before it could be cancelled: %v", err)
	}
	return time.Since(cancelled), err
}

// freshCount counts the rows of table as they are now. Another session's
// cached file listing of a table is not refreshed by a pipeline's writes,
// hence the REFRESH.
func freshCount(t *testing.T, ctx context.Context, c *connect.Client, table string) int64 {
	t.Helper()
	sqlExec(t, ctx, c, "REFRESH TABLE "+table)
	return queryRows(t, ctx, c, "SELECT count(*) FROM "+table)[0][0].(int64)
}

// TestPipelineCancel cancels a run while its first flow is writing. The
// run's operation is interrupted and StartRun returns at once; nothing
// carries the run's tag any more. On Spark 4.3.0 the flow under way still
// finishes and commits (the interrupt reaches no Spark job of the pipeline),
// but the pipeline stops when it next reports progress: its event sender is
// shut down, the server logs STREAM_LIFECYCLE_EVENT_SEND_AFTER_SHUTDOWN, and
// the flows not yet started are skipped ("SKIPPED due to upstream
// failure(s)" in the server log). Should this test fail, revise the
// cancellation paragraph of StartRun's doc.
func TestPipelineCancel(t *testing.T) {
	owner := sparktest.Client(t)
	ctx := sparktest.Context(t, 5*time.Minute)
	schema := pipelineSchema(t, ctx, owner)
	c := sparktest.Client(t)
	storage, _ := storageRoot(t)
	took, err := cancelWhenRunning(t, c, schema, connect.RunOptions{Storage: storage, Tags: []string{"cancel-me"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, want context.Canceled", err)
	}
	if took > 5*time.Second {
		t.Errorf("StartRun returned %v after the cancel", took)
	}
	t.Logf("cancelled run returned after %v: %v", took, err)
	ids, err := c.InterruptTag(ctx, "cancel-me")
	if err != nil || len(ids) != 0 {
		t.Errorf("InterruptTag after the cancel: %v %v, want nothing left to interrupt", ids, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for freshCount(t, ctx, owner, schema+".slow") != 4 {
		if time.Now().After(deadline) {
			t.Fatal("slow was not written after the cancel: revise StartRun's doc")
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(5 * time.Second) // after_slow would have needed less
	if n := freshCount(t, ctx, owner, schema+".after_slow"); n != 0 {
		t.Errorf("after_slow has %d rows: the pipeline went on after the cancel", n)
	}
	// The session is still usable.
	checkRows(t, ctx, c, "SELECT 1", [][]any{{int32(1)}})
}

// TestPipelineRunOutlivesStreamLimit runs a pipeline on a private server
// that ends every response stream after 5 s, as Spark does after
// senderMaxStreamDuration (2 min by default): the run must carry on across
// reattachments and deliver every event exactly once.
func TestPipelineRunOutlivesStreamLimit(t *testing.T) {
	ws := t.TempDir()
	ctx := sparktest.Context(t, 10*time.Minute)
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Conf: map[string]string{
		"spark.connect.execute.reattachable.senderMaxStreamDuration": "5s",
	}})
	if err != nil {
		t.Fatalf("private sandbox: %v", err)
	}
	t.Cleanup(func() { _, _ = sandbox.Stop(context.Background(), ws) })
	var logs syncBuffer
	c, err := connect.Dial(ctx, inst.URL(), connect.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	schema := pipelineSchema(t, ctx, c)
	sqlExec(t, ctx, c,
		"CREATE TABLE "+schema+".src (id INT) USING parquet",
		"INSERT INTO "+schema+".src VALUES (1), (2)")
	storage, _ := storageRoot(t)
	// About 16 s: one partition of 4 rows sleeping 4 s each, then a
	// streaming table reading the result.
	const sqlText = `
CREATE MATERIALIZED VIEW slow AS SELECT id, reflect('java.lang.Thread', 'sleep', CAST(4000 AS BIGINT)) AS s FROM range(0, 4, 1, 1);
CREATE MATERIALIZED VIEW after_slow AS SELECT count(*) AS n FROM slow;
CREATE STREAMING TABLE copy AS SELECT * FROM STREAM(src);
`
	res, err := runGraph(t, ctx, c, schema, sqlText, connect.RunOptions{Storage: storage})
	if err != nil {
		t.Fatalf("run: %v\nclient log:\n%s", err, logs.String())
	}
	if res.Duration < 10*time.Second {
		t.Errorf("the run took %v: too short to cross the 5 s stream limit", res.Duration)
	}
	if n := strings.Count(logs.String(), "reattaching"); n < 2 {
		t.Errorf("%d reattachments logged, want at least 2:\n%s", n, logs.String())
	} else {
		t.Logf("the %v run crossed %d stream ends", res.Duration.Round(time.Second), n)
	}
	seen := map[string]int{}
	for _, ev := range res.Events {
		seen[ev.Message]++
		if seen[ev.Message] > 1 {
			t.Errorf("event %q delivered twice", ev.Message)
		}
	}
	for i := 1; i < len(res.Events); i++ {
		if res.Events[i].Time.Before(res.Events[i-1].Time) {
			t.Errorf("events out of order: %v before %v", res.Events[i-1], res.Events[i])
		}
	}
	if lastRunState(res.Events) != "COMPLETED" {
		t.Errorf("last event %v, want Run is COMPLETED.", res.Events[len(res.Events)-1])
	}
	checkRows(t, ctx, c, "SELECT n FROM "+schema+".after_slow", [][]any{{int64(4)}})
	checkRows(t, ctx, c, "SELECT id FROM "+schema+".copy ORDER BY id", [][]any{{int32(1)}, {int32(2)}})
}
