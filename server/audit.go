package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// callError is the error the agent sees when a call fails inside the
// server: a public message and a reference to the server log entry that
// holds the details. It never carries a cause, a stack trace, a path or a
// token.
type callError struct{ msg string }

func (e *callError) Error() string { return e.msg }

// errAudit marks a failure to write the audit log.
var errAudit = errors.New("audit log write failed")

// middleware wraps every tool handler: it refuses calls over the session's
// rate limit (a tool error, audited as denied), audits the call (an "allowed"
// record before the tool has any effect, the outcome after), recovers from
// panics, and replaces infrastructure errors with a sanitized message. A
// call whose audit record cannot be written is refused with a tool error
// (see [Server.auditFailed]).
func (s *Server) middleware(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		start := time.Now()
		rec := s.record(ctx, req.Params.Name, toolcall.RawArguments(req), req.Params.Meta)
		// Every principal's conversation has its own rate-limit bucket and
		// its own Spark session.
		key := auth.Key(rec.Principal, rec.Conversation)
		ctx = auth.WithPrincipal(ctx, s.principal(ctx))
		ctx = auth.WithConversation(ctx, rec.Conversation)
		ctx = engine.WithAgentSession(ctx, key)
		perMinute := s.policy.CallsPerMinute(rec.Principal)
		if ok, wait := s.rate.allowAt(key, perMinute); !ok {
			msg := rateMessage(min(perMinute, s.rate.perMinute), wait)
			rec.Decision, rec.Rules, rec.Summary = audit.Denied, []string{ruleRate}, msg
			if werr := s.audit.Write(rec); werr != nil {
				return s.auditFailed(req.Params.Name, "denied", werr, notRun(req.Params.Name)), nil
			}
			return mcp.NewToolResultError(msg), nil
		}
		o := &toolcall.Outcome{}
		o.Allow = func(context.Context) error {
			r := rec
			r.Time, r.Decision = time.Now(), audit.Allowed
			if werr := s.audit.Write(r); werr != nil {
				return fmt.Errorf("%w: %w", errAudit, werr)
			}
			return nil
		}
		// Code under the call records events with audit.Event(ctx, …).
		ctx = audit.NewContext(ctx, s.audit, rec)
		res, err = s.callSafely(toolcall.WithOutcome(ctx, o), req, next)

		rec.Time = time.Now()
		rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		rec.PipelineHash, rec.Environment = o.PipelineHash, o.Environment
		// What the agent is told if the outcome cannot be recorded.
		unrecorded := ""
		switch {
		case errors.Is(err, errAudit) || errors.Is(err, audit.ErrWrite):
			// The "allowed" record was not written, and nothing ran; or an
			// event of the call was not, and the call stopped there. The
			// refusal is recorded if the log takes it.
			record, what := "allowed", notRun(req.Params.Name)
			if !errors.Is(err, errAudit) {
				record = "event"
				what = req.Params.Name + " stopped because the audit log could not be written: one of its steps could not be recorded, so it went no further"
			}
			rec.Decision, rec.Rules = audit.Failed, []string{ruleAuditWrite}
			rec.Summary = "refused: the audit log could not be written"
			if werr := s.audit.Write(rec); werr != nil {
				err = errors.Join(err, fmt.Errorf("recording the refusal: %w", werr))
			}
			return s.auditFailed(req.Params.Name, record, err, what), nil
		case err != nil:
			ref := newRef()
			public := "the call failed inside the server"
			// The log holds the whole cause chain (for a Spark error: its
			// class, SQLSTATE, message and Spark's own causes) under the ref
			// the agent sees, however the error was wrapped.
			cause := toolcall.CauseChain(err)
			var ie *toolcall.InfraError
			if errors.As(err, &ie) {
				public, cause = ie.Public, toolcall.CauseChain(ie.Err)
			}
			s.log.Error("tool call failed", "ref", ref, "tool", req.Params.Name, "public", public, "cause", cause)
			rec.Decision, rec.Rules = audit.Failed, []string{"infrastructure"}
			rec.Summary = public + " (ref " + ref + ")"
			err = &callError{msg: fmt.Sprintf("internal error (ref %s): %s; the server log has the details", ref, public)}
			unrecorded = fmt.Sprintf("%s failed inside the server (%s; ref %s), and that failure could not be recorded in the audit log", req.Params.Name, public, ref)
		default:
			rec.Decision, rec.Rules, rec.Summary = o.Decision, o.Rules, o.Summary
			if rec.Decision == "" {
				rec.Decision = audit.OK
			}
			unrecorded = unrecordedOutcome(req.Params.Name, rec.Decision, o)
		}
		if werr := s.audit.Write(rec); werr != nil {
			return s.auditFailed(req.Params.Name, "outcome", werr, unrecorded), nil
		}
		return res, err
	}
}

// ruleAuditWrite is the rule of a call refused because the audit log
// could not be written.
const ruleAuditWrite = "audit.write"

// auditFailed is the tool error the agent gets when the audit log cannot
// be written: what happened to the call (what), and that the operator must
// fix the log. The cause, with the log's path, goes to the server log
// under the same ref. It is a tool error, not a JSON-RPC error: a log that
// cannot be written is the operator's problem, not a server bug.
func (s *Server) auditFailed(tool, record string, werr error, what string) *mcp.CallToolResult {
	ref := newRef()
	s.log.Error("audit log write failed", "ref", ref, "tool", tool, "record", record,
		"audit_log", s.settings.Audit.Path, "err", werr)
	return mcp.NewToolResultError(fmt.Sprintf("%s. The server's operator must free space for the audit log or repair it "+
		"(ref %s; the server log has the cause); until then, calls that cannot be recorded are refused.", what, ref))
}

// notRun says a call was refused before it ran.
func notRun(tool string) string {
	return tool + " was refused because the audit log could not be written: nothing ran"
}

// unrecordedOutcome says what a call did whose outcome could not be
// recorded: its result is withheld, but its effect stands.
func unrecordedOutcome(tool string, d audit.Decision, o *toolcall.Outcome) string {
	const lost = "its outcome could not be recorded in the audit log, so its result is withheld"
	switch {
	case d == audit.Rejected || d == audit.Denied || d == audit.Pending:
		return notRun(tool)
	case o.Effect != "":
		return fmt.Sprintf("%s: %s; %s", tool, o.Effect, lost)
	case d == audit.Failed:
		return fmt.Sprintf("%s failed (%s); %s", tool, o.Summary, lost)
	}
	return fmt.Sprintf("%s ran and changed nothing; %s", tool, lost)
}

// callSafely runs next, turning a panic into an error (the stack goes to
// the server log only).
func (s *Server) callSafely(ctx context.Context, req mcp.CallToolRequest, next mcpserver.ToolHandlerFunc) (res *mcp.CallToolResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in tool handler", "tool", req.Params.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res, err = nil, &toolcall.InfraError{Public: "the call failed inside the server", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return next(ctx, req)
}

// onError audits tool calls that failed before reaching the middleware:
// unknown tools, calls filtered out, malformed requests.
func (s *Server) onError(ctx context.Context, id any, method mcp.MCPMethod, message any, err error) {
	if method != mcp.MethodToolsCall {
		return
	}
	var ce *callError
	if errors.As(err, &ce) {
		return // audited by the middleware
	}
	name := ""
	var args json.RawMessage
	var meta *mcp.Meta
	if req, ok := message.(*mcp.CallToolRequest); ok && req != nil {
		name, args, meta = req.Params.Name, toolcall.RawArguments(*req), req.Params.Meta
	}
	rec := s.record(ctx, name, args, meta)
	rec.RequestID = fmt.Sprint(id)
	rec.Decision, rec.Rules = audit.Rejected, []string{"request.invalid"}
	switch {
	case errors.Is(err, mcpserver.ErrToolNotFound):
		rec.Rules = []string{"tool.unknown"}
		if rule, ok := s.denied[name]; ok {
			rec.Decision, rec.Rules = audit.Denied, []string{rule}
		}
	}
	rec.Summary = truncate(err.Error(), 300)
	if werr := s.audit.Write(rec); werr != nil {
		s.log.Error("audit log write failed", "err", werr)
	}
}

// record starts an audit record for a call, attributed to its principal
// and conversation.
func (s *Server) record(ctx context.Context, tool string, args json.RawMessage, meta *mcp.Meta) audit.Record {
	r := audit.Record{Time: time.Now(), Tool: tool, Transport: s.transport, Arguments: audit.Redact(args),
		PolicySHA256: s.policy.SHA256()}
	s.attribute(ctx, &r, meta)
	return r
}

// newRef returns a short random id tying an error the agent sees to the
// server log entry with the details.
func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
