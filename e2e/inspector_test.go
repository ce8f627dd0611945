//go:build integration

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// inspector drives one sdp-mcp configuration with the MCP Inspector CLI:
// each call starts `sdp-mcp serve` over stdio, as an MCP client would.
type inspector struct {
	t      *testing.T
	dir    string
	config string // the Inspector's session config (mcpServers)
}

// inspectorTimeout bounds one Inspector run (a pipeline run included).
const inspectorTimeout = 5 * time.Minute

// newInspector writes the Inspector's session config: the server command
// and the environment it gets (the Inspector passes only a minimal
// environment to a stdio server, so the tokens go here, in a private file,
// never on a command line).
func newInspector(t *testing.T, dir, sdpConfig string, env map[string]string) *inspector {
	t.Helper()
	cfg := map[string]any{"mcpServers": map[string]any{"sdp": map[string]any{
		"command": sdpBin,
		"args":    []string{"--log-level", "warn", "serve", "--config", sdpConfig},
		"env":     env,
		// The Inspector's web client honours this per-server request
		// timeout; its CLI (2.12) reads it but does not apply it, and has
		// no flag or environment variable for one: every CLI request gives
		// up after the SDK's 60 s. Kept so the limit lifts as soon as the
		// CLI applies it; calls that can outlast 60 s belong to mcp-go's
		// client (see promotionSetup).
		"requestTimeout": inspectorTimeout.Milliseconds(),
	}}}
	return &inspector{t: t, dir: dir, config: writeFile(t, dir, "inspector.json", mustJSON(t, cfg))}
}

// run runs the Inspector CLI with a method and its flags.
func (in *inspector) run(args ...string) result {
	in.t.Helper()
	full := append([]string{"--cli", "--config", in.config, "--server", "sdp", "--format", "json"}, args...)
	return runTool(in.t, inspectorTimeout+time.Minute, in.dir, "mcp-inspector", full...)
}

// call calls a tool that must succeed and returns its structured content.
func (in *inspector) call(tool string, args any) map[string]any {
	in.t.Helper()
	r := in.run("--method", "tools/call", "--tool-name", tool, "--tool-args-json", mustJSON(in.t, args))
	if r.code != 0 {
		in.t.Fatalf("%s: exit code %d\nstdout: %s\nstderr:\n%s", tool, r.code, r.stdout, tail(r.stderr, 30))
	}
	var out struct {
		Result struct {
			IsError           bool           `json:"isError"`
			StructuredContent map[string]any `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		in.t.Fatalf("%s: output is not JSON: %v\n%s", tool, err, r.stdout)
	}
	if out.Result.IsError || out.Result.StructuredContent == nil {
		in.t.Fatalf("%s: no structured result:\n%s", tool, r.stdout)
	}
	in.t.Logf("%s %s → ok in %s", tool, mustJSON(in.t, args), r.elapsed.Round(time.Millisecond))
	return out.Result.StructuredContent
}

// TestInspector is the whole agent workflow through the MCP Inspector CLI
// against the built binary: discover, declare, preview, validate and run in
// the sandbox (the shared test Spark Connect server), then promote the
// validated hash to production (a second, private Spark Connect server with
// its own schema, storage and data), and check the production tables over
// our own client.
func TestInspector(t *testing.T) {
	ctx := sparktest.Context(t, 18*time.Minute)
	shared := sparktest.Sandbox(t)
	prod := startPrivateSandbox(t, ctx)

	suffix := time.Now().UnixNano() % 1e9
	src := fmt.Sprintf("e2e_src_%d", suffix) // the same source schema name on both servers
	dev := fmt.Sprintf("e2e_dev_%d", suffix) // where the sandbox pipeline writes
	const prodSchema = "analytics"           // where production datasets go

	// Sources, with different rows on each server: production results must
	// come from production data.
	sb := sparkSession(t, ctx, shared.URL())
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, s := range []string{src, dev} {
			execSQL(t, cctx, sb, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
	})
	createSources := func(c *connect.Client, orders, customers string) {
		execSQL(t, ctx, c,
			"CREATE SCHEMA "+src,
			"CREATE TABLE "+src+".orders (order_id BIGINT, customer STRING, amount BIGINT) USING parquet",
			"CREATE TABLE "+src+".customers (customer STRING, country STRING) USING parquet",
			"INSERT INTO "+src+".orders VALUES "+orders,
			"INSERT INTO "+src+".customers VALUES "+customers)
	}
	createSources(sb, "(1, 'alice', 10), (2, 'alice', 5), (3, 'bob', 7), (4, 'bob', -1), (5, 'carol', 3)",
		"('alice', 'fr'), ('bob', 'de'), ('carol', 'fr')")
	execSQL(t, ctx, sb, "CREATE SCHEMA "+dev)
	pc := sparkSession(t, ctx, prod.URL())
	createSources(pc, "(1, 'alice', 100), (2, 'bob', 20), (3, 'dave', -5), (4, 'dave', 8)",
		"('alice', 'fr'), ('bob', 'de'), ('dave', 'us')")
	execSQL(t, ctx, pc, "CREATE SCHEMA "+prodSchema)

	// The server's configuration: sandbox on the shared test server,
	// production on the private one; tokens come from the environment.
	dir := t.TempDir()
	sdpConfig := writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`# written by TestInspector
workspace: ws
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: E2E_SANDBOX_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
    spark: "%s"
    table_format: %s
  production:
    url: sc://127.0.0.1:%d/
    token_env: E2E_PROD_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
    spark: "%s"
    table_format: %s
policy: policy.yaml
`, shared.Port, dev, filepath.Join(dir, "sandbox-storage"), shared.Profile.Spark, shared.Profile.Format,
		prod.Port, prodSchema, filepath.Join(dir, "prod-storage"), prod.Profile.Spark, prod.Profile.Format))
	// The policy: the same sources in both environments, datasets written
	// only where the configuration says, one deny and one warn rule.
	writeFile(t, dir, "policy.yaml", fmt.Sprintf(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[2]s
  production:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[3]s
rules:
  - name: no-customer-names
    when: reads.exists(r, r.endsWith(".customers")) && tool == "preview"
    action: deny
    message: previews of customer tables are not allowed; preview the orders instead
  - name: wide-preview
    when: tool == "preview" && limit > 500
    action: warn
    message: previews over 500 rows are costly
  - name: production-call
    when: env == "production"
    action: audit
`, src, dev, prodSchema))
	in := newInspector(t, dir, sdpConfig, map[string]string{
		"E2E_SANDBOX_TOKEN": shared.Token,
		"E2E_PROD_TOKEN":    prod.Token,
	})

	// tools/list: every tool, with annotations, and schemas portable
	// across clients (--strict exits 6 on an error-severity problem).
	r := in.run("--method", "tools/list", "--strict")
	if r.code != 0 {
		t.Fatalf("tools/list: exit code %d\n%s\n%s", r.code, r.stdout, tail(r.stderr, 30))
	}
	var list struct {
		Result struct {
			Tools []struct {
				Name        string `json:"name"`
				Annotations struct {
					ReadOnly    *bool `json:"readOnlyHint"`
					Destructive *bool `json:"destructiveHint"`
				} `json:"annotations"`
				InputSchema  map[string]any `json:"inputSchema"`
				OutputSchema map[string]any `json:"outputSchema"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("tools/list output: %v\n%s", err, r.stdout)
	}
	var names []string
	for _, tl := range list.Result.Tools {
		names = append(names, tl.Name)
		if tl.Annotations.ReadOnly == nil || tl.Annotations.Destructive == nil || tl.InputSchema == nil || tl.OutputSchema == nil {
			t.Errorf("tool %s lacks annotations or schemas", tl.Name)
		}
		if tl.Name == "promote" && !*tl.Annotations.Destructive {
			t.Error("promote is not marked destructive")
		}
	}
	want := []string{"list_sources", "describe_source", "list_pipelines", "show_pipeline", "declare_table",
		"declare_flow", "remove_dataset", "preview", "validate", "run", "plan_promotion", "promote"}
	if d := cmp.Diff(want, names); d != "" {
		t.Fatalf("tools/list names (-want +got):\n%s", d)
	}

	// Discover.
	srcs := in.call("list_sources", map[string]any{})
	var srcNames []string
	for _, s := range srcs["sources"].([]any) {
		srcNames = append(srcNames, s.(map[string]any)["name"].(string))
	}
	slices.Sort(srcNames)
	if d := cmp.Diff([]string{"spark_catalog." + src + ".customers", "spark_catalog." + src + ".orders"}, srcNames); d != "" {
		t.Fatalf("list_sources (-want +got):\n%s", d)
	}

	// Declare three datasets.
	const pipe = "sales"
	in.call("declare_table", map[string]any{"pipeline": pipe, "name": "orders_clean", "kind": "materialized_view",
		"query":        "SELECT order_id, customer, amount FROM spark_catalog." + src + ".orders",
		"expectations": []map[string]any{{"name": "positive_amount", "condition": "amount > 0", "on_violation": "drop"}}})
	in.call("declare_table", map[string]any{"pipeline": pipe, "name": "customer_totals", "kind": "materialized_view",
		"query": "SELECT c.country, o.customer, sum(o.amount) AS total, count(*) AS orders FROM orders_clean o " +
			"JOIN spark_catalog." + src + ".customers c ON o.customer = c.customer GROUP BY c.country, o.customer",
		"comment": "Spend per customer"})
	decl := in.call("declare_table", map[string]any{"pipeline": pipe, "name": "country_totals", "kind": "materialized_view",
		"query": "SELECT country, sum(total) AS total FROM customer_totals GROUP BY country"})
	if d := cmp.Diff([]any{"customer_totals"}, decl["depends_on"]); d != "" {
		t.Errorf("declare_table depends_on (-want +got):\n%s", d)
	}

	// Preview: the sandbox rows, before anything ran.
	pv := in.call("preview", map[string]any{"pipeline": pipe, "dataset": "country_totals", "limit": 10})
	gotPreview := map[string]float64{}
	for _, row := range pv["rows"].([]any) {
		cells := row.([]any)
		gotPreview[cells[0].(string)] = cells[1].(float64)
	}
	if d := cmp.Diff(map[string]float64{"fr": 18, "de": 7}, gotPreview); d != "" {
		t.Errorf("preview country_totals (-want +got):\n%s", d)
	}

	// Validate: the hash promote needs.
	v := in.call("validate", map[string]any{"pipeline": pipe})
	hash, _ := v["pipeline_hash"].(string)
	if v["ok"] != true || len(hash) != 64 {
		t.Fatalf("validate: %s", mustJSON(t, v))
	}

	// Run in the sandbox.
	run := in.call("run", map[string]any{"pipeline": pipe})
	if run["ok"] != true || run["pipeline_hash"] != hash {
		t.Fatalf("run: %s", mustJSON(t, run))
	}
	checkExpectation(t, run, "orders_clean", "positive_amount", 4, 1)
	checkRows(t, ctx, shared.URL(), "SELECT country, customer, total, orders FROM spark_catalog."+dev+".customer_totals ORDER BY customer",
		[][]any{{"fr", "alice", int64(15), int64(2)}, {"de", "bob", int64(7), int64(1)}, {"fr", "carol", int64(3), int64(1)}})

	// A bad call: the tool result is an error, and the Inspector exits 5.
	bad := in.run("--method", "tools/call", "--tool-name", "promote",
		"--tool-args-json", mustJSON(t, map[string]any{"pipeline": pipe, "pipeline_hash": strings.Repeat("0", 64)}))
	if bad.code != 5 || !strings.Contains(bad.stdout+bad.stderr, "isError") {
		t.Fatalf("promote with a wrong hash: exit code %d, want 5\nstdout: %s\nstderr: %s", bad.code, bad.stdout, tail(bad.stderr, 10))
	}
	bad = in.run("--method", "tools/call", "--tool-name", "declare_table",
		"--tool-args-json", `{"pipeline": "Sales", "name": "x", "kind": "view", "query": "SELECT 1"}`)
	if bad.code != 5 || !strings.Contains(bad.stdout, "does not match the required form") {
		t.Fatalf("declare_table with bad arguments: exit code %d, want 5\nstdout: %s\nstderr: %s", bad.code, bad.stdout, tail(bad.stderr, 10))
	}
	// The Inspector refuses an unknown tool itself, after tools/list, so
	// this call never reaches the server (and its audit log).
	if bad = in.run("--method", "tools/call", "--tool-name", "drop_everything", "--tool-args-json", "{}"); bad.code != 5 {
		t.Fatalf("unknown tool: exit code %d, want 5\nstderr: %s", bad.code, tail(bad.stderr, 10))
	}

	// The policy's rules: a deny refuses the call with its message (exit 5),
	// a warn adds its message to a successful result.
	bad = in.run("--method", "tools/call", "--tool-name", "preview", "--tool-args-json",
		mustJSON(t, map[string]any{"pipeline": pipe, "query": "SELECT * FROM spark_catalog." + src + ".customers"}))
	if bad.code != 5 || !strings.Contains(bad.stdout, "rule.no-customer-names: previews of customer tables are not allowed") {
		t.Fatalf("preview denied by a rule: exit code %d\nstdout: %s\nstderr: %s", bad.code, bad.stdout, tail(bad.stderr, 10))
	}
	wide := in.run("--method", "tools/call", "--tool-name", "preview", "--tool-args-json",
		mustJSON(t, map[string]any{"pipeline": pipe, "dataset": "orders_clean", "limit": 600}))
	if wide.code != 0 || !strings.Contains(wide.stdout, "policy warning: rule.wide-preview: previews over 500 rows are costly") {
		t.Fatalf("preview warned by a rule: exit code %d\nstdout: %s\nstderr: %s", wide.code, wide.stdout, tail(wide.stderr, 10))
	}

	// Promote exactly what was validated, into production. A person must
	// approve it first: the Inspector's CLI cannot ask one, so the server
	// answers approval_required with an id, the person approves it on the
	// server's machine, and the agent's next promote runs.
	promoteArgs := mustJSON(t, map[string]any{"pipeline": pipe, "pipeline_hash": hash})
	ask := in.run("--method", "tools/call", "--tool-name", "promote", "--tool-args-json", promoteArgs)
	id := regexp.MustCompile(`Approval id: (ap_[0-9a-f]{20})`).FindStringSubmatch(ask.stdout)
	if ask.code != 5 || !strings.Contains(ask.stdout, "approval_required") || id == nil {
		t.Fatalf("promote before approval: exit code %d\nstdout: %s\nstderr: %s", ask.code, ask.stdout, tail(ask.stderr, 10))
	}
	approve := exec.Command(sdpBin, "approve", id[1], "--config", sdpConfig, "--by", "e2e-operator")
	if out, err := approve.CombinedOutput(); err != nil || !strings.Contains(string(out), id[1]+" approved by e2e-operator") {
		t.Fatalf("sdp-mcp approve: %v\n%s", err, out)
	}
	pr := in.call("promote", map[string]any{"pipeline": pipe, "pipeline_hash": hash})
	if pr["ok"] != true || pr["environment"] != "production" || pr["pipeline_hash"] != hash {
		t.Fatalf("promote: %s", mustJSON(t, pr))
	}
	checkExpectation(t, pr, "orders_clean", "positive_amount", 3, 1)

	// Production now has the tables, computed from production's data.
	checkRows(t, ctx, prod.URL(), "SELECT country, customer, total, orders FROM spark_catalog."+prodSchema+".customer_totals ORDER BY customer",
		[][]any{{"fr", "alice", int64(100), int64(1)}, {"de", "bob", int64(20), int64(1)}, {"us", "dave", int64(8), int64(1)}})
	checkRows(t, ctx, prod.URL(), "SELECT country, total FROM spark_catalog."+prodSchema+".country_totals ORDER BY country",
		[][]any{{"de", int64(20)}, {"fr", int64(100)}, {"us", int64(8)}})
	// ... and the sandbox schema is not on the production server.
	if rows := queryRows(t, ctx, prod.URL(), "SHOW SCHEMAS LIKE '"+dev+"'"); len(rows) != 0 {
		t.Errorf("the sandbox schema exists in production: %v", rows)
	}

	// The audit log has every call that reached the server, the rejected
	// ones and the promotion included.
	checkAudit(t, sdpConfig, hash)
}

// checkExpectation checks one expectation's counts in a run or promote
// result.
func checkExpectation(t *testing.T, res map[string]any, dataset, name string, passed, failed float64) {
	t.Helper()
	for _, d := range res["datasets"].([]any) {
		dm := d.(map[string]any)
		if dm["status"] != "completed" {
			t.Errorf("dataset %v: status %v", dm["name"], dm["status"])
		}
		if dm["name"] != dataset {
			continue
		}
		for _, e := range dm["expectations"].([]any) {
			em := e.(map[string]any)
			if em["name"] == name {
				if em["passed"] != passed || em["failed"] != failed {
					t.Errorf("%s.%s: passed %v failed %v, want %v and %v", dataset, name, em["passed"], em["failed"], passed, failed)
				}
				return
			}
		}
	}
	t.Errorf("no expectation %s.%s in %s", dataset, name, mustJSON(t, res))
}

func checkRows(t *testing.T, ctx context.Context, url, query string, want [][]any) {
	t.Helper()
	if d := cmp.Diff(want, queryRows(t, ctx, url, query)); d != "" {
		t.Errorf("%s (-want +got):\n%s", query, d)
	}
}

// checkAudit reads the audit log with `sdp-mcp audit tail` and checks the
// decisions recorded.
func checkAudit(t *testing.T, sdpConfig, hash string) {
	t.Helper()
	out, err := exec.Command(sdpBin, "audit", "tail", "--config", sdpConfig, "-n", "100").Output()
	if err != nil {
		t.Fatalf("sdp-mcp audit tail: %v", err)
	}
	type rec struct {
		Tool         string   `json:"tool"`
		Decision     string   `json:"decision"`
		Environment  string   `json:"environment"`
		PipelineHash string   `json:"pipeline_hash"`
		Transport    string   `json:"transport"`
		Rules        []string `json:"rules"`
		PolicySHA256 string   `json:"policy_sha256"`
		Event        string   `json:"event"`
		Principal    string   `json:"principal"`
	}
	wantSHA := policySHA(t, filepath.Join(filepath.Dir(sdpConfig), "policy.yaml"))
	count := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, sc.Text())
		}
		if r.Event != "" {
			// An approval's life: requested by the server, granted by
			// the person on the command line, used by the server.
			count[r.Event+" "+r.Transport]++
			continue
		}
		if r.Principal == "" {
			t.Errorf("audit record of %s %s without a principal", r.Tool, r.Decision)
		}
		if r.Transport != "stdio" {
			t.Errorf("audit record with transport %q", r.Transport)
		}
		count[r.Tool+" "+r.Decision]++
		if r.PolicySHA256 != wantSHA {
			t.Errorf("audit record of %s %s has policy_sha256 %q, want %q", r.Tool, r.Decision, r.PolicySHA256, wantSHA)
		}
		for _, rule := range r.Rules {
			count[r.Tool+" "+r.Decision+" "+rule]++
		}
		if r.Tool == "promote" && r.Decision == "ok" && (r.Environment != "production" || r.PipelineHash != hash) {
			t.Errorf("promote audit record: %+v", r)
		}
	}
	for _, want := range []string{"list_sources ok", "declare_table ok", "preview ok", "validate ok", "run ok",
		"promote ok", "declare_table rejected", "promote allowed", "promote rejected",
		"promote pending promote.approval_required", "promote ok promote.approved",
		"approval.requested stdio", "approval.approved cli", "approval.used stdio",
		"preview denied rule.no-customer-names", "preview ok rule.wide-preview", "promote ok rule.production-call"} {
		if count[want] == 0 {
			t.Errorf("no %q record in the audit log; counts: %v", want, count)
		}
	}
	if count["declare_table ok"] != 3 {
		t.Errorf("%d declare_table ok records, want 3", count["declare_table ok"])
	}
}

// policySHA is the SHA-256 of a policy file, as audit records carry it.
func policySHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
