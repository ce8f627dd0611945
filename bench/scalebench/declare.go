package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/server"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// declareResult is the latency of declare_table on a draft of n datasets.
type declareResult struct {
	n, calls int
	p50, p99 float64 // milliseconds
}

// declare measures declare_table through the MCP server (package server as
// `serve` assembles it, the real file audit log) on drafts of 10, 100 and
// 500 datasets: each call re-declares one dataset of the draft.
func (b *bench) declare(ctx context.Context) ([]declareResult, error) {
	var out []declareResult
	for _, n := range []int{10, 100, 500} {
		r, err := b.declareAt(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("declare_table at %d datasets: %w", n, err)
		}
		b.log.Info("measured declare_table", "datasets", n, "p50 ms", r.p50, "p99 ms", r.p99)
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) declareAt(ctx context.Context, n int) (declareResult, error) {
	ws, err := os.MkdirTemp(b.work, "declare-")
	if err != nil {
		return declareResult{}, err
	}
	st := config.Default()
	st.Workspace = ws
	st.Environments.Sandbox.Sources = []string{"spark_catalog." + b.src + ".*"}
	st.Limits.CallsPerMinute = config.MaxCallsPerMinute
	st.Limits.MaxDatasetsPerPipeline = max(st.Limits.MaxDatasetsPerPipeline, 1000)
	if err := st.Validate(func(string) (string, bool) { return "", false }); err != nil {
		return declareResult{}, err
	}
	// The draft: wide-n, bound to the sandbox as the tools bind drafts.
	s, err := wide("spark_catalog."+b.src, n)
	if err != nil {
		return declareResult{}, err
	}
	p := s.p.Clone()
	p.Name = "declared"
	sb := st.Environments.Sandbox
	p.Catalog, p.Database, p.Storage = sb.Catalog, sb.Schema, sb.Storage
	if err := p.Save(filepath.Join(st.PipelinesDir(), p.Name)); err != nil {
		return declareResult{}, err
	}
	// The real audit log, as `serve` opens it: two records per call,
	// each synced to disk.
	al, err := audit.OpenOptions(st.Audit.Path, audit.Options{MaxBytes: st.Audit.MaxBytes})
	if err != nil {
		return declareResult{}, err
	}
	defer al.Close()
	srv, err := server.New(server.Config{
		Settings: st,
		Engines: func(context.Context, config.Environment) (tools.Engine, error) {
			return nil, errors.New("declare_table needs no engine")
		},
		Guard:   guard{env: sb},
		Version: "scalebench",
		Now:     fastClock(),
		Audit:   al,
	})
	if err != nil {
		return declareResult{}, err
	}
	defer srv.Close()
	c, err := client.NewInProcessClient(srv.MCP())
	if err != nil {
		return declareResult{}, err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return declareResult{}, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "scalebench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return declareResult{}, err
	}
	d, _ := p.Dataset(s.change)
	call := func(i int) error {
		q := d.Query
		if i%2 == 1 {
			q = "SELECT * FROM (\n" + d.Query + "\n) AS x WHERE true"
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = "declare_table"
		req.Params.Arguments = map[string]any{"pipeline": p.Name, "name": d.Name, "kind": "materialized_view", "query": q}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return err
		}
		if res.IsError {
			data, _ := json.Marshal(res)
			return fmt.Errorf("isError: %s", data)
		}
		return nil
	}
	for i := 0; i < 20; i++ { // warm-up
		if err := call(i); err != nil {
			return declareResult{}, err
		}
	}
	lat := make([]float64, 0, b.cfg.declareCalls)
	for i := 0; i < b.cfg.declareCalls; i++ {
		t0 := time.Now()
		if err := call(i); err != nil {
			return declareResult{}, err
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
	}
	slices.Sort(lat)
	return declareResult{n: n, calls: len(lat), p50: median(lat), p99: lat[int(0.99*float64(len(lat)-1))]}, nil
}

// guard is the SQL guard as the server applies it to a body (package
// guardrails), with the sandbox's sources and the draft's datasets.
type guard struct{ env config.Environment }

func (g guard) CheckBody(p *pipeline.Pipeline, body, kind string) (pipeline.Problems, tools.BodyFacts) {
	opts := guardrails.CheckOptions{DefaultCatalog: g.env.Catalog, DefaultSchema: g.env.Schema,
		AllowStream: kind == tools.BodyStreamingQuery, AllowedSources: g.env.Sources}
	if p != nil {
		for _, d := range p.Datasets {
			opts.Datasets = append(opts.Datasets, d.Name)
		}
	}
	if kind == tools.BodyCondition {
		body = "SELECT\n" + body
	}
	rep := guardrails.Check(body, opts)
	var facts tools.BodyFacts
	for _, s := range rep.Sources {
		facts.Reads = append(facts.Reads, strings.ToLower(strings.Join(s.Parts, ".")))
	}
	facts.Functions = rep.Functions
	var ps pipeline.Problems
	for _, f := range rep.Findings {
		ps = append(ps, pipeline.Problem{Got: f.Got, Message: f.Rule + ": " + f.Message, Fix: f.Hint})
	}
	return ps, facts
}

// fastClock is the rate limit's clock: each reading is a minute after the
// last, so the bucket is always full again.
func fastClock() func() time.Time {
	var mu sync.Mutex
	t := time.Now()
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Minute)
		return t
	}
}
