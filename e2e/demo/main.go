// Command demo is a scripted agent session against sdp-mcp (`make demo`):
// it starts `bin/sdp-mcp serve` over stdio with mcp-go's client, the way an
// MCP client such as Claude does, and walks the workflow an agent follows —
// discover sources, declare datasets, preview, validate, run — printing
// each call and its (abbreviated) result.
//
// It uses its own workspace (default: the user cache's sdp-mcp/demo-workspace),
// starts the local sandbox Spark there if it is not running, creates two
// small source tables, and stops the sandbox at the end unless -keep is
// given or it was already running.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		bin       = flag.String("bin", filepath.Join("bin", "sdp-mcp"), "the sdp-mcp binary")
		workspace = flag.String("workspace", "", "workspace for the demo (default: <user cache>/sdp-mcp/demo-workspace)")
		keep      = flag.Bool("keep", false, "leave the sandbox running at the end")
		serverLog = flag.Bool("server-log", false, "show the server's log (stderr) as it runs")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *workspace == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		*workspace = filepath.Join(cache, "sdp-mcp", "demo-workspace")
	}
	binPath, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binPath); err != nil {
		return fmt.Errorf("%s: %w (run make build first)", *bin, err)
	}

	// The sandbox, with two small source tables the agent can discover.
	section("Setting up: the local sandbox Spark and two source tables")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	begin := time.Now()
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: *workspace, Logger: log})
	if err != nil {
		return err
	}
	fmt.Printf("sandbox %s at %s (%s)\n", map[bool]string{true: "reused", false: "started"}[inst.Reused],
		inst.RedactedURL(), time.Since(begin).Round(100*time.Millisecond))
	if !inst.Reused && !*keep {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := sandbox.Stop(sctx, *workspace); err != nil {
				fmt.Fprintln(os.Stderr, "demo: stopping the sandbox:", err)
				return
			}
			fmt.Println("\nsandbox stopped (use -keep to leave it running)")
		}()
	}
	if err := createSources(ctx, inst.URL()); err != nil {
		return err
	}
	fmt.Println("created " + rawSchema + ".orders (6 rows) and " + rawSchema + ".customers (3 rows)")
	// The server's configuration: pipelines write to spark_catalog.demo and
	// may read the source schema only.
	config := filepath.Join(*workspace, "demo-config.yaml")
	if err := os.WriteFile(config, []byte(demoConfig), 0o600); err != nil {
		return err
	}
	fmt.Printf("server config %s:\n%s", config, indent(strings.TrimSpace(demoConfig), "   ")+"\n")

	// The MCP server, over stdio, as a client such as Claude starts it.
	section("Connecting: " + *bin + " serve (stdio)")
	var stderr io.Writer = io.Discard
	if *serverLog {
		stderr = prefixWriter{w: os.Stderr, prefix: "  [server] "}
	}
	c, err := client.NewStdioMCPClientWithOptions(binPath, nil,
		[]string{"--workspace", *workspace, "--log-level", "warn", "serve", "--config", config},
		transport.WithCommandStderrWriter(stderr))
	if err != nil {
		return err
	}
	defer c.Close()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "sdp-mcp-demo", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	fmt.Printf("server %s %s, protocol %s\n", res.ServerInfo.Name, res.ServerInfo.Version, res.ProtocolVersion)
	tl, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	var names []string
	for _, t := range tl.Tools {
		names = append(names, t.Name)
	}
	fmt.Printf("tools/list → %d tools: %s\n", len(names), strings.Join(names, ", "))

	a := agent{ctx: ctx, c: c}
	section("1. Discover")
	a.call("list_sources", map[string]any{})
	a.call("describe_source", map[string]any{"name": rawSchema + ".orders"})

	section("2. Declare")
	a.call("declare_table", map[string]any{"pipeline": "demo_sales", "name": "orders_clean", "kind": "materialized_view",
		"query":        "SELECT order_id, customer, amount FROM " + rawSchema + ".orders",
		"expectations": []map[string]any{{"name": "positive_amount", "condition": "amount > 0", "on_violation": "drop"}}})
	a.call("declare_table", map[string]any{"pipeline": "demo_sales", "name": "customer_totals", "kind": "materialized_view",
		"query": "SELECT c.country, o.customer, sum(o.amount) AS total FROM orders_clean o " +
			"JOIN " + rawSchema + ".customers c ON o.customer = c.customer GROUP BY c.country, o.customer",
		"comment": "Spend per customer"})
	fmt.Println("\nAn agent mistake: a statement instead of a SELECT body is refused, with the fix.")
	a.call("preview", map[string]any{"pipeline": "demo_sales", "query": "SELECT * FROM orders_clean; DROP TABLE orders_clean"})

	section("3. Preview")
	a.call("preview", map[string]any{"pipeline": "demo_sales", "dataset": "customer_totals", "limit": 10})

	section("4. Validate")
	v := a.call("validate", map[string]any{"pipeline": "demo_sales"})

	section("5. Run in the sandbox")
	a.call("run", map[string]any{"pipeline": "demo_sales"})

	section("Done")
	if h, ok := v["pipeline_hash"].(string); ok {
		fmt.Printf("validated hash %s… — with a production environment configured, the agent would now call\n"+
			"promote {\"pipeline\": \"demo_sales\", \"pipeline_hash\": \"%s\"}\n", h[:12], h)
	}
	fmt.Printf("every call is in the audit log: %s --workspace %s audit tail\n", *bin, *workspace)
	fmt.Printf("the tables: spark_catalog.demo.orders_clean and spark_catalog.demo.customer_totals in the sandbox\n")
	if a.failures > 0 {
		return fmt.Errorf("%d calls failed unexpectedly", a.failures)
	}
	return nil
}

// rawSchema holds the demo's source tables.
const rawSchema = "spark_catalog.demo_raw"

// demoConfig is the server's configuration: the local sandbox, pipelines
// in their own schema, the sources in another.
const demoConfig = `environments:
  sandbox:                     # no url: the local sandbox of the workspace
    schema: demo               # where pipelines create their datasets
    sources: [spark_catalog.demo_raw]
`

// createSources (re)creates the demo's source tables.
func createSources(ctx context.Context, url string) error {
	c, err := connect.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range []string{
		"CREATE SCHEMA IF NOT EXISTS spark_catalog.demo",
		"DROP SCHEMA IF EXISTS " + rawSchema + " CASCADE",
		"CREATE SCHEMA " + rawSchema,
		"CREATE TABLE " + rawSchema + ".orders USING parquet AS SELECT * FROM VALUES " +
			"(1, 'alice', 30), (2, 'alice', 12), (3, 'bob', 7), (4, 'bob', -2), (5, 'carol', 25), (6, 'carol', 4) " +
			"AS t(order_id, customer, amount)",
		"CREATE TABLE " + rawSchema + ".customers USING parquet AS SELECT * FROM VALUES " +
			"('alice', 'fr'), ('bob', 'de'), ('carol', 'fr') AS t(customer, country)",
	} {
		if _, err := c.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// agent makes tool calls and prints them.
type agent struct {
	ctx      context.Context
	c        *client.Client
	failures int
}

// expectedErrors are the calls the script makes on purpose to show a
// refusal.
func expectedError(tool string, args map[string]any) bool {
	q, _ := args["query"].(string)
	return tool == "preview" && strings.Contains(q, "DROP")
}

// call calls a tool, prints the call and its abbreviated result, and
// returns the structured result (nil for an error).
func (a *agent) call(tool string, args map[string]any) map[string]any {
	fmt.Printf("\n→ %s %s\n", tool, abbreviate(args, 4, 100))
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	start := time.Now()
	res, err := a.c.CallTool(a.ctx, req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		a.failures++
		fmt.Printf("← protocol error after %s: %v\n", took, err)
		return nil
	}
	if res.IsError {
		if !expectedError(tool, args) {
			a.failures++
		}
		fmt.Printf("← refused in %s (isError):\n%s\n", took, indent(textOf(res), "   "))
		return nil
	}
	var out map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &out)
	fmt.Printf("← ok in %s:\n%s\n", took, indent(abbreviate(out, 4, 100), "   "))
	return out
}

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// abbreviate renders v as JSON with arrays cut to maxItems and strings cut
// to maxLen; a value whose one-line form is short stays on one line.
func abbreviate(v any, maxItems, maxLen int) string {
	var b strings.Builder
	render(&b, shorten(v, maxItems, maxLen), "")
	return b.String()
}

// render writes v compactly when it fits in 90 characters, else one member
// per line.
func render(b *strings.Builder, v any, indent string) {
	if c := compact(v); len(c)+len(indent) <= 90 {
		b.WriteString(c)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(indent + "  " + compact(k) + ": ")
			render(b, x[k], indent+"  ")
			if i < len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "}")
	case []any:
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			render(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(indent + "]")
	default:
		b.WriteString(compact(v))
	}
}

func compact(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimRight(buf.String(), "\n")
}

func shorten(v any, maxItems, maxLen int) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = shorten(x[k], maxItems, maxLen)
		}
		return out
	case []map[string]any:
		items := make([]any, len(x))
		for i := range x {
			items[i] = x[i]
		}
		return shorten(items, maxItems, maxLen)
	case []any:
		n := min(len(x), maxItems)
		out := make([]any, 0, n+1)
		for _, e := range x[:n] {
			out = append(out, shorten(e, maxItems, maxLen))
		}
		if len(x) > n {
			out = append(out, fmt.Sprintf("… %d more", len(x)-n))
		}
		return out
	case string:
		if len(x) > maxLen {
			return x[:maxLen] + "…"
		}
		return x
	default:
		return v
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func section(title string) {
	fmt.Printf("\n== %s ==\n", title)
}

// prefixWriter prefixes every line written to w.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, errors.Join(err)
		}
	}
	return len(b), nil
}
