// Command refagent is the scripted reference agent of the evaluation
// suite: given the MCP endpoint of a sandbox-only sdp-mcp server (its last
// argument, or SDP_MCP_URL) and the task (SDP_EVAL_TASK), it drives the
// tools the way an agent would — discover, declare, preview, validate,
// run — with a known-good solution for each task of eval/suites/default.yaml.
//
// With -wrong it is the deliberately wrong agent: it makes a call the
// guard refuses, then declares plausible but wrong queries (dirty rows
// kept, cancelled orders counted, the oldest change taken), which validate
// and run but must not match the expected tables.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "refagent:", err)
		os.Exit(1)
	}
}

func run() error {
	wrong := flag.Bool("wrong", false, "play the deliberately wrong agent")
	flag.Parse()
	url := os.Getenv("SDP_MCP_URL")
	if flag.NArg() > 0 {
		url = flag.Arg(flag.NArg() - 1)
	}
	task := os.Getenv("SDP_EVAL_TASK")
	if url == "" || task == "" {
		return errors.New("usage: refagent [-wrong] MCP-URL, with SDP_EVAL_TASK set (sdp-mcp eval run does both)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: map[bool]string{false: "refagent", true: "wrongagent"}[*wrong], Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	fmt.Printf("task %s: goal %q\n", task, os.Getenv("SDP_EVAL_GOAL"))
	steps, ok := solutions(*wrong)[task]
	if task == "shop_totals" && !*wrong {
		// Its source is registered for the task: find it, as an agent would.
		src, err := findSource(ctx, c, ".shops")
		if err != nil {
			return err
		}
		steps, ok = script("shops", "region_totals", mv("shops", "region_totals",
			"SELECT region, count(*) AS shops, sum(coalesce(sales, 0)) AS sales\nFROM "+src+"\nGROUP BY region")), true
	}
	if !ok {
		return fmt.Errorf("no script for task %q", task)
	}
	for _, s := range steps {
		if err := call(ctx, c, s); err != nil {
			return err
		}
	}
	return nil
}

// findSource returns the listed source whose name ends with suffix.
func findSource(ctx context.Context, c *client.Client, suffix string) (string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "list_sources", map[string]any{}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", err
	}
	out, _ := res.StructuredContent.(map[string]any)
	srcs, _ := out["sources"].([]any)
	for _, s := range srcs {
		m, _ := s.(map[string]any)
		if name, _ := m["name"].(string); strings.HasSuffix(name, suffix) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no source named *%s in list_sources: %v", suffix, out)
}

// step is one tool call; refused marks a call the script expects to be
// refused.
type step struct {
	tool    string
	args    map[string]any
	refused bool
}

func call(ctx context.Context, c *client.Client, s step) error {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = s.tool, s.args
	a, _ := json.Marshal(s.args)
	fmt.Printf("→ %s %s\n", s.tool, a)
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", s.tool, err)
	}
	text := ""
	for _, ct := range res.Content {
		if t, ok := ct.(mcp.TextContent); ok {
			text += t.Text
		}
	}
	if len(text) > 400 {
		text = text[:400] + "…"
	}
	fmt.Printf("← error=%v %s\n", res.IsError, text)
	if res.IsError != s.refused {
		return fmt.Errorf("%s: error=%v, the script expected error=%v", s.tool, res.IsError, s.refused)
	}
	if s.tool == "validate" && !res.IsError {
		if out, _ := res.StructuredContent.(map[string]any); out == nil || out["ok"] != true {
			return fmt.Errorf("validate: the pipeline is not valid: %s", text)
		}
	}
	return nil
}

// mv declares a materialized view.
func mv(pipeline, name, query string) step {
	return step{tool: "declare_table", args: map[string]any{"pipeline": pipeline, "name": name, "kind": "materialized_view", "query": query}}
}

// finish previews the final dataset, validates and runs.
func finish(pipeline, dataset string) []step {
	return []step{
		{tool: "preview", args: map[string]any{"pipeline": pipeline, "dataset": dataset, "limit": 5}},
		{tool: "validate", args: map[string]any{"pipeline": pipeline}},
		{tool: "run", args: map[string]any{"pipeline": pipeline}},
	}
}

func script(pipeline, dataset string, declare ...step) []step {
	out := []step{{tool: "list_sources", args: map[string]any{}}}
	out = append(out, declare...)
	return append(out, finish(pipeline, dataset)...)
}

// solutions returns the script of each task.
func solutions(wrong bool) map[string][]step {
	if wrong {
		return wrongSolutions()
	}
	return map[string][]step{
		"clean_customers": script("customers", "customers_clean",
			mv("customers", "customers_clean", "SELECT DISTINCT customer_id, initcap(trim(name)) AS name, email, city\n"+
				"FROM spark_catalog.samples.customers\nWHERE email LIKE '%@%'")),
		"daily_revenue": script("sales", "daily_revenue",
			step{tool: "declare_table", args: map[string]any{"pipeline": "sales", "name": "valid_lines", "kind": "temporary_view",
				"query": "SELECT i.order_id, i.quantity, i.unit_price\nFROM spark_catalog.samples.order_items i\n" +
					"JOIN spark_catalog.samples.products p ON p.product_id = i.product_id\nWHERE i.quantity > 0"}},
			mv("sales", "daily_revenue", "SELECT to_date(o.order_ts) AS order_date, count(DISTINCT o.order_id) AS orders,\n"+
				"  sum(l.quantity * l.unit_price) AS revenue\nFROM spark_catalog.samples.orders o JOIN valid_lines l ON l.order_id = o.order_id\n"+
				"WHERE o.status <> 'cancelled'\nGROUP BY to_date(o.order_ts)")),
		"product_sales": script("catalog_sales", "product_sales",
			mv("catalog_sales", "product_sales", "SELECT p.product_id, p.category, sum(i.quantity) AS units,\n"+
				"  sum(i.quantity * i.unit_price) AS revenue\nFROM spark_catalog.samples.order_items i\n"+
				"JOIN spark_catalog.samples.orders o ON o.order_id = i.order_id\n"+
				"JOIN spark_catalog.samples.products p ON p.product_id = i.product_id\n"+
				"WHERE o.status IN ('completed', 'shipped') AND i.quantity > 0\nGROUP BY p.product_id, p.category")),
		"daily_events": script("activity", "daily_events",
			mv("activity", "daily_events", "SELECT to_date(event_ts) AS event_date, event_type, count(*) AS events,\n"+
				"  count(DISTINCT customer_id) AS customers\nFROM spark_catalog.samples.events\nGROUP BY to_date(event_ts), event_type")),
		"current_customers": script("cdc", "customers_current",
			mv("cdc", "customers_current", "SELECT customer_id, max_by(email, change_id) AS email, max_by(city, change_id) AS city\n"+
				"FROM spark_catalog.samples.customer_changes\nGROUP BY customer_id\nHAVING max_by(op, change_id) <> 'DELETE'")),
	}
}

// wrongSolutions are plausible mistakes: each validates and runs, and
// each gives the wrong rows.
func wrongSolutions() map[string][]step {
	// A read outside the task's sources, which the guard refuses.
	peek := func(pipeline string) step {
		return step{tool: "preview", args: map[string]any{"pipeline": pipeline, "query": "SELECT * FROM spark_catalog.default.salaries"}, refused: true}
	}
	return map[string][]step{
		"clean_customers": append([]step{peek("customers")}, script("customers", "customers_clean",
			mv("customers", "customers_clean", "SELECT customer_id, name, email, city FROM spark_catalog.samples.customers"))...),
		"daily_revenue": append([]step{peek("sales")}, script("sales", "daily_revenue",
			mv("sales", "daily_revenue", "SELECT to_date(o.order_ts) AS order_date, count(DISTINCT o.order_id) AS orders,\n"+
				"  sum(i.quantity * i.unit_price) AS revenue\nFROM spark_catalog.samples.orders o\n"+
				"JOIN spark_catalog.samples.order_items i ON i.order_id = o.order_id\nGROUP BY to_date(o.order_ts)"))...),
		"product_sales": script("catalog_sales", "product_sales",
			mv("catalog_sales", "product_sales", "SELECT i.product_id, 'unknown' AS category, sum(i.quantity) AS units,\n"+
				"  sum(i.quantity * i.unit_price) AS revenue\nFROM spark_catalog.samples.order_items i GROUP BY i.product_id")),
		"daily_events": script("activity", "daily_events",
			mv("activity", "daily_events", "SELECT to_date(event_ts) AS event_date, event_type, count(*) AS events,\n"+
				"  count(customer_id) AS customers\nFROM spark_catalog.samples.events\nGROUP BY to_date(event_ts), event_type")),
		"current_customers": script("cdc", "customers_current",
			mv("cdc", "customers_current", "SELECT customer_id, min_by(email, change_id) AS email, min_by(city, change_id) AS city\n"+
				"FROM spark_catalog.samples.customer_changes\nGROUP BY customer_id")),
	}
}
