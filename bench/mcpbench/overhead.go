package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/bench/internal/mcpharness"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/server"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// overheadCase is one kind of call measured.
type overheadCase struct {
	name   string
	tool   string
	args   func(i int) map[string]any
	reject bool // the call is expected to be refused (isError)
}

const (
	benchPipeline = "bench"
	srcSchema     = "spark_catalog.raw"
)

func overheadCases() []overheadCase {
	return []overheadCase{
		{name: "list_sources", tool: "list_sources",
			args: func(int) map[string]any { return map[string]any{} }},
		{name: "preview (ad-hoc query)", tool: "preview",
			args: func(int) map[string]any {
				return map[string]any{"pipeline": benchPipeline, "limit": 20,
					"query": "SELECT customer_id, sum(amount) AS total FROM orders_clean GROUP BY customer_id"}
			}},
		{name: "preview (dataset)", tool: "preview",
			args: func(int) map[string]any {
				return map[string]any{"pipeline": benchPipeline, "dataset": "customer_totals", "limit": 20}
			}},
		{name: "declare_table (draft written to disk)", tool: "declare_table",
			args: func(i int) map[string]any {
				return map[string]any{"pipeline": benchPipeline, "name": "big_orders", "kind": "materialized_view",
					"query": fmt.Sprintf("SELECT * FROM orders_clean WHERE amount > %d", i%1000)}
			}},
		{name: "rejected call (schema errors)", tool: "declare_table", reject: true,
			args: func(int) map[string]any {
				return map[string]any{"pipeline": "Bench", "name": "x", "kind": "view"}
			}},
	}
}

// overhead measures the server's own cost per tool call, Spark excluded.
func overhead(ctx context.Context, report *bytes.Buffer, calls int) error {
	ws, err := os.MkdirTemp("", "mcpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ws)

	type row struct {
		name, auditKind string
		st              stats
		rate            float64
	}
	var rows []row
	for _, auditKind := range []string{"file", "memory"} {
		dir := filepath.Join(ws, auditKind)
		c, closeFn, err := overheadServer(ctx, dir, auditKind)
		if err != nil {
			return err
		}
		for _, oc := range overheadCases() {
			// Warm up, then measure.
			for i := 0; i < 500; i++ {
				if err := callOnce(ctx, c, oc, i); err != nil {
					closeFn()
					return err
				}
			}
			lat := make([]time.Duration, 0, calls)
			begin := time.Now()
			for i := 0; i < calls; i++ {
				t0 := time.Now()
				if err := callOnce(ctx, c, oc, i); err != nil {
					closeFn()
					return err
				}
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(begin)
			rows = append(rows, row{oc.name, auditKind, summarize(lat), float64(calls) / elapsed.Seconds()})
			fmt.Fprintf(os.Stderr, "overhead: %s, audit %s: p50 %s ms\n", oc.name, auditKind, ms(rows[len(rows)-1].st.p50))
		}
		closeFn()
	}

	fmt.Fprintf(report, "\n## Tool-call overhead of the server (Spark excluded)\n\n")
	fmt.Fprintf(report, "One in-process MCP client (mcp-go, JSON-RPC as on the wire, no transport) calls one tool %d times\n"+
		"in a row after 500 warm-up calls, against a fake engine that answers at once. Measured: argument\n"+
		"schema check, SQL guard (guardrails.CheckBody on every body), draft load/save and hash, output\n"+
		"schema check, and the audit log — \"file\" is the real JSONL log (two records per call, each\n"+
		"synced to disk), \"memory\" replaces it to show what the sync costs. Target: p50 < 1 ms.\n\n", calls)
	fmt.Fprintln(report, "| call | audit log | calls | p50 (ms) | p99 (ms) | mean (ms) | calls/s | p50 < 1 ms |")
	fmt.Fprintln(report, "|---|---|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		ok := "yes"
		if r.st.p50 >= time.Millisecond {
			ok = "**no**"
		}
		fmt.Fprintf(report, "| %s | %s | %d | %s | %s | %s | %.0f | %s |\n", r.name, r.auditKind, r.st.n,
			ms(r.st.p50), ms(r.st.p99), ms(r.st.mean()), r.rate, ok)
	}
	return nil
}

func callOnce(ctx context.Context, h *mcpharness.Harness, oc overheadCase, i int) error {
	res, err := h.Call(ctx, oc.tool, oc.args(i))
	if err != nil {
		return fmt.Errorf("%s: %w", oc.name, err)
	}
	if res.IsError != oc.reject {
		b, _ := json.Marshal(res)
		return fmt.Errorf("%s: isError=%v, want %v: %s", oc.name, res.IsError, oc.reject, b)
	}
	return nil
}

// overheadServer assembles the real server with a fake engine and an
// in-process client (package mcpharness), and declares the pipeline the
// cases use.
func overheadServer(ctx context.Context, dir, auditKind string) (*mcpharness.Harness, func(), error) {
	st, err := mcpharness.Settings(dir, []string{srcSchema + ".*"}, nil)
	if err != nil {
		return nil, nil, err
	}
	var al server.AuditLog = &memAudit{}
	closeAudit := func() {}
	if auditKind == "file" {
		l, err := audit.Open(st.Audit.Path)
		if err != nil {
			return nil, nil, err
		}
		al, closeAudit = l, func() { l.Close() }
	}
	h, err := mcpharness.Start(ctx, mcpharness.Options{
		Settings: st,
		Engines: func(context.Context, config.Environment) (tools.Engine, error) {
			return fakeEngine{}, nil
		},
		Audit:   al,
		Version: "bench",
		Client:  "mcpbench",
	})
	if err != nil {
		closeAudit()
		return nil, nil, err
	}
	closeAll := func() {
		h.Close()
		closeAudit()
	}
	for _, args := range []map[string]any{
		{"pipeline": benchPipeline, "name": "orders_clean", "kind": "materialized_view",
			"query":        "SELECT order_id, customer_id, amount FROM " + srcSchema + ".orders WHERE amount IS NOT NULL",
			"expectations": []map[string]any{{"name": "positive_amount", "condition": "amount > 0", "on_violation": "drop"}}},
		{"pipeline": benchPipeline, "name": "customer_totals", "kind": "materialized_view",
			"query": "SELECT c.name, o.customer_id, sum(o.amount) AS total FROM orders_clean o " +
				"JOIN " + srcSchema + ".customers c ON o.customer_id = c.customer_id GROUP BY c.name, o.customer_id"},
	} {
		if err := callOnce(ctx, h, overheadCase{name: "setup", tool: "declare_table",
			args: func(int) map[string]any { return args }}, 0); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	return h, closeAll, nil
}

// fakeEngine answers every call at once with a small fixed result.
type fakeEngine struct{}

var fakeColumns = []connect.Column{{Name: "customer_id", Type: "bigint"}, {Name: "total", Type: "decimal(20,2)", Nullable: true}}

func (fakeEngine) ListSources(context.Context, string) ([]engine.Source, error) {
	return []engine.Source{
		{Name: srcSchema + ".customers", Columns: []connect.Column{{Name: "customer_id", Type: "bigint"}, {Name: "name", Type: "string", Nullable: true}}},
		{Name: srcSchema + ".orders", Columns: []connect.Column{{Name: "order_id", Type: "bigint"}, {Name: "customer_id", Type: "bigint"}, {Name: "amount", Type: "decimal(10,2)", Nullable: true}}},
	}, nil
}

func (fakeEngine) DescribeSource(_ context.Context, name string) (*engine.Source, error) {
	return &engine.Source{Name: name, Columns: fakeColumns}, nil
}

func (fakeEngine) Preview(context.Context, *pipeline.Pipeline, engine.PreviewRequest) (*engine.PreviewResult, error) {
	rows := make([][]any, 20)
	for i := range rows {
		rows[i] = []any{int64(i), fmt.Sprintf("%d.50", i*10)}
	}
	return &engine.PreviewResult{Columns: fakeColumns, Rows: rows, Elapsed: time.Microsecond}, nil
}

func (fakeEngine) Validate(_ context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	sum, err := p.Hash()
	return &engine.ValidationResult{OK: true, PipelineHash: sum}, err
}

func (e fakeEngine) ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	return e.Validate(ctx, p)
}

func (fakeEngine) Run(_ context.Context, p *pipeline.Pipeline, _ engine.RunOptions, _ func(engine.Progress)) (*engine.RunResult, error) {
	sum, err := p.Hash()
	return &engine.RunResult{OK: true, PipelineHash: sum}, err
}

// memAudit keeps records in memory, encoded as the file log would.
type memAudit struct {
	mu sync.Mutex
	n  int
}

func (m *memAudit) Write(r audit.Record) error {
	b, err := audit.Marshal(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.n += len(b)
	m.mu.Unlock()
	_, _ = io.Discard.Write(b)
	return nil
}
