package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// call is one tool call as a tool's handler sees it: the call path's view
// of it (package toolcall) and what the tools gather for the policy.
type call struct {
	*toolcall.Call
	// facts are what the policy's rules see; rulesDone is set once they
	// ran (the rules that matched go to Rules, the messages of the warn
	// rules to Warnings).
	facts     facts
	rulesDone bool
	// approvalID is the approval a promotion runs under.
	approvalID string
}

// meta is the metadata of a tool.
type meta struct {
	name, title, description string
	readOnly, destructive    bool
	idempotent, openWorld    bool
	// long marks run and promote, bounded by the run timeout instead of the
	// call timeout.
	long bool
	// bodies marks tools that check SQL bodies: they apply the policy's
	// rules themselves once the guard has seen the bodies; for the others
	// the rules run before the handler.
	bodies bool
	// effect says what the tool changed once it completed ("the
	// declaration was saved"); empty for tools that change nothing.
	effect string
	// timeoutHint tells the agent how to stay within the deadline.
	timeoutHint string
}

// define builds a tool on the call path of package toolcall (schema check,
// deadline, error sorting, output check), with the policy's rules applied
// before the handler unless the tool applies them itself.
func define[In, Out any](h *Handler, m meta, fn func(ctx context.Context, c *call, in In) (*Out, error)) (server.ServerTool, error) {
	timeout := h.cfg.Limits.CallTimeout.D()
	if m.long {
		timeout = h.cfg.Limits.RunTimeout.D()
	}
	tm := toolcall.Meta{
		Name: m.name, Title: m.title, Description: m.description,
		ReadOnly: m.readOnly, Destructive: m.destructive, Idempotent: m.idempotent, OpenWorld: m.openWorld,
		Effect: m.effect, Timeout: timeout, TimeoutHint: m.timeoutHint, Vocabulary: h.vocabulary(),
	}
	return toolcall.Define(tm, func(ctx context.Context, tc *toolcall.Call, in In) (*Out, error) {
		// The server keys the Spark session (engine.WithAgentSession) by the
		// principal and conversation of the call.
		c := &call{Call: tc}
		c.facts.pipeline = pipelineArg(tc.Raw)
		if !m.bodies {
			if err := h.applyRules(ctx, c); err != nil {
				return nil, err
			}
		}
		return fn(ctx, c, in)
	})
}

// progress returns a callback that forwards engine progress to the client
// as notifications/progress, when the request asked for them with a
// progress token. Notifications are best effort: a client that went away
// does not fail the run.
func progress(ctx context.Context, req mcp.CallToolRequest) func(engine.Progress) {
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	srv := server.ServerFromContext(ctx)
	if token == nil || srv == nil {
		return func(engine.Progress) {}
	}
	n := 0
	return func(p engine.Progress) {
		n++
		msg := p.Message
		if p.Total > 0 {
			msg = fmt.Sprintf("%s (%d/%d)", msg, p.Done, p.Total)
		}
		params := map[string]any{"progressToken": token, "progress": n, "message": msg}
		_ = srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
	}
}

// engineErr sorts an error from an engine call: problems the agent can fix
// and deadlines pass through; anything else is an infrastructure failure
// whose details stay in the server log.
func engineErr(env string, err error) error {
	var ue *engine.UnavailableError
	if errors.As(err, &ue) {
		// The engine is down: the agent learns what state things are in
		// and whether to retry; the cause goes to the log with the record.
		return &toolcall.ToolError{Decision: audit.Failed, Rule: "engine." + ue.Kind, Msg: ue.Error()}
	}
	var oe *engine.OperatorError
	if errors.As(err, &oe) {
		return &toolcall.ToolError{Decision: audit.Failed, Rule: "engine.operator", Msg: oe.Error()}
	}
	var ps pipeline.Problems
	var ie *toolcall.InfraError
	var te *toolcall.ToolError
	if errors.As(err, &ps) || errors.As(err, &ie) || errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return &toolcall.InfraError{Public: "the " + env + " engine failed; the details are in the server log", Err: err}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(none yet)"
	}
	return strings.Join(names, ", ")
}

// qualified renders catalog.schema.name for display.
func qualified(catalog, schema, name string) string {
	parts := []string{}
	for _, p := range []string{catalog, schema, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// nonNil returns s, or an empty slice when s is nil, so outputs always hold
// arrays (never null) as their schemas say.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pipelineArg is the "pipeline" argument of a call, or "".
func pipelineArg(raw json.RawMessage) string {
	var a struct {
		Pipeline string `json:"pipeline"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return ""
	}
	return a.Pipeline
}
