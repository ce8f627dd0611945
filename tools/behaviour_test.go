package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

func TestRunSendsProgress(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, s := range salesSetup {
		h.mustCall(s.tool, s.args)
	}
	var mu sync.Mutex
	var got []map[string]any
	h.client.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n.Params.AdditionalFields)
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "run"
	req.Params.Arguments = json.RawMessage(`{"pipeline":"sales"}`)
	req.Params.Meta = &mcp.Meta{ProgressToken: "run-1"}
	res, err := h.client.CallTool(context.Background(), req)
	if err != nil || res.IsError {
		t.Fatalf("run: %v %v", err, res)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("got %d progress notifications, want 3: %v", len(got), got)
	}
	for i, p := range got {
		if p["progressToken"] != "run-1" || p["progress"] != float64(i+1) {
			t.Errorf("notification %d = %v", i, p)
		}
	}
	if msg := got[2]["message"]; msg != "flow orders_clean completed (2/2)" {
		t.Errorf("last message = %v", msg)
	}
}

func TestPromoteUsesProductionOnlyForPromote(t *testing.T) {
	h := newHarness(t, harnessOpts{production: true})
	for _, s := range salesSetup {
		h.mustCall(s.tool, s.args)
	}
	v := h.mustCall("validate", `{"pipeline":"sales"}`)
	h.mustCall("run", `{"pipeline":"sales"}`)
	h.mustCall("preview", `{"pipeline":"sales","dataset":"orders_clean"}`)
	if d := h.dialed(); !slices.Equal(d, []string{config.Sandbox}) {
		t.Fatalf("dialled %v before promote, want only the sandbox", d)
	}
	out := h.mustCall("promote", fmt.Sprintf(`{"pipeline":"sales","pipeline_hash":%q}`, v["pipeline_hash"]))
	if out["ok"] != true || out["target"] != "main.analytics" {
		t.Fatalf("promote = %v", out)
	}
	if d := h.dialed(); !slices.Equal(d, []string{config.Sandbox, config.Production}) {
		t.Errorf("dialled %v", d)
	}
	want := []string{"Profile", "DescribeSource spark_catalog.raw.orders", "ValidateFull sales main.analytics",
		"InspectTables sales main.analytics", "Run sales main.analytics"}
	if got := h.engines[config.Production].Calls(); !slices.Equal(got, want) {
		t.Errorf("production calls = %v, want %v (profile, source pre-flight, a full dry-run, plan, then run)", got, want)
	}
	// The promotion is recorded against the validated hash.
	st, err := pipeline.LoadState(h.handler.dir("sales"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Promotion == nil || !st.Promotion.OK || st.Promotion.PipelineHash != v["pipeline_hash"] {
		t.Errorf("promotion record = %+v", st.Promotion)
	}
	if st.Validation == nil || st.Run == nil {
		t.Errorf("validation or run not recorded: %+v", st)
	}
}

func TestPromoteRefusedWhenProductionDryRunFails(t *testing.T) {
	h := newHarness(t, harnessOpts{production: true})
	for _, s := range salesSetup {
		h.mustCall(s.tool, s.args)
	}
	v := h.mustCall("validate", `{"pipeline":"sales"}`)
	// Production analysis finds what the sandbox did not.
	h.handler.engines = func(_ context.Context, env config.Environment) (Engine, error) {
		if env.Name == config.Production {
			return &failingValidate{}, nil
		}
		return &fakeEngine{}, nil
	}
	res, err := h.call("promote", fmt.Sprintf(`{"pipeline":"sales","pipeline_hash":%q}`, v["pipeline_hash"]))
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "production dry-run: [TABLE_OR_VIEW_NOT_FOUND]") {
		t.Fatalf("promote = %v %v", resultText(res), err)
	}
	st, _ := pipeline.LoadState(h.handler.dir("sales"))
	if st.Promotion == nil || st.Promotion.OK || len(st.Promotion.Problems) != 1 {
		t.Errorf("failed promotion not recorded: %+v", st.Promotion)
	}
}

type failingValidate struct{ fakeEngine }

func (*failingValidate) ValidateFull(_ context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	return nil, pipeline.Problems{{On: "dataset", Name: "orders_clean", Field: "query",
		Message: "[TABLE_OR_VIEW_NOT_FOUND] spark_catalog.raw.orders", Fix: "create it in production first"}}
}

func (*failingValidate) Run(context.Context, *pipeline.Pipeline, engine.RunOptions, func(engine.Progress)) (*engine.RunResult, error) {
	panic("run after a failed dry-run")
}

// call runs a tool's handler directly with an outcome in the context, as
// the server's middleware does.
func callDirect(t *testing.T, h *Handler, tool string, args string, o *toolcall.Outcome) (*mcp.CallToolResult, error) {
	t.Helper()
	all, err := h.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.Tool.Name == tool {
			req := mcp.CallToolRequest{}
			req.Params.Name = tool
			req.Params.Arguments = json.RawMessage(args)
			return st.Handler(toolcall.WithOutcome(context.Background(), o), req)
		}
	}
	t.Fatalf("no tool %s", tool)
	return nil, nil
}

func TestOutcomeTellsTheAuditLayerWhatHappened(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, tc := range []struct {
		tool, args string
		decision   audit.Decision
		rules      []string
		allowed    bool
	}{
		{"declare_table", ordersClean, audit.OK, nil, true},
		{"declare_table", `{"pipeline":"sales","name":"X","kind":"view"}`, audit.Rejected,
			[]string{"argument.kind", "argument.name"}, false},
		{"declare_table", `{"pipeline":"sales","name":"v","kind":"temporary_view"}`, audit.Rejected, []string{"dataset.query"}, true},
		{"promote", `{"pipeline":"sales","pipeline_hash":"` + strings.Repeat("0", 64) + `"}`, audit.Denied,
			[]string{"promote.no_production"}, true},
		{"run", `{"pipeline":"sales"}`, audit.OK, nil, true},
	} {
		allowed := false
		o := &toolcall.Outcome{Allow: func(context.Context) error { allowed = true; return nil }}
		if _, err := callDirect(t, h.handler, tc.tool, tc.args, o); err != nil {
			t.Fatal(err)
		}
		if o.Decision != tc.decision || !slices.Equal(o.Rules, tc.rules) || allowed != tc.allowed {
			t.Errorf("%s %s: outcome %+v allowed=%v, want %s %v allowed=%v", tc.tool, tc.args, o, allowed, tc.decision, tc.rules, tc.allowed)
		}
		if tc.decision == audit.OK && (o.PipelineHash == "" || o.Summary == "") {
			t.Errorf("%s: no hash or summary in %+v", tc.tool, o)
		}
	}
}

func TestAllowFailureStopsTheCallBeforeAnyEffect(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	o := &toolcall.Outcome{Allow: func(context.Context) error { return errors.New("disk full") }}
	_, err := callDirect(t, h.handler, "declare_table", ordersClean, o)
	if err == nil {
		t.Fatal("call went ahead without its audit record")
	}
	if ok, _ := h.handler.exists("sales"); ok {
		t.Error("the pipeline was created although the call was stopped")
	}
}

func TestTimeoutIsReportedToTheAgent(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.handler.cfg.Limits.CallTimeout = config.Duration(50 * time.Millisecond)
	h.handler.engines = func(context.Context, config.Environment) (Engine, error) { return &blockingEngine{}, nil }
	o := &toolcall.Outcome{}
	res, err := callDirect(t, h.handler, "list_sources", `{}`, o)
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "did not finish within 50ms") {
		t.Fatalf("got %v %v", resultText(res), err)
	}
	if o.Decision != audit.Failed || !slices.Equal(o.Rules, []string{"limit.timeout"}) {
		t.Errorf("outcome = %+v", o)
	}
}

type blockingEngine struct{ fakeEngine }

func (*blockingEngine) ListSources(ctx context.Context, _ string) ([]engine.Source, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("listing: %w", ctx.Err())
}

func TestInfraErrorsDoNotLeak(t *testing.T) {
	secret := errors.New("open /home/alice/.sdp/ws/pipelines/sales: token=abc123 permission denied")
	h := newHarness(t, harnessOpts{infra: secret})
	res, err := h.call("list_sources", `{}`)
	if err == nil {
		t.Fatalf("an infrastructure failure came back as a tool result: %v", resultText(res))
	}
	for _, leak := range []string{"/home", "abc123", "permission"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error leaks %q: %v", leak, err)
		}
	}
	var ie *toolcall.InfraError
	o := &toolcall.Outcome{}
	_, err = callDirect(t, h.handler, "list_sources", `{}`, o)
	if !errors.As(err, &ie) || !errors.Is(err, secret) || ie.Error() != "the sandbox engine failed; the details are in the server log" {
		t.Errorf("err = %v", err)
	}
}

func TestConcurrentDeclarationsAllLand(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			o := &toolcall.Outcome{}
			res, err := callDirect(t, h.handler, "declare_table",
				fmt.Sprintf(`{"pipeline":"p","name":"d%02d","kind":"materialized_view","query":"SELECT %d AS x"}`, i, i), o)
			if err != nil || res.IsError {
				t.Errorf("declare %d: %v %v", i, err, resultText(res))
			}
		})
	}
	wg.Wait()
	p, err := h.handler.load("p")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Datasets) != 12 {
		t.Errorf("%d datasets saved, want 12", len(p.Datasets))
	}
}

func TestDraftIsBoundToTheSandboxConfig(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.mustCall("declare_table", ordersClean)
	// The operator changes the sandbox schema: drafts follow, hashes do not change.
	before, _ := h.handler.load("sales")
	sumBefore, _ := before.Hash()
	h.handler.cfg.Environments.Sandbox.Schema = "dev"
	after, _ := h.handler.load("sales")
	sumAfter, _ := after.Hash()
	if after.Database != "dev" || sumBefore != sumAfter {
		t.Errorf("database %q, hashes %s %s", after.Database, sumBefore, sumAfter)
	}
}

func TestJSONValues(t *testing.T) {
	cols := []connect.Column{{Name: "f", Type: "float"}, {Name: "a", Type: "array<struct<`odd,name`:date,n:bigint>>"},
		{Name: "m", Type: "map<binary,array<timestamp_ntz>>"}}
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	rows := [][]any{{float32(0.1), []any{connectRow(day, int64(-1<<60))},
		[]connect.MapEntry{{Key: []byte{0xff}, Value: []any{day.Add(90 * time.Minute)}}}}}
	got, _ := json.Marshal(jsonRows(cols, rows))
	want := `[[0.1,[{"n":"-1152921504606846976","odd,name":"2026-01-02"}],[{"key":"/w==","value":["2026-01-02T01:30:00"]}]]]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func connectRow(vals ...any) connect.Row { return connect.Row(vals) }

// kindGuard records the kinds it is asked to check.
type kindGuard struct {
	mu    sync.Mutex
	kinds []string
}

func (g *kindGuard) CheckBody(_ *pipeline.Pipeline, body, kind string) (pipeline.Problems, BodyFacts) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.kinds = append(g.kinds, kind)
	return nil, BodyFacts{}
}

func TestGuardSeesEveryBodyWithItsKind(t *testing.T) {
	g := &kindGuard{}
	h := newHarness(t, harnessOpts{guard: g})
	h.mustCall("declare_table", ordersClean)
	h.mustCall("declare_table", `{"pipeline":"sales","name":"events","kind":"streaming_table","query":"SELECT * FROM STREAM(spark_catalog.raw.orders)"}`)
	h.mustCall("declare_flow", `{"pipeline":"sales","name":"more","target":"events","query":"SELECT * FROM STREAM(spark_catalog.raw.orders)"}`)
	want := []string{BodyQuery, BodyCondition, BodyStreamingQuery, BodyStreamingQuery}
	if !slices.Equal(g.kinds, want) {
		t.Errorf("declarations: kinds %v, want %v", g.kinds, want)
	}
	g.kinds = nil
	h.mustCall("validate", `{"pipeline":"sales"}`)
	want = []string{BodyStreamingQuery, BodyQuery, BodyCondition, BodyStreamingQuery}
	if !slices.Equal(g.kinds, want) {
		t.Errorf("validate: kinds %v, want %v", g.kinds, want)
	}
}
