// Package server runs the sdp-mcp MCP server: it assembles the tools for the
// configured mode, audits every tool call, and serves them over stdio or
// streamable HTTP until its context ends.
//
// Modes are enforced in the MCP server itself, so every transport gets the
// same rules: tools a mode forbids are not registered, are filtered out of
// tools/list and tools/call, and a call to one is refused and audited as
// denied before anything else happens.
package server

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/policy"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

//go:embed instructions.md
var instructions string

// AuditLog records tool calls. *audit.Log implements it.
type AuditLog interface {
	Write(audit.Record) error
}

// Config is everything Run needs.
type Config struct {
	// Settings is the validated configuration.
	Settings *config.Config
	// Engines connects to an environment's engine; it is called lazily, so
	// production is dialled only when promote runs.
	Engines tools.EngineFactory
	// Guard checks every SQL body the agent writes.
	Guard tools.BodyChecker
	// Policy is the guardrail policy (tool switches, rules, protected
	// datasets; its limits and sources are already in Settings). Nil means
	// the built-in default.
	Policy *policy.Policy
	// Version is reported to clients.
	Version string
	// Log is the server log (stderr); nil discards.
	Log *slog.Logger
	// Audit replaces the log file at Settings.Audit.Path (tests).
	Audit AuditLog
	// Stdin and Stdout carry the stdio transport; nil means the process's.
	Stdin  io.Reader
	Stdout io.Writer
	// Listener replaces listening on Settings.HTTP.Listen (tests).
	Listener net.Listener
	// Ready, when set, is called with the address once the server accepts
	// requests ("stdio" for stdio).
	Ready func(addr string)
	// Now is the clock of the rate limit; nil means time.Now (tests).
	Now func() time.Time
}

// Server is an assembled MCP server.
type Server struct {
	mcp       *mcpserver.MCPServer
	handler   *tools.Handler
	settings  *config.Config
	policy    *policy.Policy
	audit     AuditLog
	log       *slog.Logger
	transport string
	// denied maps the tools the mode removes to the rule that removes them.
	denied map[string]string
	names  []string // the registered tools, in order
	// rate limits the calls of each principal's conversation
	// (limits.calls_per_minute).
	rate *rateLimiter
	// self is the principal of calls that carry none: the OS user on
	// stdio, "local" on an unauthenticated loopback HTTP server.
	self auth.Principal
	// approvals holds the promotion approvals (nil when none are needed).
	approvals *approval.Store
}

// Mode rule ids, as recorded in the audit log.
const (
	ruleSandboxOnly = "mode.sandbox_only"
	ruleReadOnly    = "mode.read_only"
	ruleToolOff     = "policy.tools"
)

// New assembles the server. The caller owns cfg.Audit.
func New(cfg Config) (*Server, error) {
	st := cfg.Settings
	if st == nil || cfg.Engines == nil || cfg.Guard == nil || cfg.Audit == nil {
		return nil, errors.New("server: Settings, Engines, Guard and Audit are required")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pol := cfg.Policy
	if pol == nil {
		pol = policy.Default()
	}
	var approvals *approval.Store
	if st.ApprovalRequired() && st.PromoteAvailable() {
		var err error
		approvals, err = approval.Open(st.ApprovalsDir(), approval.Options{TTL: st.ApprovalTTL(),
			Recorder: approval.AuditRecorder{Log: cfg.Audit, Transport: st.Transport,
				ProtocolVersion: mcpserver.RequestProtocolVersion}})
		if err != nil {
			return nil, err
		}
	}
	h, err := tools.New(tools.Deps{Config: st, Engines: cfg.Engines, Guard: cfg.Guard, Policy: pol, Log: log,
		Approvals: approvals})
	if err != nil {
		return nil, err
	}
	all, err := h.All()
	if err != nil {
		return nil, err
	}
	perMinute := st.Limits.CallsPerMinute
	if perMinute < 1 {
		perMinute = config.DefaultCallsPerMinute
	}
	s := &Server{handler: h, settings: st, policy: pol, audit: cfg.Audit, log: log, transport: st.Transport,
		denied: map[string]string{}, rate: newRateLimiter(perMinute, cfg.Now), approvals: approvals}
	s.self = auth.OSUser()
	if st.Transport == config.TransportHTTP {
		s.self = auth.Local()
	}

	var keep []mcpserver.ServerTool
	for _, t := range all {
		if rule := s.modeRule(t.Tool); rule != "" {
			s.denied[t.Tool.Name] = rule
			continue
		}
		keep = append(keep, t)
		s.names = append(s.names, t.Tool.Name)
	}

	hooks := &mcpserver.Hooks{}
	hooks.AddOnRequestInitialization(s.gate)
	hooks.AddOnError(s.onError)
	version := cfg.Version
	if version == "" {
		version = "devel"
	}
	s.mcp = mcpserver.NewMCPServer("sdp-mcp", version,
		mcpserver.WithTitle("Spark Declarative Pipelines"),
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithInstructions(instructions),
		mcpserver.WithHooks(hooks),
		mcpserver.WithToolFilter(s.filter),
		// The only middleware: it enforces the per-session rate limit,
		// audits, recovers panics and sanitizes infrastructure errors.
		// Argument validation happens inside each tool (package tools), so
		// rejected calls pass through here too.
		mcpserver.WithToolHandlerMiddleware(s.middleware),
		mcpserver.WithLogger(log),
		// promote asks the person through the client when it can.
		mcpserver.WithElicitation(),
	)
	s.mcp.AddTools(keep...)
	return s, nil
}

// modeRule returns the rule that removes t in the configured mode, or "".
func (s *Server) modeRule(t mcp.Tool) string {
	m := s.settings.Mode
	readOnly := t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
	switch {
	case m.ReadOnly && !readOnly:
		return ruleReadOnly
	case m.SandboxOnly && (t.Name == tools.Promote || t.Name == tools.PlanPromotion):
		return ruleSandboxOnly
	case m.ReadOnly && t.Name == tools.PlanPromotion: // read-only mode never contacts production
		return ruleReadOnly
	case !s.policy.ToolEnabled(t.Name):
		return ruleToolOff
	}
	return ""
}

// filter removes denied tools from tools/list and tools/call (mcp-go
// applies it to both): defence in depth, as they are not registered. It
// also restores the registration order (the workflow order, which reads
// better to a model than mcp-go's alphabetical one).
func (s *Server) filter(ctx context.Context, ts []mcp.Tool) []mcp.Tool {
	out := ts[:0:0]
	who := s.principal(ctx)
	for _, t := range ts {
		if _, denied := s.denied[t.Name]; !denied && s.modeRule(t) == "" && s.principalRule(who, t.Name) == "" {
			out = append(out, t)
		}
	}
	rank := func(name string) int {
		if i := slices.Index(s.names, name); i >= 0 {
			return i
		}
		return len(s.names)
	}
	slices.SortStableFunc(out, func(a, b mcp.Tool) int { return rank(a.Name) - rank(b.Name) })
	return out
}

// MCP returns the underlying MCP server (for in-process clients in tests).
func (s *Server) MCP() *mcpserver.MCPServer { return s.mcp }

// ToolNames lists the registered tools, in order.
func (s *Server) ToolNames() []string { return append([]string(nil), s.names...) }

// Close releases the engines.
func (s *Server) Close() error { return s.handler.Close() }

// Run assembles the server and serves it on the configured transport until
// ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Settings == nil {
		return errors.New("server: no settings")
	}
	if cfg.Audit == nil {
		l, err := audit.OpenOptions(cfg.Settings.Audit.Path, audit.Options{MaxBytes: cfg.Settings.Audit.MaxBytes})
		if err != nil {
			return err
		}
		defer l.Close()
		cfg.Audit = l
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.Log != nil {
		cfg.Log.Info("sdp-mcp serving", "transport", cfg.Settings.Transport, "tools", len(s.names),
			"sandbox_only", cfg.Settings.Mode.SandboxOnly, "read_only", cfg.Settings.Mode.ReadOnly)
	}
	switch cfg.Settings.Transport {
	case config.TransportHTTP:
		return s.serveHTTP(ctx, cfg)
	default:
		return s.serveStdio(ctx, cfg)
	}
}

func (s *Server) serveStdio(ctx context.Context, cfg Config) error {
	in, out := cfg.Stdin, cfg.Stdout
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	stdio := mcpserver.NewStdioServer(s.mcp)
	stdio.SetErrorLogger(slog.NewLogLogger(s.log.Handler(), slog.LevelWarn))
	if cfg.Ready != nil {
		cfg.Ready("stdio")
	}
	err := stdio.Listen(ctx, in, out)
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, io.EOF)) {
		return nil
	}
	return err
}

// gate refuses calls to the tools the mode removes, with a message that
// says why, and audits them as denied. It runs before mcp-go parses the
// call, on every transport.
func (s *Server) gate(ctx context.Context, id any, message any) error {
	raw, ok := message.(json.RawMessage)
	if !ok {
		return nil
	}
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
			Meta      *mcp.Meta       `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Method != string(mcp.MethodToolsCall) {
		return nil
	}
	rule, denied := s.denied[m.Params.Name]
	who := s.principal(ctx)
	if !denied {
		if rule = s.principalRule(who, m.Params.Name); rule == "" {
			return nil
		}
	}
	why := "this server runs in sandbox-only mode and never contacts production"
	switch rule {
	case ruleReadOnly:
		why = "this server runs in read-only mode"
	case ruleToolOff:
		why = "the server's policy switches it off (tools." + m.Params.Name + ": false)"
	case rulePrincipalTool:
		why = "the server's policy switches it off for " + who.Name + " (principals." + who.Name + ".tools." + m.Params.Name + ": false)"
	case ruleScope:
		why = "the access token of " + who.Name + " has no scope that allows it; ask the operator for a token with such a scope"
	}
	msg := fmt.Sprintf("tool %q is not available: %s", m.Params.Name, why)
	rec := s.record(ctx, m.Params.Name, m.Params.Arguments, m.Params.Meta)
	rec.RequestID = fmt.Sprint(id)
	if m.Params.Meta != nil {
		if ci := m.Params.Meta.ClientInfo(); ci != nil {
			rec.Client = &audit.Client{Name: ci.Name, Version: ci.Version}
		}
	}
	rec.Decision, rec.Rules, rec.Summary = audit.Denied, []string{rule}, msg
	if err := s.audit.Write(rec); err != nil {
		s.log.Error("audit log write failed", "err", err)
	}
	return errors.New(msg)
}
