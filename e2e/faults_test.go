//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// mcpClient connects an MCP client to a running `sdp-mcp serve` over
// streamable HTTP.
func mcpClient(t *testing.T, ctx context.Context, url string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: mcp.LATEST_PROTOCOL_VERSION,
		ClientInfo:      mcp.Implementation{Name: "sdp-mcp-fault-tests", Version: "1"},
	}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// callTool calls a tool and returns its result as the agent sees it: the
// text and whether it is a tool error. A JSON-RPC error fails the test.
func callTool(t *testing.T, ctx context.Context, c *client.Client, name string, args map[string]any) (text string, isError bool) {
	t.Helper()
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: JSON-RPC error (a server bug): %v", name, err)
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

// TestFaults drives the server through faults an operator meets, as an
// agent would, over MCP:
//
//   - promote to a production that lacks one source and has another with
//     other columns: a refusal naming both, before anything runs there;
//   - the JVM of the sandbox the server runs on killed (by the pid in the
//     sandbox state) while a run is in flight: the run ends with a result
//     saying the engine stopped and that retrying is safe, the next call
//     restarts the sandbox and succeeds within 60 s, and sandbox status
//     counts the restart.
//
// The sandbox is private to the test (its own workspace, started by the
// launcher), so no other test's sandbox is killed; "production" is the
// shared test server.
func TestFaults(t *testing.T) {
	ctx := sparktest.Context(t, 10*time.Minute)
	shared := sparktest.Sandbox(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	inst := startWorkspaceSandbox(t, ctx, ws)

	suffix := time.Now().UnixNano() % 1e9
	src := fmt.Sprintf("fault_src_%d", suffix) // the same source schema name on both servers
	prodSchema := fmt.Sprintf("fault_prod_%d", suffix)
	sc := sparkSession(t, ctx, inst.URL())
	execSQL(t, ctx, sc, "CREATE SCHEMA "+src, "CREATE SCHEMA fault_dev",
		"CREATE TABLE "+src+".numbers USING parquet AS SELECT id FROM range(400000)",
		"CREATE TABLE "+src+".labels USING parquet AS SELECT id, CAST(id AS STRING) AS label FROM range(10)")
	// Production has labels with other columns, and no numbers.
	pc := sparkSession(t, ctx, shared.URL())
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, s := range []string{src, prodSchema} {
			execSQL(t, cctx, pc, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
	})
	execSQL(t, ctx, pc, "CREATE SCHEMA "+src, "CREATE SCHEMA "+prodSchema,
		"CREATE TABLE "+src+".labels (id INT) USING parquet")

	// The server's sandbox runs the test profile, like production (the
	// shared test server).
	sdpConfig := writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: %s
environments:
  sandbox:
    schema: fault_dev
    spark: "%s"
    table_format: %s
  production:
    url: sc://127.0.0.1:%d/
    token_env: FAULTS_PROD_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
policy: policy.yaml
`, ws, inst.Profile.Spark, inst.Profile.Format, shared.Port, prodSchema, filepath.Join(dir, "prod-storage")))
	writeFile(t, dir, "policy.yaml", fmt.Sprintf(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.fault_dev
  production:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[2]s
`, src, prodSchema))
	srv := startHTTPServer(t, sdpConfig, "FAULTS_PROD_TOKEN="+shared.Token)
	c := mcpClient(t, ctx, srv.url)

	// Promote with production missing a source: refused, naming every gap.
	if text, isErr := callTool(t, ctx, c, "declare_table", map[string]any{"pipeline": "labelled", "name": "labelled",
		"kind": "materialized_view", "query": "SELECT n.id, l.label FROM spark_catalog." + src + ".numbers n " +
			"JOIN spark_catalog." + src + ".labels l USING (id)"}); isErr {
		t.Fatalf("declare_table: %s", text)
	}
	text, isErr := callTool(t, ctx, c, "validate", map[string]any{"pipeline": "labelled"})
	var v struct {
		OK   bool   `json:"ok"`
		Hash string `json:"pipeline_hash"`
	}
	if err := json.Unmarshal([]byte(text), &v); isErr || err != nil || !v.OK {
		t.Fatalf("validate: %s", text)
	}
	text, isErr = callTool(t, ctx, c, "promote", map[string]any{"pipeline": "labelled", "pipeline_hash": v.Hash})
	t.Logf("promote to a production missing a source; the agent saw (isError=%v):\n%s", isErr, text)
	for _, want := range []string{
		"2 problems to fix",
		"production has no table spark_catalog." + src + ".numbers",
		"create it in production (an operator's task), or remove it from the pipeline",
		"production's table spark_catalog." + src + ".labels differs from the sandbox's: column id is int, not bigint; no column label (string)",
	} {
		if !isErr || !strings.Contains(text, want) {
			t.Errorf("promote: want a tool error containing %q", want)
		}
	}
	if rows := queryRows(t, ctx, shared.URL(), "SHOW TABLES IN "+prodSchema); len(rows) != 0 {
		t.Errorf("the refused promotion wrote to production: %v", rows)
	}

	const pipe = "faults"
	for _, d := range []map[string]any{
		{"pipeline": pipe, "name": "small", "kind": "materialized_view",
			"query": "SELECT id FROM spark_catalog." + src + ".numbers WHERE id < 10"},
		// About 1.6e11 pairs: minutes of work on any profile, so the kill
		// lands in the middle (Spark 4.2 did 1.6e9 in under 12 s).
		{"pipeline": pipe, "name": "pairs", "kind": "materialized_view",
			"query": "SELECT count(*) AS n, sum(a.id * b.id) AS s FROM spark_catalog." + src + ".numbers a " +
				"CROSS JOIN spark_catalog." + src + ".numbers b"},
	} {
		if text, isErr := callTool(t, ctx, c, "declare_table", d); isErr {
			t.Fatalf("declare_table: %s", text)
		}
	}

	type outcome struct {
		text  string
		isErr bool
		took  time.Duration
	}
	done := make(chan outcome, 1)
	began := time.Now()
	go func() {
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "run",
			Arguments: map[string]any{"pipeline": pipe}}})
		o := outcome{took: time.Since(began)}
		if err != nil {
			o.text, o.isErr = "JSON-RPC error: "+err.Error(), true
		} else {
			for _, ct := range res.Content {
				if tc, ok := ct.(mcp.TextContent); ok {
					o.text += tc.Text
				}
			}
			o.isErr = res.IsError
		}
		done <- o
	}()
	// Kill the JVM once the run is well under way.
	time.Sleep(12 * time.Second)
	st, err := sandbox.ReadState(filepath.Join(ws, "sandbox", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killing the sandbox JVM, pid %d, %s into the run", st.PID, time.Since(began).Round(time.Second))
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var run outcome
	select {
	case run = <-done:
	case <-ctx.Done():
		t.Fatal("the run did not end after the sandbox JVM was killed")
	}
	t.Logf("the agent saw, %s after the run began (isError=%v):\n%s", run.took.Round(time.Millisecond), run.isErr, run.text)
	if strings.HasPrefix(run.text, "JSON-RPC error") {
		t.Fatalf("the run in flight ended with a JSON-RPC error: %s", run.text)
	}
	var out struct {
		OK      bool `json:"ok"`
		Failure *struct {
			ErrorClass string `json:"error_class"`
			Message    string `json:"message"`
			Hint       string `json:"hint"`
		} `json:"failure"`
	}
	if err := json.Unmarshal([]byte(run.text), &out); err != nil {
		t.Fatalf("the run result is not the run output: %v\n%s", err, run.text)
	}
	if out.OK || out.Failure == nil || out.Failure.ErrorClass != "ENGINE_STOPPED" ||
		!strings.Contains(out.Failure.Message, "the sandbox engine stopped during the run") ||
		!strings.Contains(out.Failure.Hint, "retrying is safe") {
		t.Fatalf("run result: %s", run.text)
	}

	// The next call restarts the sandbox and succeeds within 60 s.
	next := time.Now()
	text, isErr = callTool(t, ctx, c, "list_sources", map[string]any{})
	took := time.Since(next)
	t.Logf("the next call (list_sources) took %s (isError=%v):\n%s", took.Round(time.Millisecond), isErr, text)
	if isErr || !strings.Contains(text, "spark_catalog."+src+".numbers") {
		t.Fatalf("the next call failed: %s\nserver log:\n%s", text, tail(srv.log(), 40))
	}
	if took > 60*time.Second {
		t.Errorf("the next call took %s, want at most 60s; server log:\n%s", took, tail(srv.log(), 60))
	}
	text, isErr = callTool(t, ctx, c, "preview", map[string]any{"pipeline": pipe, "dataset": "small", "limit": 5})
	if isErr || !strings.Contains(text, `"rows":[[0],[1],[2],[3],[4]]`) {
		t.Fatalf("preview after the restart: %s", text)
	}
	// Retrying the run is safe: it completes.
	text, isErr = callTool(t, ctx, c, "run", map[string]any{"pipeline": pipe, "refresh": []string{"small"}})
	if isErr || !strings.Contains(text, `"ok":true`) {
		t.Fatalf("the run after the restart: %s", text)
	}
	if !sandbox.Alive(ws) {
		t.Error("the sandbox is not running after the restart")
	}
	if r, err := sandbox.ReadRestarts(ws); err != nil || r.Count != 1 || r.LastPID != st.PID {
		t.Errorf("restart record %+v, %v; want one restart of pid %d", r, err, st.PID)
	}
	status, err := exec.Command(sdpBin, "--workspace", ws, "sandbox", "status").CombinedOutput()
	if err != nil || !strings.Contains(string(status), "restarts:") {
		t.Errorf("sandbox status does not show the restart (%v):\n%s", err, status)
	}
	t.Logf("sandbox status:\n%s", status)
	audited, err := os.ReadFile(filepath.Join(ws, "audit", "audit.jsonl"))
	if err != nil || !strings.Contains(string(audited), `"event":"engine.restarted"`) {
		t.Errorf("the audit log holds no engine.restarted event (%v)", err)
	}
	if !strings.Contains(srv.log(), "sandbox restarted after it stopped") {
		t.Errorf("the server log does not record the restart:\n%s", tail(srv.log(), 30))
	}
}

// startWorkspaceSandbox starts a sandbox in workspace ws with the launcher
// and stops whatever sandbox runs there when the test ends (the server
// under test may have restarted it).
func startWorkspaceSandbox(t *testing.T, ctx context.Context, ws string) *sandbox.Instance {
	t.Helper()
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Profile: sparktest.Profile()})
	if err != nil {
		t.Fatalf("starting the private sandbox: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := sandbox.Stop(sctx, ws); err != nil {
			t.Errorf("stopping the private sandbox: %v", err)
		}
	})
	return inst
}
