package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/bench/internal/mcpharness"
	"github.com/sdp-mcp/sdp-mcp/bench/internal/quantile"
	"github.com/sdp-mcp/sdp-mcp/config"
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
		b.Log.Info("measured declare_table", "datasets", n, "p50 ms", r.p50, "p99 ms", r.p99)
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) declareAt(ctx context.Context, n int) (declareResult, error) {
	ws, err := os.MkdirTemp(b.Scratch.Dir, "declare-")
	if err != nil {
		return declareResult{}, err
	}
	st, err := mcpharness.Settings(ws, []string{"spark_catalog." + b.src + ".*"}, func(st *config.Config) {
		st.Limits.MaxDatasetsPerPipeline = max(st.Limits.MaxDatasetsPerPipeline, 1000)
	})
	if err != nil {
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
	h, err := mcpharness.Start(ctx, mcpharness.Options{
		Settings: st,
		Engines: func(context.Context, config.Environment) (tools.Engine, error) {
			return nil, errors.New("declare_table needs no engine")
		},
		Audit:   al,
		Version: "scalebench",
		Client:  "scalebench",
	})
	if err != nil {
		return declareResult{}, err
	}
	defer h.Close()
	d, _ := p.Dataset(s.change)
	call := func(i int) error {
		q := d.Query
		if i%2 == 1 {
			q = "SELECT * FROM (\n" + d.Query + "\n) AS x WHERE true"
		}
		res, err := h.Call(ctx, "declare_table", map[string]any{"pipeline": p.Name, "name": d.Name, "kind": "materialized_view", "query": q})
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
	return declareResult{n: n, calls: len(lat), p50: quantile.Median(lat), p99: lat[int(0.99*float64(len(lat)-1))]}, nil
}
