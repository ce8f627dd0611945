package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/policy"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

func TestMain(m *testing.M) {
	// mcp-go's client transports log closed pipes at shutdown through the
	// default logger; keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// memAudit is an audit log in memory that can be made to fail.
type memAudit struct {
	mu      sync.Mutex
	records []audit.Record
	// failAfter makes every write after that many succeed fail (-1: never).
	failAfter int
	// failEvents makes every event record fail.
	failEvents bool
}

func newMemAudit() *memAudit { return &memAudit{failAfter: -1} }

func (m *memAudit) Write(r audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter >= 0 && len(m.records) >= m.failAfter || m.failEvents && r.Event != "" {
		return fmt.Errorf("%w: disk full at /var/log/sdp/audit.jsonl", audit.ErrWrite)
	}
	if _, err := audit.Marshal(r); err != nil {
		return err
	}
	m.records = append(m.records, r)
	return nil
}

func (m *memAudit) all() []audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.records)
}

// fakeEngine is a minimal engine; panicOn names a method that panics.
type fakeEngine struct{ panicOn string }

func (f *fakeEngine) ListSources(context.Context, string) ([]engine.Source, error) {
	if f.panicOn == "ListSources" {
		panic("boom at /secret/path")
	}
	return []engine.Source{{Name: "spark_catalog.raw.orders", Columns: []connect.Column{{Name: "id", Type: "bigint"}}}}, nil
}

func (f *fakeEngine) DescribeSource(_ context.Context, name string) (*engine.Source, error) {
	return &engine.Source{Name: name}, nil
}

func (f *fakeEngine) Preview(context.Context, *pipeline.Pipeline, engine.PreviewRequest) (*engine.PreviewResult, error) {
	return &engine.PreviewResult{Columns: []connect.Column{{Name: "x", Type: "int"}}, Rows: [][]any{{int32(1)}}}, nil
}

func (f *fakeEngine) Validate(_ context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	sum, err := p.Hash()
	return &engine.ValidationResult{OK: true, PipelineHash: sum}, err
}

func (f *fakeEngine) ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	return f.Validate(ctx, p)
}

func (f *fakeEngine) Run(_ context.Context, p *pipeline.Pipeline, _ engine.RunOptions, _ func(engine.Progress)) (*engine.RunResult, error) {
	sum, err := p.Hash()
	return &engine.RunResult{OK: true, PipelineHash: sum}, err
}

func (f *fakeEngine) Profile(context.Context) (engine.Profile, error) {
	return engine.Profile{SparkVersion: "4.3.0", TableFormat: "parquet"}, nil
}

func (f *fakeEngine) InspectTables(context.Context, *pipeline.Pipeline) (map[string]engine.TableState, error) {
	return nil, nil
}

type noGuard struct{}

func (noGuard) CheckBody(*pipeline.Pipeline, string, string) (pipeline.Problems, tools.BodyFacts) {
	return nil, tools.BodyFacts{}
}

type testOpts struct {
	sandboxOnly, readOnly bool
	productionURL         string // "" = no production environment
	transport             string
	listen                string
	httpToken             string
	allowedOrigins        []string
	maxBody               int64
	factory               tools.EngineFactory
	callsPerMinute        int
	now                   func() time.Time
	approval              string            // promotion.approval
	clients               map[string]string // http.clients: name → token
	oauth                 *config.OAuth
	policy                *policy.Policy
}

const testToken = "0123456789abcdef0123456789abcdef"

func testSettings(t *testing.T, o testOpts) *config.Config {
	t.Helper()
	c := config.Default()
	c.Workspace = t.TempDir()
	c.Environments.Sandbox.Storage = "s3://sandbox/sdp"
	if o.productionURL != "" {
		c.Environments.Production = &config.Environment{URL: o.productionURL, TokenEnv: "PROD_TOKEN",
			Catalog: "main", Schema: "analytics", Storage: "s3://prod/sdp"}
	}
	c.Mode = config.Mode{SandboxOnly: o.sandboxOnly, ReadOnly: o.readOnly}
	if o.transport != "" {
		c.Transport = o.transport
	}
	if o.listen != "" {
		c.HTTP.Listen = o.listen
	}
	if o.httpToken != "" {
		c.HTTP.TokenEnv = "HTTP_TOKEN"
	}
	c.HTTP.AllowedOrigins = o.allowedOrigins
	if o.maxBody > 0 {
		c.HTTP.MaxBodyBytes = o.maxBody
	}
	if o.callsPerMinute > 0 {
		c.Limits.CallsPerMinute = o.callsPerMinute
	}
	c.Promotion.Approval = o.approval
	c.HTTP.OAuth = o.oauth
	env := map[string]string{"PROD_TOKEN": "prod-secret", "HTTP_TOKEN": o.httpToken}
	for _, name := range slices.Sorted(maps.Keys(o.clients)) {
		c.HTTP.Clients = append(c.HTTP.Clients, config.HTTPClient{Name: name, TokenEnv: "TOKEN_" + strings.ToUpper(name)})
		env["TOKEN_"+strings.ToUpper(name)] = o.clients[name]
	}
	if err := c.Validate(func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" }); err != nil {
		t.Fatal(err)
	}
	return c
}

func fakeFactory(context.Context, config.Environment) (tools.Engine, error) {
	return &fakeEngine{}, nil
}

func newTestServer(t *testing.T, o testOpts, log AuditLog) *Server {
	t.Helper()
	f := o.factory
	if f == nil {
		f = fakeFactory
	}
	s, err := New(Config{Settings: testSettings(t, o), Engines: f, Guard: noGuard{}, Audit: log, Version: "test", Now: o.now, Policy: o.policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// inProcess returns an initialized in-process client. legacy selects the
// 2025-11-25 protocol (initialize handshake, sessions); otherwise 2026-07-28.
func inProcess(t *testing.T, s *Server, legacy bool) *client.Client {
	t.Helper()
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c, err := client.NewInProcessClientWithOptions(s.MCP(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "test-agent", Version: "1.2.3"}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Instructions, "## Workflow") {
		t.Errorf("instructions missing from initialize: %q", res.Instructions)
	}
	return c
}

func callTool(c *client.Client, name, args string) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(args)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.CallTool(ctx, req)
}

func listTools(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

var (
	allTools      = []string{"list_sources", "describe_source", "list_pipelines", "show_pipeline", "declare_table", "declare_flow", "remove_dataset", "preview", "validate", "run", "plan_promotion", "promote"}
	sandboxTools  = []string{"list_sources", "describe_source", "list_pipelines", "show_pipeline", "declare_table", "declare_flow", "remove_dataset", "preview", "validate", "run"}
	readOnlyTools = []string{"list_sources", "describe_source", "list_pipelines", "show_pipeline", "preview", "validate"}
)

func TestModesDecideTheTools(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   testOpts
		want   []string
		denied map[string]string // tool → rule
	}{
		{"default", testOpts{productionURL: "sc://prod.example.com/"}, allTools, nil},
		{"sandbox-only", testOpts{sandboxOnly: true, productionURL: "sc://prod.example.com/"}, sandboxTools,
			map[string]string{"promote": "mode.sandbox_only"}},
		{"read-only", testOpts{readOnly: true}, readOnlyTools,
			map[string]string{"promote": "mode.read_only", "declare_table": "mode.read_only", "run": "mode.read_only",
				"declare_flow": "mode.read_only", "remove_dataset": "mode.read_only"}},
		{"both", testOpts{readOnly: true, sandboxOnly: true}, readOnlyTools,
			map[string]string{"promote": "mode.read_only", "run": "mode.read_only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, legacy := range []bool{false, true} {
				log := newMemAudit()
				s := newTestServer(t, tc.opts, log)
				c := inProcess(t, s, legacy)
				if got := listTools(t, c); !slices.Equal(got, tc.want) {
					t.Errorf("legacy=%v: tools/list = %v, want %v", legacy, got, tc.want)
				}
				for tool, rule := range tc.denied {
					res, err := callTool(c, tool, `{"pipeline":"sales","pipeline_hash":"`+strings.Repeat("a", 64)+`"}`)
					if err == nil {
						t.Errorf("legacy=%v: %s was served: %v", legacy, tool, res)
						continue
					}
					if !strings.Contains(err.Error(), "is not available") {
						t.Errorf("legacy=%v: %s: error %q does not say why", legacy, tool, err)
					}
					recs := log.all()
					last := recs[len(recs)-1]
					if last.Tool != tool || last.Decision != audit.Denied || !slices.Equal(last.Rules, []string{rule}) {
						t.Errorf("legacy=%v: %s: audit record %+v", legacy, tool, last)
					}
				}
			}
		})
	}
}

func TestEveryCallIsAudited(t *testing.T) {
	log := newMemAudit()
	s := newTestServer(t, testOpts{}, log)
	c := inProcess(t, s, true)

	// An accepted call: "allowed" before it runs, "ok" after.
	res, err := callTool(c, "declare_table", `{"pipeline":"sales","name":"t","kind":"materialized_view","query":"SELECT 1 AS one","comment":"password=hunter2"}`)
	if err != nil || res.IsError {
		t.Fatalf("declare_table: %v %v", err, res)
	}
	// Rejected by the schema, by the domain, an unknown tool.
	if res, err := callTool(c, "declare_table", `{"pipeline":"Sales","kind":"view","token":"s3cr3t"}`); err != nil || !res.IsError {
		t.Fatalf("bad call: %v %v", err, res)
	}
	if res, err := callTool(c, "remove_dataset", `{"pipeline":"sales","name":"nope"}`); err != nil || !res.IsError {
		t.Fatalf("domain rejection: %v %v", err, res)
	}
	if _, err := callTool(c, "drop_table", `{"name":"x"}`); err == nil {
		t.Fatal("unknown tool served")
	}

	recs := log.all()
	type short struct {
		Tool     string
		Decision audit.Decision
		Rules    string
	}
	var got []short
	for _, r := range recs {
		got = append(got, short{r.Tool, r.Decision, strings.Join(r.Rules, ",")})
	}
	want := []short{
		{"declare_table", audit.Allowed, ""},
		{"declare_table", audit.OK, ""},
		{"declare_table", audit.Rejected, "argument.kind,argument.name,argument.pipeline,argument.token"},
		{"remove_dataset", audit.Allowed, ""},
		{"remove_dataset", audit.Rejected, "dataset.name"},
		{"drop_table", audit.Rejected, "tool.unknown"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit records:\n got %v\nwant %v", got, want)
	}
	ok := recs[1]
	if ok.Client == nil || ok.Client.Name != "test-agent" || ok.Client.Version != "1.2.3" || ok.Session == "" {
		t.Errorf("client or session missing: %+v", ok)
	}
	if ok.PipelineHash == "" || ok.Summary == "" || ok.Transport != "stdio" {
		t.Errorf("hash, summary or transport missing: %+v", ok)
	}
	if strings.Contains(string(ok.Arguments), "hunter2") || !strings.Contains(string(ok.Arguments), `"pipeline":"sales"`) {
		t.Errorf("arguments not redacted or missing: %s", ok.Arguments)
	}
	if strings.Contains(string(recs[2].Arguments), "s3cr3t") {
		t.Errorf("rejected call's secret argument logged: %s", recs[2].Arguments)
	}
}

func TestModernClientsAreAuditedToo(t *testing.T) {
	log := newMemAudit()
	s := newTestServer(t, testOpts{sandboxOnly: true}, log)
	c := inProcess(t, s, false)
	if res, err := callTool(c, "list_sources", `{}`); err != nil || res.IsError {
		t.Fatalf("list_sources: %v %v", err, res)
	}
	if _, err := callTool(c, "promote", `{}`); err == nil {
		t.Fatal("promote served in sandbox-only mode")
	}
	recs := log.all()
	if len(recs) != 3 || recs[1].Decision != audit.OK || recs[2].Decision != audit.Denied {
		t.Fatalf("records = %+v", recs)
	}
	for _, r := range recs {
		if r.Client == nil || r.Client.Name == "" {
			t.Errorf("no client info in %+v", r)
		}
	}
}

// TestAuditFailureRefusesTheCall: a log that cannot be written is the
// operator's problem: the agent gets a tool error saying what happened to
// the call and that the operator must fix the log, never a JSON-RPC
// error; the server log holds the cause under the same ref.
func TestAuditFailureRefusesTheCall(t *testing.T) {
	const declare = `{"pipeline":"sales","name":"t","kind":"materialized_view","query":"SELECT 1 AS one"}`
	for _, tc := range []struct {
		name      string
		failAfter int // writes that succeed before the log fails
		tool      string
		args      string
		want      string
		draft     bool // the declaration is saved
	}{
		{"before the call runs", 0, "declare_table", declare,
			"declare_table was refused because the audit log could not be written: nothing ran", false},
		{"after a declaration", 1, "declare_table", declare,
			"declare_table: the declaration was saved in the draft; its outcome could not be recorded in the audit log, so its result is withheld", true},
		{"after a read", 1, "list_sources", `{}`,
			"list_sources ran and changed nothing; its outcome could not be recorded in the audit log, so its result is withheld", false},
		{"rejected calls too", 0, "list_sources", `{"bogus":1}`,
			"list_sources was refused because the audit log could not be written: nothing ran", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := newMemAudit()
			log.failAfter = tc.failAfter
			var serverLog bytes.Buffer
			cfg := Config{Settings: testSettings(t, testOpts{}), Engines: fakeFactory, Guard: noGuard{}, Audit: log,
				Version: "test", Log: slog.New(slog.NewTextHandler(&serverLog, nil))}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			c := inProcess(t, s, true)
			res, err := callTool(c, tc.tool, tc.args)
			if err != nil {
				t.Fatalf("a JSON-RPC error for an audit log that cannot be written: %v", err)
			}
			text := resultText(res)
			if !res.IsError || !strings.HasPrefix(text, tc.want+". ") {
				t.Fatalf("result (isError %v):\n%s\nwant it to start with:\n%s", res.IsError, text, tc.want)
			}
			if !strings.Contains(text, "operator must free space for the audit log or repair it") || strings.Contains(text, "/var/log") {
				t.Errorf("the message does not tell the operator's task, or leaks the path: %s", text)
			}
			ref := regexp.MustCompile(`\(ref ([0-9a-f]{12});`).FindStringSubmatch(text)
			if ref == nil {
				t.Fatalf("no ref in %q", text)
			}
			if !regexp.MustCompile(`ref=` + ref[1] + `.*disk full at /var/log/sdp/audit.jsonl`).MatchString(serverLog.String()) {
				t.Errorf("the server log has no cause under ref %s:\n%s", ref[1], serverLog.String())
			}
			_, statErr := os.Stat(filepath.Join(s.settings.PipelinesDir(), "sales"))
			if saved := statErr == nil; saved != tc.draft {
				t.Errorf("draft saved = %v, want %v", saved, tc.draft)
			}
		})
	}
}

func TestPanicsAreRecoveredAndSanitized(t *testing.T) {
	log := newMemAudit()
	s := newTestServer(t, testOpts{factory: func(context.Context, config.Environment) (tools.Engine, error) {
		return &fakeEngine{panicOn: "ListSources"}, nil
	}}, log)
	c := inProcess(t, s, true)
	_, err := callTool(c, "list_sources", `{}`)
	if err == nil {
		t.Fatal("panic produced a result")
	}
	if strings.Contains(err.Error(), "boom") || strings.Contains(err.Error(), "/secret") || strings.Contains(err.Error(), "goroutine") ||
		!strings.Contains(err.Error(), "internal error (ref ") {
		t.Errorf("error = %v", err)
	}
	recs := log.all()
	if last := recs[len(recs)-1]; last.Decision != audit.Failed || !strings.Contains(last.Summary, "ref ") {
		t.Errorf("last record = %+v", last)
	}
	// The server keeps serving.
	if res, err := callTool(c, "list_pipelines", `{}`); err != nil || res.IsError {
		t.Errorf("after the panic: %v %v", err, res)
	}
}

// dialingFactory connects to the environment's host the way a real engine
// would, so a TCP listener can see whether an environment was contacted.
func dialingFactory(ctx context.Context, env config.Environment) (tools.Engine, error) {
	if env.URL != "" {
		ep, err := connect.ParseURL(env.URL)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", ep.Target())
		if err != nil {
			return nil, err
		}
		conn.Close()
	}
	return &fakeEngine{}, nil
}

// TestSandboxOnlyNeverDialsProduction runs the whole workflow, promote
// included, against a server whose production address is a live TCP
// listener, and checks that nothing ever connects to it.
func TestSandboxOnlyNeverDialsProduction(t *testing.T) {
	for _, sandboxOnly := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns atomic.Int32
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				conns.Add(1)
				c.Close()
			}
		}()
		s := newTestServer(t, testOpts{sandboxOnly: sandboxOnly, productionURL: "sc://" + ln.Addr().String() + "/",
			factory: dialingFactory, approval: config.ApprovalNone}, newMemAudit())
		c := inProcess(t, s, true)
		for _, call := range [][2]string{
			{"list_sources", `{}`},
			{"declare_table", `{"pipeline":"sales","name":"t","kind":"materialized_view","query":"SELECT 1 AS one"}`},
			{"preview", `{"pipeline":"sales","dataset":"t"}`},
			{"run", `{"pipeline":"sales"}`},
		} {
			if res, err := callTool(c, call[0], call[1]); err != nil || res.IsError {
				t.Fatalf("%s: %v %v", call[0], err, res)
			}
		}
		res, err := callTool(c, "validate", `{"pipeline":"sales"}`)
		if err != nil || res.IsError {
			t.Fatalf("validate: %v %v", err, res)
		}
		hash := res.StructuredContent.(map[string]any)["pipeline_hash"].(string)
		res, err = callTool(c, "promote", `{"pipeline":"sales","pipeline_hash":"`+hash+`"}`)
		time.Sleep(50 * time.Millisecond) // let the accept loop count
		got := conns.Load()
		ln.Close()
		if sandboxOnly {
			if err == nil {
				t.Errorf("promote served in sandbox-only mode: %v", res)
			}
			if got != 0 {
				t.Errorf("sandbox-only: %d connection(s) to the production address", got)
			}
		} else {
			// The control: without the mode, promote does reach production,
			// so the listener would have seen a connection.
			if err != nil || res.IsError {
				t.Errorf("promote: %v %v", err, res)
			}
			if got != 1 {
				t.Errorf("promote made %d connection(s) to production, want 1", got)
			}
		}
	}
}
