package server

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/policy"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// spyEngine records the Spark session (agent id) of every engine call.
type spyEngine struct {
	fakeEngine
	mu     sync.Mutex
	agents []string
}

func (s *spyEngine) ListSources(ctx context.Context, p string) ([]engine.Source, error) {
	s.mu.Lock()
	s.agents = append(s.agents, engine.AgentSession(ctx))
	s.mu.Unlock()
	return s.fakeEngine.ListSources(ctx, p)
}

var (
	aliceToken = strings.Repeat("a1", 20)
	bobToken   = strings.Repeat("b2", 20)
)

func TestTwoPrincipalsOnOneHTTPServer(t *testing.T) {
	spy := &spyEngine{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", callsPerMinute: 2,
		clients: map[string]string{"alice": aliceToken, "bob": bobToken},
		factory: func(context.Context, config.Environment) (tools.Engine, error) { return spy, nil }}, ln, nil, nil)
	url := "http://" + r.addr + Endpoint

	// No token, a wrong one: 401, pointing at bearer auth.
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer " + strings.Repeat("x", 40)}} {
		if code, _ := post(t, url, initBody, h); code != 401 {
			t.Errorf("headers %v: status %d, want 401", h, code)
		}
	}

	// Both speak the current protocol (no sessions): before principals
	// they shared one bucket and one Spark session.
	alice := httpClient(t, url, map[string]string{"Authorization": "Bearer " + aliceToken})
	bob := httpClient(t, url, map[string]string{"Authorization": "Bearer " + bobToken})
	for i := range 2 {
		if res, err := callTool(alice, "list_sources", `{}`); err != nil || res.IsError {
			t.Fatalf("alice call %d: %v %v", i, err, res)
		}
	}
	// Alice's bucket is empty; Bob's is not.
	if res, err := callTool(alice, "list_sources", `{}`); err != nil || !res.IsError || !strings.Contains(resultText(res), "rate limit") {
		t.Fatalf("alice's third call: %v %v", err, res)
	}
	if res, err := callTool(bob, "list_sources", `{}`); err != nil || res.IsError {
		t.Fatalf("bob is limited by alice's calls: %v %v", err, res)
	}

	spy.mu.Lock()
	agents := slices.Compact(slices.Sorted(slices.Values(spy.agents)))
	spy.mu.Unlock()
	if len(agents) != 2 || agents[0] == agents[1] || !strings.HasPrefix(agents[0], "alice") || !strings.HasPrefix(agents[1], "bob") {
		t.Fatalf("Spark sessions used: %v, want one for alice and one for bob", agents)
	}

	by := map[string][]audit.Record{}
	for _, rec := range r.log.all() {
		by[rec.Principal] = append(by[rec.Principal], rec)
		if rec.ProtocolVersion == "" || rec.Transport != "http" || rec.Client == nil {
			t.Errorf("record without protocol version, transport or client: %+v", rec)
		}
	}
	if len(by["alice"]) != 5 || len(by["bob"]) != 2 || len(by) != 2 {
		t.Fatalf("records by principal: alice %d, bob %d, all %v", len(by["alice"]), len(by["bob"]), len(by))
	}
	if last := by["alice"][4]; last.Decision != audit.Denied || !slices.Contains(last.Rules, ruleRate) {
		t.Errorf("alice's rate-limited call: %+v", last)
	}
}

func TestConversationInMeta(t *testing.T) {
	spy := &spyEngine{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", clients: map[string]string{"alice": aliceToken},
		factory: func(context.Context, config.Environment) (tools.Engine, error) { return spy, nil }}, ln, nil, nil)
	c := httpClient(t, "http://"+r.addr+Endpoint, map[string]string{"Authorization": "Bearer " + aliceToken})
	for _, conv := range []string{"chat-1", "chat-2", "chat-1"} {
		req := mcp.CallToolRequest{}
		req.Params.Name = "list_sources"
		req.Params.Arguments = map[string]any{}
		req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"sdp-mcp/conversation": conv}}
		if res, err := c.CallTool(context.Background(), req); err != nil || res.IsError {
			t.Fatalf("%s: %v %v", conv, err, res)
		}
	}
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if want := []string{"alice#chat-1", "alice#chat-2", "alice#chat-1"}; !slices.Equal(spy.agents, want) {
		t.Fatalf("Spark sessions %v, want %v", spy.agents, want)
	}
	recs := r.log.all()
	if recs[len(recs)-1].Conversation != "chat-1" || recs[len(recs)-1].Principal != "alice" {
		t.Fatalf("record %+v", recs[len(recs)-1])
	}
}

func TestPrincipalPolicyOverHTTP(t *testing.T) {
	pol, err := policy.Parse("p.yaml", []byte("version: 1\nprincipals:\n  bob:\n    tools: {list_sources: false}\n    limits: {calls_per_minute: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", policy: pol,
		clients: map[string]string{"alice": aliceToken, "bob": bobToken}}, ln, nil, nil)
	url := "http://" + r.addr + Endpoint
	alice := httpClient(t, url, map[string]string{"Authorization": "Bearer " + aliceToken})
	bob := httpClient(t, url, map[string]string{"Authorization": "Bearer " + bobToken})
	if got := listTools(t, bob); slices.Contains(got, "list_sources") || !slices.Contains(listTools(t, alice), "list_sources") {
		t.Errorf("bob's tools: %v", got)
	}
	if _, err := callTool(bob, "list_sources", `{}`); err == nil || !strings.Contains(err.Error(), "principals.bob.tools.list_sources: false") {
		t.Errorf("bob's list_sources: %v", err)
	}
	for i := range 2 {
		res, err := callTool(bob, "list_pipelines", `{}`)
		if err != nil || res.IsError != (i == 1) {
			t.Errorf("bob's call %d at 1 call per minute: %v %v", i, err, res)
		}
	}
	for range 3 {
		if res, err := callTool(alice, "list_pipelines", `{}`); err != nil || res.IsError {
			t.Errorf("alice: %v %v", err, res)
		}
	}
}

// twoSourcesEngine knows two source tables.
type twoSourcesEngine struct{ fakeEngine }

func (twoSourcesEngine) ListSources(context.Context, string) ([]engine.Source, error) {
	return []engine.Source{{Name: "spark_catalog.samples.customers"}, {Name: "spark_catalog.samples.orders"}}, nil
}

func (twoSourcesEngine) DescribeSource(_ context.Context, name string) (*engine.Source, error) {
	return &engine.Source{Name: "spark_catalog.samples." + name[strings.LastIndex(name, ".")+1:]}, nil
}

func TestPrincipalSeesOnlyItsSources(t *testing.T) {
	pol, err := policy.Parse("p.yaml", []byte("version: 1\nprincipals:\n  bob:\n    sources: {sandbox: [spark_catalog.samples.orders]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", policy: pol,
		clients: map[string]string{"alice": aliceToken, "bob": bobToken},
		factory: func(context.Context, config.Environment) (tools.Engine, error) { return &twoSourcesEngine{}, nil }}, ln, nil, nil)
	url := "http://" + r.addr + Endpoint
	alice := httpClient(t, url, map[string]string{"Authorization": "Bearer " + aliceToken})
	bob := httpClient(t, url, map[string]string{"Authorization": "Bearer " + bobToken})

	for _, tc := range []struct {
		who  string
		c    *client.Client
		want string
	}{{"alice", alice, "customers,orders"}, {"bob", bob, "orders"}} {
		who, want := tc.who, tc.want
		res, err := callTool(tc.c, "list_sources", `{}`)
		if err != nil || res.IsError {
			t.Fatalf("%s's list_sources: %v %v", who, err, res)
		}
		var out struct{ Sources []struct{ Name string } }
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range out.Sources {
			got = append(got, s.Name[strings.LastIndex(s.Name, ".")+1:])
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s sees %v, want %s", who, got, want)
		}
	}

	if res, err := callTool(alice, "describe_source", `{"name": "customers"}`); err != nil || res.IsError {
		t.Errorf("alice's describe_source customers: %v %v", err, res)
	}
	if res, err := callTool(bob, "describe_source", `{"name": "orders"}`); err != nil || res.IsError {
		t.Errorf("bob's describe_source orders: %v %v", err, res)
	}
	res, err := callTool(bob, "describe_source", `{"name": "customers"}`)
	if err != nil || !res.IsError {
		t.Fatalf("bob's describe_source customers: %v %v", err, res)
	}
	if txt := resultText(res); !strings.Contains(txt, "no such table among the sources spark_catalog.samples.orders") || !strings.Contains(txt, "list_sources") {
		t.Errorf("bob's refusal: %s", txt)
	}
}
