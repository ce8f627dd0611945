package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/mcptest"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files and schema snapshots")

type harnessOpts struct {
	production  bool
	sandboxOnly bool
	readOnly    bool
	guard       BodyChecker
	infra       error
	policy      string // policy YAML; "" is the built-in default
	// prodTables and prodProfile are what the production engine finds.
	prodTables  map[string]engine.TableState
	prodProfile *engine.Profile
}

// harness is the tools served by a real MCP server over in-process stdio
// pipes (mcptest), with fake engines.
type harness struct {
	t       *testing.T
	cfg     *config.Config
	handler *Handler
	client  *client.Client

	mu      sync.Mutex
	engines map[string]*fakeEngine
	dials   []string
}

func testConfig(t *testing.T, o harnessOpts) *config.Config {
	t.Helper()
	c := config.Default()
	c.Workspace = t.TempDir()
	c.Environments.Sandbox.Storage = "s3://sandbox-bucket/sdp"
	if o.production {
		c.Environments.Production = &config.Environment{URL: "sc://prod.example.com:15002/", TokenEnv: "PROD_TOKEN",
			Catalog: "main", Schema: "analytics", Storage: "s3://prod-bucket/sdp"}
	}
	c.Mode = config.Mode{SandboxOnly: o.sandboxOnly, ReadOnly: o.readOnly}
	lookup := func(k string) (string, bool) {
		return map[string]string{"PROD_TOKEN": "prod-secret"}[k], k == "PROD_TOKEN"
	}
	if err := c.Validate(lookup); err != nil {
		t.Fatal(err)
	}
	return c
}

// fixedClock returns a clock that starts at a fixed instant and advances a
// second per reading, so records are ordered and goldens stable.
func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, cfg: testConfig(t, o), engines: map[string]*fakeEngine{}}
	guard := o.guard
	if guard == nil {
		guard = denyGuard{}
	}
	factory := func(_ context.Context, env config.Environment) (Engine, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		f := &fakeEngine{env: env.Name, infra: o.infra}
		if env.Name == config.Production {
			f.tables, f.profile = o.prodTables, o.prodProfile
		}
		h.engines[env.Name] = f
		h.dials = append(h.dials, env.Name)
		return f, nil
	}
	var pol *policy.Policy
	if o.policy != "" {
		var err error
		if pol, err = policy.Parse("test-policy.yaml", []byte(o.policy)); err != nil {
			t.Fatal(err)
		}
		if err := pol.Apply(h.cfg); err != nil {
			t.Fatal(err)
		}
	}
	handler, err := New(Deps{Config: h.cfg, Engines: factory, Guard: guard, Policy: pol, Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	h.handler = handler
	all, err := handler.All()
	if err != nil {
		t.Fatal(err)
	}
	srv := mcptest.NewUnstartedServer(t)
	srv.AddTools(all...)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h.client = srv.Client()
	return h
}

func (h *harness) call(tool, args string) (*mcp.CallToolResult, error) {
	h.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	if args != "" {
		req.Params.Arguments = json.RawMessage(args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.client.CallTool(ctx, req)
}

// mustCall makes a call that must succeed and returns its structured content.
func (h *harness) mustCall(tool, args string) map[string]any {
	h.t.Helper()
	res, err := h.call(tool, args)
	if err != nil {
		h.t.Fatalf("%s %s: %v", tool, args, err)
	}
	if res.IsError {
		h.t.Fatalf("%s %s: tool error: %s", tool, args, resultText(res))
	}
	m, _ := res.StructuredContent.(map[string]any)
	return m
}

func (h *harness) dialed() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.dials...)
}

func resultText(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

// goldenView is what a golden file holds for one call.
type goldenView struct {
	Tool          string          `json:"tool"`
	Arguments     json.RawMessage `json:"arguments,omitempty"`
	IsError       bool            `json:"isError,omitempty"`
	Text          string          `json:"text,omitempty"`
	Structured    any             `json:"structuredContent,omitempty"`
	ProtocolError string          `json:"protocolError,omitempty"`
}

func view(t *testing.T, tool, args string, res *mcp.CallToolResult, err error) goldenView {
	t.Helper()
	v := goldenView{Tool: tool}
	if args != "" {
		var buf bytes.Buffer
		if e := json.Compact(&buf, []byte(args)); e == nil {
			v.Arguments = buf.Bytes()
		} else {
			v.Arguments, _ = json.Marshal(args) // invalid JSON kept as a string
		}
	}
	if err != nil {
		v.ProtocolError = err.Error()
		return v
	}
	v.IsError = res.IsError
	text := resultText(res)
	if res.StructuredContent != nil {
		v.Structured = res.StructuredContent
		// The text copy must be the same JSON, for clients without
		// structured content support.
		want, _ := json.Marshal(res.StructuredContent)
		var got any
		if json.Unmarshal([]byte(text), &got) != nil {
			t.Errorf("%s: text is not JSON: %q", tool, text)
		} else if g, _ := json.Marshal(got); !bytes.Equal(g, want) {
			t.Errorf("%s: text and structuredContent differ:\n%s\n%s", tool, g, want)
		}
	} else {
		v.Text = text
	}
	return v
}

// checkGolden compares got with the file, or rewrites it with -update.
func checkGolden(t *testing.T, file string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("missing golden file (run go test ./tools -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(data)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./tools -update rewrites it):\n%s", file, diff)
	}
}
