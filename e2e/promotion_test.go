//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// promotionSetup is a sandbox (the shared test server) and a production
// server with the same source schema, and an sdp-mcp configured with both,
// served over stdio to mcp-go's client (the Inspector CLI gives up on a
// call after 60 s, shorter than a promotion into a busy cluster).
type promotionSetup struct {
	t                 *testing.T
	ctx               context.Context
	srv               *stdioServer
	dir, src, dev     string
	prodURL           string
	prodSchema        string
	sandboxURL        string
	sdpConfig, policy string
}

// newPromotionSetup creates the sources on both servers (different rows, so
// production results come from production data) and writes the
// configuration; policyExtra is appended to the policy file.
func newPromotionSetup(t *testing.T, ctx context.Context, prodURL string, prodPort int, prodToken, policyExtra string) *promotionSetup {
	t.Helper()
	shared := sparktest.Sandbox(t)
	suffix := time.Now().UnixNano() % 1e9
	s := &promotionSetup{t: t, ctx: ctx, dir: t.TempDir(), src: fmt.Sprintf("e2e_psrc_%d", suffix), dev: fmt.Sprintf("e2e_pdev_%d", suffix),
		prodURL: prodURL, prodSchema: "analytics", sandboxURL: shared.URL()}
	sb := sparkSession(t, ctx, shared.URL())
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, sc := range []string{s.src, s.dev} {
			execSQL(t, cctx, sb, "DROP SCHEMA IF EXISTS "+sc+" CASCADE")
		}
	})
	create := func(c *connect.Client, orders string) {
		execSQL(t, ctx, c,
			"CREATE SCHEMA "+s.src,
			"CREATE TABLE "+s.src+".orders (order_id BIGINT, customer STRING, amount BIGINT) USING parquet",
			"INSERT INTO "+s.src+".orders VALUES "+orders)
	}
	create(sb, "(1, 'alice', 10), (2, 'alice', 5), (3, 'bob', 7)")
	execSQL(t, ctx, sb, "CREATE SCHEMA "+s.dev)
	pc := sparkSession(t, ctx, prodURL)
	create(pc, "(1, 'alice', 100), (2, 'bob', 20), (3, 'dave', 8), (4, 'dave', 2)")
	execSQL(t, ctx, pc, "CREATE SCHEMA "+s.prodSchema)

	s.sdpConfig = writeFile(t, s.dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: ws
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: E2E_SANDBOX_TOKEN
    schema: %s
    storage: file://%s
  production:
    url: sc://127.0.0.1:%d/
    token_env: E2E_PROD_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
policy: policy.yaml
promotion:
  approval: none # a person's approval is TestInspector's subject; here promote runs at once
`, shared.Port, s.dev, filepath.Join(s.dir, "sandbox-storage"), prodPort, s.prodSchema, filepath.Join(s.dir, "prod-storage")))
	s.writePolicy(t, policyExtra)
	t.Setenv("E2E_SANDBOX_TOKEN", shared.Token)
	t.Setenv("E2E_PROD_TOKEN", prodToken)
	s.restart()
	return s
}

// restart starts a new sdp-mcp server, which reads the configuration and
// policy again; the previous one is stopped.
func (s *promotionSetup) restart() {
	s.t.Helper()
	if s.srv != nil {
		s.srv.kill()
	}
	s.srv = startStdio(s.t, filepath.Join(s.dir, "ws"), "--config", s.sdpConfig)
	s.t.Cleanup(s.srv.kill)
}

// call makes a tool call that must succeed and returns its result.
func (s *promotionSetup) call(tool string, args map[string]any) map[string]any {
	s.t.Helper()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Minute)
	defer cancel()
	out, isErr, err := s.srv.call(ctx, tool, args)
	if err != nil || isErr {
		s.t.Fatalf("%s %s: %v %v", tool, mustJSON(s.t, args), err, out)
	}
	s.t.Logf("%s → ok in %s", tool, time.Since(t0).Round(time.Millisecond))
	return out
}

// refused makes a tool call that must be refused and returns the message.
func (s *promotionSetup) refused(tool string, args map[string]any) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Minute)
	defer cancel()
	out, isErr, err := s.srv.call(ctx, tool, args)
	if err != nil || !isErr {
		s.t.Fatalf("%s %s: want a refusal, got %v %v", tool, mustJSON(s.t, args), err, out)
	}
	msg, _ := out["error"].(string)
	return msg
}

// writePolicy (re)writes the policy; every Inspector call starts a new
// server, which reads it again.
func (s *promotionSetup) writePolicy(t *testing.T, extra string) {
	t.Helper()
	s.policy = writeFile(t, s.dir, "policy.yaml", fmt.Sprintf(`version: 1
environments:
  sandbox:
    sources: [spark_catalog.%[1]s.*]
  production:
    sources: [spark_catalog.%[1]s.*]
    target: spark_catalog.%[2]s
%[3]s`, s.src, s.prodSchema, extra))
}

// declare declares the two datasets of the "sales" pipeline; totals is the
// body of customer_totals.
func (s *promotionSetup) declare(totals string) {
	s.call("declare_table", map[string]any{"pipeline": "sales", "name": "orders_clean", "kind": "materialized_view",
		"query": "SELECT order_id, customer, amount FROM spark_catalog." + s.src + ".orders WHERE amount > 0"})
	s.call("declare_table", map[string]any{"pipeline": "sales", "name": "customer_totals", "kind": "materialized_view",
		"query": totals})
}

// validate validates "sales" and returns its hash.
func (s *promotionSetup) validate(t *testing.T) string {
	t.Helper()
	v := s.call("validate", map[string]any{"pipeline": "sales"})
	hash, _ := v["pipeline_hash"].(string)
	if v["ok"] != true || len(hash) != 64 {
		t.Fatalf("validate: %s", mustJSON(t, v))
	}
	return hash
}

// planActions maps each dataset of a plan to its action.
func planActions(plan map[string]any) map[string]string {
	out := map[string]string{}
	for _, d := range plan["datasets"].([]any) {
		dm := d.(map[string]any)
		out[dm["name"].(string)] = dm["action"].(string)
	}
	return out
}

// TestClusterPromotion promotes into a Spark standalone cluster: a master
// and two workers (1 core, 1 GiB each) as separate JVMs started from the
// installed Spark, and a Spark Connect server with --master spark://…
// configured like the sandbox. The promoted tables are read back with our
// client; then a changed pipeline is planned (create, replace definition
// with its column changes, unchanged, production row counts) and promoted
// again. Every JVM is stopped at the end, also when the test fails.
func TestClusterPromotion(t *testing.T) {
	ctx := sparktest.Context(t, 10*time.Minute)
	sparktest.Sandbox(t) // started before the cluster's clock runs
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	began := time.Now()
	cl, err := sandbox.StartCluster(ctx, sandbox.ClusterOptions{Dir: t.TempDir(), Workers: 2, WorkerCores: 1,
		WorkerMemory: "1g", DriverMemory: "1g", Logger: log, Profile: sparktest.Sandbox(t).Profile})
	if err != nil {
		t.Fatalf("starting the standalone cluster: %v", err)
	}
	pids := cl.PIDs()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cl.Stop(sctx); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
		for name, pid := range pids {
			if syscall.Kill(-pid, 0) == nil {
				t.Errorf("the cluster's %s (process group %d) is still alive", name, pid)
			}
		}
	})
	t.Logf("cluster (master, %d workers, Connect server) ready in %s: %s", cl.Workers, time.Since(began).Round(time.Millisecond), cl.RedactedURL())
	if len(pids) != 4 {
		t.Fatalf("cluster JVMs %v, want a master, two workers and a Connect server", pids)
	}

	s := newPromotionSetup(t, ctx, cl.URL(), cl.Port, cl.Token, "")
	s.declare("SELECT customer, sum(amount) AS total FROM orders_clean GROUP BY customer")
	hash := s.validate(t)
	t0 := time.Now()
	pr := s.call("promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash})
	t.Logf("first promotion into the cluster took %s (server-side %v ms)", time.Since(t0).Round(time.Millisecond), pr["duration_ms"])
	if pr["ok"] != true || pr["plan"] == nil {
		t.Fatalf("promote: %s", mustJSON(t, pr))
	}
	plan := pr["plan"].(map[string]any)
	t.Logf("the plan in the first promotion:\n%s", plan["text"])
	if want := map[string]string{"orders_clean": "create", "customer_totals": "create"}; mustJSON(t, planActions(plan)) != mustJSON(t, want) {
		t.Errorf("first plan actions %v, want %v", planActions(plan), want)
	}
	if pa := plan["parity"].(map[string]any); pa["same"] != true {
		t.Errorf("first plan: parity %v", pa)
	}
	totals := [][]any{{"alice", int64(100)}, {"bob", int64(20)}, {"dave", int64(10)}}
	checkRows(t, ctx, s.prodURL, "SELECT customer, total FROM spark_catalog.analytics.customer_totals ORDER BY customer", totals)
	checkExecutors(t, cl.MasterStatusURL)

	// A column retyped. The table was written by an earlier promotion of
	// another declaration, so the run drops it and creates it anew with the
	// new columns, in every format (a parquet table in the metastore could
	// not retype the column in place): the plan shows the breaking change
	// and the promotion replaces the table.
	s.declare("SELECT customer, CAST(sum(amount) AS INT) AS total FROM orders_clean GROUP BY customer")
	hash2 := s.validate(t)
	pr = s.call("promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash2})
	text, _ := pr["plan"].(map[string]any)["text"].(string)
	if pr["ok"] != true || !strings.Contains(text, "customer_totals   recompute, 3 rows now; columns: total bigint → int (breaks readers)") {
		t.Fatalf("promote of a retyped column: %s", mustJSON(t, pr))
	}
	checkRows(t, ctx, s.prodURL, "SELECT customer, total FROM spark_catalog.analytics.customer_totals ORDER BY customer",
		[][]any{{"alice", int32(100)}, {"bob", int32(20)}, {"dave", int32(10)}})
	// Back to the first definition, so the next step starts from it.
	s.declare("SELECT customer, sum(amount) AS total FROM orders_clean GROUP BY customer")
	if h := s.validate(t); h != hash {
		t.Fatalf("the first definition again has hash %s, want %s", h, hash)
	}
	if pr = s.call("promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash}); pr["ok"] != true {
		t.Fatalf("promote of the first definition again: %s", mustJSON(t, pr))
	}
	checkRows(t, ctx, s.prodURL, "SELECT customer, total FROM spark_catalog.analytics.customer_totals ORDER BY customer", totals)

	// A change it can take: a column added at the end, a new dataset;
	// orders_clean is unchanged.
	s.declare("SELECT customer, sum(amount) AS total, count(*) AS orders FROM orders_clean GROUP BY customer")
	s.call("declare_table", map[string]any{"pipeline": "sales", "name": "big_orders", "kind": "materialized_view",
		"query": "SELECT order_id, amount FROM orders_clean WHERE amount >= 20"})
	hash3 := s.validate(t)
	plan = s.call("plan_promotion", map[string]any{"pipeline": "sales", "pipeline_hash": hash3})
	t.Logf("plan for the changed pipeline:\n%s", plan["text"])
	want := map[string]string{"orders_clean": "unchanged", "customer_totals": "replace definition", "big_orders": "create"}
	if got := planActions(plan); mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("changed plan actions %v, want %v", got, want)
	}
	text, _ = plan["text"].(string)
	for _, w := range []string{"customer_totals   recompute, 3 rows now; columns: +orders bigint", "orders_clean      recompute, 4 rows now"} {
		if !strings.Contains(text, w) || plan["blocked"] != false {
			t.Errorf("changed plan lacks %q or is blocked", w)
		}
	}
	t0 = time.Now()
	pr = s.call("promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash3})
	t.Logf("second promotion into the cluster took %s (server-side %v ms)", time.Since(t0).Round(time.Millisecond), pr["duration_ms"])
	if pr["ok"] != true {
		t.Fatalf("promote: %s", mustJSON(t, pr))
	}
	checkRows(t, ctx, s.prodURL, "SELECT customer, total, orders FROM spark_catalog.analytics.customer_totals ORDER BY customer",
		[][]any{{"alice", int64(100), int64(1)}, {"bob", int64(20), int64(1)}, {"dave", int64(10), int64(2)}})
	checkRows(t, ctx, s.prodURL, "SELECT order_id FROM spark_catalog.analytics.big_orders ORDER BY order_id",
		[][]any{{int64(1)}, {int64(2)}})
	t.Logf("cluster promotion test: %s in all", time.Since(began).Round(time.Second))
}

// checkExecutors checks on the master that the Connect server's
// application got the workers' cores: the queries ran on the cluster.
func checkExecutors(t *testing.T, statusURL string) {
	t.Helper()
	resp, err := http.Get(statusURL)
	if err != nil {
		t.Fatalf("master status: %v", err)
	}
	defer resp.Body.Close()
	var st struct {
		AliveWorkers int `json:"aliveworkers"`
		ActiveApps   []struct {
			Name  string `json:"name"`
			Cores int    `json:"cores"`
		} `json:"activeapps"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("master status: %v", err)
	}
	if st.AliveWorkers != 2 || len(st.ActiveApps) != 1 || st.ActiveApps[0].Cores != 2 {
		t.Errorf("master status: %+v, want 2 workers and one application holding their 2 cores", st)
	}
}

// TestPromotionRefusedAcrossProfiles promotes into a production server on
// another Spark minor version and table format than the sandbox (the
// launcher's other profile: Spark 4.3 + parquet against the default 4.2 +
// Delta, and the reverse): the plan shows both
// differences, promote refuses and writes nothing; with the policy's
// production_parity: warn the plan only warns.
func TestPromotionRefusedAcrossProfiles(t *testing.T) {
	ctx := sparktest.Context(t, 8*time.Minute)
	ws := t.TempDir()
	sb := sparktest.Sandbox(t)
	other := sandbox.Profile{Spark: "4.3", Format: sandbox.FormatParquet}
	if sb.Profile == other {
		other = sandbox.Profile{Spark: "4.2", Format: sandbox.FormatDelta}
	}
	prod, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Profile: other})
	if err != nil {
		t.Fatalf("starting the %v production server: %v", other, err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := sandbox.Stop(sctx, ws); err != nil {
			t.Errorf("stopping the production server: %v", err)
		}
	})
	formatDifference := "the sandbox writes " + sb.Profile.Format + " tables, production " + other.Format + " tables"
	s := newPromotionSetup(t, ctx, prod.URL(), prod.Port, prod.Token, "")
	s.declare("SELECT customer, sum(amount) AS total FROM orders_clean GROUP BY customer")
	hash := s.validate(t)

	plan := s.call("plan_promotion", map[string]any{"pipeline": "sales", "pipeline_hash": hash})
	pa, _ := plan["parity"].(map[string]any)
	if pa == nil || pa["same"] != false || plan["blocked"] != true ||
		!strings.Contains(plan["text"].(string), "refused: the sandbox runs Spark "+sb.SparkVersion+", production Spark "+prod.SparkVersion) ||
		!strings.Contains(plan["text"].(string), "refused: "+formatDifference) {
		t.Fatalf("plan across formats:\n%s", mustJSON(t, plan))
	}
	if msg := s.refused("promote", map[string]any{"pipeline": "sales", "pipeline_hash": hash}); !strings.Contains(msg, "the sandbox does not look like production") {
		t.Fatalf("promote across profiles: %s", msg)
	}
	if rows := queryRows(t, ctx, prod.URL(), "SHOW TABLES IN analytics"); len(rows) != 0 {
		t.Errorf("a refused promotion wrote tables: %v", rows)
	}

	// The policy may accept the difference: the plan is no longer blocked,
	// the differences become warnings.
	s.writePolicy(t, "production_parity: warn\n")
	s.restart()
	plan = s.call("plan_promotion", map[string]any{"pipeline": "sales", "pipeline_hash": hash})
	t.Logf("plan across profiles with production_parity: warn:\n%s", plan["text"])
	if plan["blocked"] != false || !strings.Contains(plan["text"].(string), "warning: "+formatDifference) {
		t.Errorf("plan with production_parity: warn:\n%s", plan["text"])
	}
}
