// Package mcpharness owns the in-process MCP set-up the benchmarks measure
// tool calls through: the real server (package server, assembled as
// `serve` assembles it) on settings of the benchmark's own, the SQL guard
// as `serve` wires it, a rate-limit clock that never refuses, and one
// in-process mcp-go client (JSON-RPC as on the wire, no transport),
// initialized.
package mcpharness

import (
	"context"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/server"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// Settings returns the default configuration with its workspace at
// workspace and the sandbox environment reading sources, validated. One
// session makes thousands of calls in a benchmark: the per-session rate
// limit is measured (it runs on every call) but set to its maximum, and
// the harness's clock keeps it from refusing. tune, when not nil, adjusts
// the configuration before it is validated.
func Settings(workspace string, sources []string, tune func(*config.Config)) (*config.Config, error) {
	st := config.Default()
	st.Workspace = workspace
	st.Environments.Sandbox.Sources = sources
	st.Limits.CallsPerMinute = config.MaxCallsPerMinute
	if tune != nil {
		tune(st)
	}
	if err := st.Validate(func(string) (string, bool) { return "", false }); err != nil {
		return nil, err
	}
	return st, nil
}

// Options configure [Start].
type Options struct {
	// Settings is the validated configuration (see [Settings]).
	Settings *config.Config
	// Engines connects the tools to an environment's engine.
	Engines tools.EngineFactory
	// Audit is the audit log; the caller closes it after the harness.
	Audit server.AuditLog
	// Version is the server version reported to the client.
	Version string
	// Client is the client's name in its initialize request.
	Client string
}

// Harness is a running in-process server with its client.
type Harness struct {
	srv *server.Server
	c   *client.Client
}

// Start assembles the server, connects the client and initializes it.
func Start(ctx context.Context, opts Options) (*Harness, error) {
	srv, err := server.New(server.Config{
		Settings: opts.Settings,
		Engines:  opts.Engines,
		Guard:    guard{env: opts.Settings.Environments.Sandbox},
		Version:  opts.Version,
		Now:      fastClock(),
		Audit:    opts.Audit,
	})
	if err != nil {
		return nil, err
	}
	c, err := client.NewInProcessClient(srv.MCP())
	if err != nil {
		srv.Close()
		return nil, err
	}
	h := &Harness{srv: srv, c: c}
	if err := c.Start(ctx); err != nil {
		h.Close()
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: opts.Client, Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Call calls one tool. An isError result is returned, not an error: the
// caller knows whether it expected one.
func (h *Harness) Call(ctx context.Context, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	return h.c.CallTool(ctx, req)
}

// Close closes the client, then the server.
func (h *Harness) Close() {
	h.c.Close()
	h.srv.Close()
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
