package tools

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

const rulesPolicy = `version: 1
limits:
  max_datasets_per_pipeline: 3
full_refresh_protected: ["sales.history_*"]
rules:
  - name: no-hr
    when: reads.exists(r, r.startsWith("hr."))
    action: deny
    message: HR tables are off limits; read the sales sources
  - name: wide-preview
    when: tool == "preview" && limit > 50
    action: warn
    message: previews over 50 rows are costly
  - name: streaming
    when: kind == "streaming_table"
    action: audit
  - name: no-run-of-drafts
    when: tool == "run" && pipeline == "drafts"
    action: deny
    message: the drafts pipeline is never run
`

// callWithOutcome calls a tool's handler directly, with an outcome the test
// reads (the server's audit layer does the same).
func callWithOutcome(t *testing.T, h *harness, tool, args string) (*mcp.CallToolResult, *toolcall.Outcome) {
	t.Helper()
	all, err := h.handler.All()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(st server.ServerTool) bool { return st.Tool.Name == tool })
	if i < 0 {
		t.Fatalf("no tool %s", tool)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = json.RawMessage(args)
	o := &toolcall.Outcome{}
	res, err := all[i].Handler(toolcall.WithOutcome(context.Background(), o), req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res, o
}

func TestPolicyRules(t *testing.T) {
	h := newHarness(t, harnessOpts{policy: rulesPolicy})
	h.mustCall("declare_table", `{"pipeline": "sales", "name": "orders", "kind": "materialized_view", "query": "SELECT * FROM raw.orders"}`)

	// deny: refused with the rule's message, nothing saved, audited as denied.
	res, o := callWithOutcome(t, h, "declare_table",
		`{"pipeline": "sales", "name": "pay", "kind": "materialized_view", "query": "SELECT * FROM hr.salaries"}`)
	if !res.IsError || !strings.Contains(resultText(res), "rule.no-hr: HR tables are off limits; read the sales sources") {
		t.Fatalf("declare reading hr: %s", resultText(res))
	}
	if o.Decision != audit.Denied || !slices.Contains(o.Rules, "rule.no-hr") {
		t.Errorf("outcome %+v, want denied by rule.no-hr", o)
	}
	show := h.mustCall("show_pipeline", `{"pipeline": "sales"}`)
	if b, _ := json.Marshal(show); strings.Contains(string(b), "salaries") {
		t.Errorf("a denied declaration was saved: %s", b)
	}

	// warn: the call runs and its result carries the warning.
	res, o = callWithOutcome(t, h, "preview", `{"pipeline": "sales", "dataset": "orders", "limit": 80}`)
	if res.IsError || !strings.Contains(allText(res), "policy warning: rule.wide-preview: previews over 50 rows are costly") {
		t.Fatalf("wide preview: %v %s", res.IsError, allText(res))
	}
	if o.Decision != audit.OK || !slices.Contains(o.Rules, "rule.wide-preview") {
		t.Errorf("outcome %+v, want ok with rule.wide-preview", o)
	}
	res, _ = callWithOutcome(t, h, "preview", `{"pipeline": "sales", "dataset": "orders", "limit": 20}`)
	if strings.Contains(allText(res), "policy warning") {
		t.Errorf("narrow preview warned: %s", allText(res))
	}

	// audit: recorded, nothing else.
	res, o = callWithOutcome(t, h, "declare_table",
		`{"pipeline": "sales", "name": "events", "kind": "streaming_table", "query": "SELECT * FROM STREAM(raw.events)"}`)
	if res.IsError || strings.Contains(allText(res), "policy warning") || !slices.Contains(o.Rules, "rule.streaming") {
		t.Errorf("audited declaration: %s, rules %v", allText(res), o.Rules)
	}

	// A rule on a tool without bodies, decided before the handler runs.
	h.mustCall("declare_table", `{"pipeline": "drafts", "name": "x", "kind": "materialized_view", "query": "SELECT 1 AS x"}`)
	res, o = callWithOutcome(t, h, "run", `{"pipeline": "drafts"}`)
	if !res.IsError || o.Decision != audit.Denied || !strings.Contains(resultText(res), "the drafts pipeline is never run") {
		t.Errorf("run of drafts: %s, outcome %+v", resultText(res), o)
	}
	if calls := h.engines["sandbox"]; calls != nil && slices.ContainsFunc(calls.Calls(), func(c string) bool { return strings.HasPrefix(c, "Run drafts") }) {
		t.Error("a denied run reached the engine")
	}
}

func TestPolicyProtectsFromFullRefresh(t *testing.T) {
	h := newHarness(t, harnessOpts{policy: rulesPolicy})
	h.mustCall("declare_table", `{"pipeline": "sales", "name": "history_orders", "kind": "materialized_view", "query": "SELECT * FROM raw.orders"}`)
	h.mustCall("declare_table", `{"pipeline": "sales", "name": "daily", "kind": "materialized_view", "query": "SELECT * FROM history_orders"}`)
	for _, args := range []string{
		`{"pipeline": "sales", "full_refresh": ["daily", "history_orders"]}`,
		`{"pipeline": "sales", "full_refresh_all": true}`,
	} {
		res, _ := h.call("run", args)
		if res == nil || !res.IsError || !strings.Contains(resultText(res), "dataset history_orders is protected from full refresh by the policy (full_refresh_protected: sales.history_*)") {
			t.Errorf("run %s: %s", args, resultText(res))
		}
	}
	if len(h.dialed()) != 0 {
		t.Errorf("refused runs dialled %v", h.dialed())
	}
	h.mustCall("run", `{"pipeline": "sales", "full_refresh": ["daily"]}`)
}

func TestPolicyCapsDatasets(t *testing.T) {
	h := newHarness(t, harnessOpts{policy: rulesPolicy})
	for _, n := range []string{"a", "b", "c"} {
		h.mustCall("declare_table", `{"pipeline": "p", "name": "`+n+`", "kind": "materialized_view", "query": "SELECT 1 AS x"}`)
	}
	res, _ := h.call("declare_table", `{"pipeline": "p", "name": "d", "kind": "materialized_view", "query": "SELECT 1 AS x"}`)
	if res == nil || !res.IsError || !strings.Contains(resultText(res), "already has 3 datasets and flows, the most the policy allows") {
		t.Fatalf("fourth dataset: %s", resultText(res))
	}
	// Replacing a declared dataset is not a new one.
	h.mustCall("declare_table", `{"pipeline": "p", "name": "c", "kind": "materialized_view", "query": "SELECT 2 AS x"}`)
}

func allText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text + "\n")
		}
	}
	return b.String()
}
