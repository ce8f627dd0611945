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
	"github.com/sdp-mcp/sdp-mcp/auth"
)

const principalsPolicy = `version: 1
environments:
  sandbox:
    sources: [spark_catalog.raw.*, spark_catalog.hr.*]
principals:
  alice:
    sources:
      sandbox: [spark_catalog.raw.orders]
    limits:
      preview_rows_max: 10
`

// callAs calls a tool's handler with a principal in the context, as the
// server does.
func callAs(t *testing.T, h *harness, who, tool, args string) (*mcp.CallToolResult, *Outcome) {
	t.Helper()
	all, err := h.handler.All()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(st server.ServerTool) bool { return st.Tool.Name == tool })
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = json.RawMessage(args)
	o := &Outcome{}
	ctx := auth.WithPrincipal(WithOutcome(context.Background(), o), auth.Principal{Name: who, Kind: auth.KindToken})
	res, err := all[i].Handler(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res, o
}

func TestPrincipalNarrowing(t *testing.T) {
	h := newHarness(t, harnessOpts{policy: principalsPolicy})
	salaries := `{"pipeline": "pay", "name": "s", "kind": "materialized_view", "query": "SELECT * FROM spark_catalog.hr.salaries"}`
	// Bob has no entry: the global sources apply.
	if res, _ := callAs(t, h, "bob", "declare_table", salaries); res.IsError {
		t.Fatalf("bob: %s", resultText(res))
	}
	// Alice may read only the orders.
	res, o := callAs(t, h, "alice", "declare_table", strings.Replace(salaries, `"pay"`, `"pay2"`, 1))
	if !res.IsError || o.Decision != audit.Denied || !slices.Contains(o.Rules, rulePrincipalSources) ||
		!strings.Contains(resultText(res), "alice may read only spark_catalog.raw.orders") {
		t.Fatalf("alice reading hr: %s %+v", resultText(res), o)
	}
	orders := `{"pipeline": "sales", "name": "o", "kind": "materialized_view", "query": "SELECT * FROM spark_catalog.raw.orders"}`
	if res, _ := callAs(t, h, "alice", "declare_table", orders); res.IsError {
		t.Fatalf("alice reading orders: %s", resultText(res))
	}
	// Her previews are capped at 10 rows; bob's are not.
	res, o = callAs(t, h, "alice", "preview", `{"pipeline": "sales", "dataset": "o", "limit": 50}`)
	if !res.IsError || !slices.Contains(o.Rules, rulePrincipalLimits) || !strings.Contains(resultText(res), `"limit": 10 or less`) {
		t.Fatalf("alice's wide preview: %s %+v", resultText(res), o)
	}
	if res, _ := callAs(t, h, "alice", "preview", `{"pipeline": "sales", "dataset": "o", "limit": 5}`); res.IsError {
		t.Fatalf("alice's narrow preview: %s", resultText(res))
	}
	if res, _ := callAs(t, h, "bob", "preview", `{"pipeline": "sales", "dataset": "o", "limit": 50}`); res.IsError {
		t.Fatalf("bob's preview: %s", resultText(res))
	}
}
