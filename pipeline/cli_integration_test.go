//go:build integration && unix

package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// cliTimeout bounds one spark-pipelines invocation (a JVM and a Python
// client start, then the run).
const cliTimeout = 5 * time.Minute

// TestCLIRunsSavedFolder proves that the project folder Pipeline.Save writes
// is a standard SDP project: the pinned spark-pipelines CLI dry-runs and
// runs it unchanged against the sandbox, the tables it writes hold exactly
// the expected rows (the drop expectations removed the bad ones), and the
// folder is byte-for-byte what was saved and loads back into the identical
// model.
func TestCLIRunsSavedFolder(t *testing.T) {
	ctx := sparktest.Context(t, 20*time.Minute)
	sb := sparktest.Sandbox(t)
	inst, err := sandbox.Install(ctx, sandbox.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin := sparktest.Client(t)

	// A schema unique to the test holds the sources and the pipeline's
	// datasets: it is the graph default, so the SQL names both unqualified.
	schema := fmt.Sprintf("sdp_cli_%d", time.Now().UnixNano()%1e12)
	run := func(stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := admin.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	run("CREATE SCHEMA " + schema)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = admin.Collect(cctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+schema+" CASCADE"), connect.ExecOptions{})
	})
	run(
		"CREATE TABLE "+schema+".src_orders (order_id INT, customer_id INT, amount DOUBLE) USING parquet",
		"CREATE TABLE "+schema+".src_customers (customer_id INT, name STRING) USING parquet",
		"CREATE TABLE "+schema+".src_web (id INT, kind STRING) USING parquet",
		"CREATE TABLE "+schema+".src_app (id INT, kind STRING) USING parquet",
		"INSERT INTO "+schema+".src_orders VALUES (1, 1, 50.0), (2, 1, 150.0), (3, 2, NULL), (4, 2, 300.0), (5, 3, -20.0), (6, 3, 10.0)",
		"INSERT INTO "+schema+".src_customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')",
		"INSERT INTO "+schema+".src_web VALUES (1, 'click'), (2, 'view'), (NULL, 'bot')",
		"INSERT INTO "+schema+".src_app VALUES (10, 'click'), (11, 'open'), (NULL, 'crash')",
	)

	tmp := t.TempDir()
	dir := filepath.Join(tmp, "project")
	p := &pipeline.Pipeline{
		Name:     "cli_roundtrip",
		Catalog:  "spark_catalog",
		Database: schema,
		Storage:  "file://" + filepath.ToSlash(filepath.Join(tmp, "storage")),
	}
	for _, d := range []pipeline.Dataset{
		{Name: "orders_enriched", Kind: pipeline.TemporaryView, Comment: "orders with the customer's name",
			Query: "SELECT o.order_id, c.name, o.amount\nFROM src_orders o JOIN src_customers c ON o.customer_id = c.customer_id"},
		{Name: "orders_clean", Kind: pipeline.MaterializedView, Comment: "orders with a positive amount",
			Query: "SELECT order_id, name, amount FROM orders_enriched",
			Expectations: []pipeline.Expectation{
				{Name: "positive_amount", Condition: "amount > 0", OnViolation: pipeline.Drop},
				{Name: "known_order", Condition: "order_id IS NOT NULL", OnViolation: pipeline.Warn},
			}},
		{Name: "revenue_by_customer", Kind: pipeline.MaterializedView,
			Query: "SELECT name, SUM(amount) AS revenue, COUNT(*) AS orders\nFROM orders_clean\nGROUP BY name"},
		{Name: "events", Kind: pipeline.StreamingTable, Comment: "every event, from both channels",
			Expectations: []pipeline.Expectation{
				{Name: "has_id", Condition: "id IS NOT NULL", OnViolation: pipeline.Drop},
			}},
	} {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatalf("declare %s: %v", d.Name, err)
		}
	}
	for _, f := range []pipeline.Flow{
		{Name: "web_events", Target: "events", Query: "SELECT id, kind, 'web' AS channel FROM STREAM(src_web)"},
		{Name: "app_events", Target: "events", Query: "SELECT id, kind, 'app' AS channel FROM STREAM src_app"},
	} {
		if _, err := p.PutFlow(f); err != nil {
			t.Fatalf("declare flow %s: %v", f.Name, err)
		}
	}
	saved := p.Clone()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	spec := filepath.Join(dir, pipeline.SpecFile)
	cli := func(command string) time.Duration {
		t.Helper()
		// The CLI is spark-submit underneath and passes --remote through to
		// it; PyURL names the host "localhost", the only plaintext host
		// pyspark sends a token to. Run it from an unrelated directory, so
		// that --spec alone locates the project.
		out, took, err := runCLI(ctx, inst, t.TempDir(), command, "--spec", spec, "--remote", sb.PyURL())
		if err != nil {
			t.Fatalf("spark-pipelines %s: %v\n%s", command, err, redact(out, sb.Token))
		}
		t.Logf("spark-pipelines %s: exit 0 in %v", command, took.Round(time.Millisecond))
		return took
	}

	// A dry-run validates the whole graph and writes nothing.
	dryTook := cli("dry-run")
	if got := tables(t, ctx, sb, schema); !cmp.Equal(got, []string{"src_app", "src_customers", "src_orders", "src_web"}) {
		t.Errorf("after dry-run the schema holds %v; a dry-run must not write tables", got)
	}

	runTook := cli("run")
	t.Logf("CLI wall time: dry-run %v, run %v", dryTook.Round(time.Millisecond), runTook.Round(time.Millisecond))

	if got, want := tables(t, ctx, sb, schema), []string{"events", "orders_clean", "revenue_by_customer", "src_app", "src_customers", "src_orders", "src_web"}; !cmp.Equal(got, want) {
		t.Errorf("tables after run: %v, want %v (the temporary view is not materialized)", got, want)
	}
	// Order 3 (NULL amount) and 5 (negative amount) violate positive_amount
	// and are dropped.
	checkRows(t, ctx, sb, "SELECT order_id, name, amount FROM "+schema+".orders_clean ORDER BY order_id", [][]any{
		{int32(1), "ann", 50.0}, {int32(2), "ann", 150.0}, {int32(4), "bob", 300.0}, {int32(6), "cy", 10.0},
	})
	checkRows(t, ctx, sb, "SELECT name, revenue, orders FROM "+schema+".revenue_by_customer ORDER BY name", [][]any{
		{"ann", 200.0, int64(2)}, {"bob", 300.0, int64(1)}, {"cy", 10.0, int64(1)},
	})
	checkEvents(t, query(t, ctx, sb, "SELECT channel, id, kind FROM "+schema+".events ORDER BY channel, id"), map[string][][]any{
		"web": {{"web", int32(1), "click"}, {"web", int32(2), "view"}},
		"app": {{"app", int32(10), "click"}, {"app", int32(11), "open"}},
	})

	// The CLI read the folder and left it as it was.
	if d := cmp.Diff(before, snapshot(t, dir)); d != "" {
		t.Errorf("the CLI changed the project folder (-before +after):\n%s", d)
	}
	loaded, err := pipeline.Load(dir)
	if err != nil {
		t.Fatalf("load after the CLI ran: %v", err)
	}
	if d := cmp.Diff(saved, loaded, cmpopts.IgnoreUnexported(pipeline.Pipeline{})); d != "" {
		t.Errorf("loaded model differs from the saved one (-saved +loaded):\n%s", d)
	}
}

// checkEvents checks the streaming table fed by the two flows. Each flow's
// rows must be there exactly (the events without an id were dropped by the
// has_id expectation), with one exception that is Spark's, not the
// folder's: on file-based tables (parquet here) both flows append through
// one file sink whose _spark_metadata log is keyed by batch number, and
// Spark 4.3 skips a flow's batch when the other flow already committed that
// number ("Skipping already committed batch 0" in the server log). A flow
// may then have written nothing; the test records it, and fails only when
// a flow wrote part of its rows, rows that no flow should write, or when
// nothing arrived at all.
func checkEvents(t *testing.T, got [][]any, want map[string][][]any) {
	t.Helper()
	byChannel := map[string][][]any{}
	for _, r := range got {
		ch, _ := r[0].(string)
		byChannel[ch] = append(byChannel[ch], r)
	}
	var lost []string
	for ch, rows := range byChannel {
		if _, ok := want[ch]; !ok {
			t.Errorf("events holds rows of an unknown channel: %v", rows)
		}
	}
	for _, ch := range slices.Sorted(maps.Keys(want)) {
		rows, ok := byChannel[ch]
		if !ok {
			lost = append(lost, ch)
			continue
		}
		if d := cmp.Diff(want[ch], rows); d != "" {
			t.Errorf("events rows of channel %s (-want +got):\n%s", ch, d)
		}
	}
	switch {
	case len(lost) == len(want):
		t.Errorf("events received nothing: %v", got)
	case len(lost) > 0 && !sandbox.FileBased(sparktest.Sandbox(t).Profile.Format):
		t.Errorf("the batch of flow(s) %v into events was lost on %s, whose transaction log keeps two flows exact; rows %v",
			lost, sparktest.Sandbox(t).Profile, got)
	case len(lost) > 0:
		t.Logf("KNOWN SPARK LIMITATION: the batch of flow(s) %v into events was skipped by the shared file sink log; rows %v", lost, got)
	}
}

// runCLI runs the pinned spark-pipelines with the install's environment,
// in its own process group (killed whole on timeout), and returns its
// combined output and wall time.
func runCLI(ctx context.Context, inst *sandbox.Installation, cwd string, args ...string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, inst.SparkPipelines, args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), inst.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	return out.Bytes(), time.Since(t0), err
}

// snapshot maps every file of dir (relative path, with mode) to a hash of
// its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			out[filepath.ToSlash(rel)+"/"] = info.Mode().String()
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// query runs sql in a new session: a session caches the file listing of
// the tables it read, so it would not see what the CLI's run wrote.
func query(t *testing.T, ctx context.Context, sb *sandbox.Instance, sql string) [][]any {
	t.Helper()
	c, err := connect.Dial(ctx, sb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Collect(ctx, connect.SQL(sql), connect.ExecOptions{})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res.Rows
}

func checkRows(t *testing.T, ctx context.Context, sb *sandbox.Instance, sql string, want [][]any) {
	t.Helper()
	if d := cmp.Diff(want, query(t, ctx, sb, sql)); d != "" {
		t.Errorf("%s (-want +got):\n%s", sql, d)
	}
}

// tables lists the non-temporary tables of schema, sorted.
func tables(t *testing.T, ctx context.Context, sb *sandbox.Instance, schema string) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, ctx, sb, "SHOW TABLES IN "+schema) {
		if r[2] != true {
			out = append(out, r[1].(string))
		}
	}
	slices.Sort(out)
	return out
}

// redact removes the sandbox token from CLI output quoted in failures.
func redact(out []byte, token string) string {
	s := string(out)
	if token != "" {
		s = strings.ReplaceAll(s, token, "<redacted>")
	}
	return s
}
