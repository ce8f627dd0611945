package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

var nameRE = regexp.MustCompile(NamePattern)

// Outcome is what the server's audit layer learns about one call. The
// server puts a fresh Outcome in the call's context ([WithOutcome]) and
// reads it when the call returns; the tools fill it in.
type Outcome struct {
	// Allow, when set, is called once the arguments are valid and before the
	// tool has any effect. An error stops the call: the server could not
	// record that it is about to run.
	Allow func(ctx context.Context) error
	// Decision is what happened: rejected, denied, failed or ok.
	Decision audit.Decision
	// Rules are the ids of the checks that decided.
	Rules []string
	// Summary describes the result in one line.
	Summary string
	// PipelineHash is the hash of the draft the call saw or left.
	PipelineHash string
	// Environment is sandbox or production when an engine was used.
	Environment string
	// Effect says what a completed call changed ("the declaration was
	// saved"); empty for tools that change nothing. The server tells the
	// agent when the call's outcome could not be audited.
	Effect string
}

type outcomeKey struct{}

// WithOutcome returns ctx carrying o.
func WithOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

func outcomeFrom(ctx context.Context) *Outcome {
	if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok && o != nil {
		return o
	}
	return &Outcome{}
}

// InfraError is a failure of the server or what it depends on (the engine,
// the file system), not of the agent's call. Its message is Public only:
// the cause (Err), which may hold paths, hosts or tokens, goes to the
// server log, never to the agent.
type InfraError struct {
	Public string
	Err    error
}

func (e *InfraError) Error() string { return e.Public }

// Unwrap returns the cause.
func (e *InfraError) Unwrap() error { return e.Err }

// LogValue is what the server log records about the failure: the public
// message and the whole cause chain (the agent sees only the public part,
// with the same reference).
func (e *InfraError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public", e.Public), slog.String("cause", causeChain(e.Err)))
}

// newRef is a reference that ties a message the agent sees to the server
// log entry holding the cause.
func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// causeChain renders err and, for a Spark error, the server-side causes
// Spark reported with it.
func causeChain(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var se *connect.SparkError
	if errors.As(err, &se) {
		for _, c := range se.Causes {
			s += " | caused by " + c.ExceptionClass + ": " + c.Message
		}
	}
	return s
}

// toolError is a failure reported to the agent as a tool error with a
// decision other than rejected (denied, failed).
type toolError struct {
	decision audit.Decision
	rule     string
	msg      string
}

func (e *toolError) Error() string { return e.msg }

// call is one tool call as a handler sees it.
type call struct {
	req     mcp.CallToolRequest
	outcome *Outcome
	summary string
	// failed marks a call that completed with a result saying it failed
	// (a run that did not succeed): the decision is failed, not ok.
	failed bool
	// facts are what the policy's rules see; rulesDone is set once they
	// ran; rules are the ids of the rules that matched and warnings the
	// messages of the warn rules.
	facts     facts
	rulesDone bool
	rules     []string
	warnings  []string
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
}

// define builds a tool from typed input and output structs and a handler.
// Every call goes through the same steps: the raw arguments are checked
// against the input schema (all problems at once), decoded, the audit layer
// is told the call is allowed, the handler runs under a deadline, its error
// is sorted into agent-fixable or infrastructure, and its output is checked
// against the output schema.
func define[In, Out any](h *Handler, m meta, fn func(ctx context.Context, c *call, in In) (*Out, error)) (server.ServerTool, error) {
	lim := schemaLimits{
		"preview_rows_max":     h.cfg.Limits.PreviewRowsMax,
		"preview_rows_default": h.cfg.Limits.PreviewRowsDefault,
	}
	inDoc, err := schemaFor(reflect.TypeFor[In](), lim)
	if err != nil {
		return server.ServerTool{}, err
	}
	outDoc, err := schemaFor(reflect.TypeFor[Out](), lim)
	if err != nil {
		return server.ServerTool{}, err
	}
	checker, err := newArgChecker(m.name, inDoc)
	if err != nil {
		return server.ServerTool{}, err
	}
	outSchema, err := compileSchema(m.name+"-output", outDoc)
	if err != nil {
		return server.ServerTool{}, fmt.Errorf("compiling the output schema of %s: %w", m.name, err)
	}
	inRaw, _ := json.Marshal(inDoc)
	outRaw, _ := json.Marshal(outDoc)
	tool := mcp.Tool{
		Name:            m.name,
		Title:           m.title,
		Description:     m.description,
		RawInputSchema:  inRaw,
		RawOutputSchema: outRaw,
		Annotations: mcp.ToolAnnotation{
			Title:           m.title,
			ReadOnlyHint:    mcp.ToBoolPtr(m.readOnly),
			DestructiveHint: mcp.ToBoolPtr(m.destructive),
			IdempotentHint:  mcp.ToBoolPtr(m.idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(m.openWorld),
		},
	}
	timeout := h.cfg.Limits.CallTimeout.D()
	if m.long {
		timeout = h.cfg.Limits.RunTimeout.D()
	}

	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		o := outcomeFrom(ctx)
		raw := RawArguments(req)
		if ps := checker.check(raw); len(ps) > 0 {
			return rejected(o, ps, "the arguments of "+m.name+" are invalid"), nil
		}
		var in In
		dec := json.NewDecoder(bytes.NewReader(orEmptyObject(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			// The schema check passed, so this is a bug.
			return nil, &InfraError{Public: "the arguments could not be decoded", Err: err}
		}
		if o.Allow != nil {
			if err := o.Allow(ctx); err != nil {
				return nil, err
			}
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		// The server keys the Spark session (engine.WithAgentSession) by the
		// principal and conversation of the call.
		c := &call{req: req, outcome: o}
		c.facts.pipeline = pipelineArg(raw)
		var out *Out
		err := error(nil)
		if !m.bodies {
			err = h.applyRules(ctx, c)
		}
		if err == nil {
			out, err = fn(ctx, c, in)
		}
		if err != nil {
			res, ferr := h.failure(ctx, o, m, timeout, err)
			o.Rules = mergeRules(o.Rules, c.rules)
			return res, ferr
		}
		if err := checkOutput(outSchema, out); err != nil {
			return nil, &InfraError{Public: "the result of " + m.name + " did not match its output schema", Err: err}
		}
		text, err := json.Marshal(out)
		if err != nil {
			return nil, &InfraError{Public: "the result could not be encoded", Err: err}
		}
		o.Decision = audit.OK
		if c.failed {
			o.Decision = audit.Failed
		}
		o.Summary, o.Effect = c.summary, m.effect
		o.Rules = mergeRules(o.Rules, c.rules)
		return withWarnings(mcp.NewToolResultStructured(out, string(text)), c.warnings), nil
	}
	return server.ServerTool{Tool: tool, Handler: handler}, nil
}

// failure turns a handler error into the result the agent sees.
func (h *Handler) failure(ctx context.Context, o *Outcome, m meta, timeout time.Duration, err error) (*mcp.CallToolResult, error) {
	var ps pipeline.Problems
	var te *toolError
	var ie *InfraError
	var ir *inputRequired
	switch {
	case errors.As(err, &ps):
		intro := m.name + " was refused and changed nothing"
		if m.readOnly {
			intro = m.name + " was refused"
		}
		return rejected(o, ps, intro), nil
	case errors.As(err, &te):
		o.Decision, o.Rules, o.Summary = te.decision, []string{te.rule}, te.msg
		return mcp.NewToolResultError(te.msg), nil
	case errors.As(err, &ir):
		// Nothing ran: the client is to ask its user and call again.
		o.Decision, o.Summary = audit.Pending, "waiting for the person's answer"
		return ir.result, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		msg := fmt.Sprintf("%s did not finish within %s and was stopped", m.name, timeout)
		if m.name == "preview" {
			msg += "; preview a narrower query or a smaller limit"
		}
		o.Decision, o.Rules, o.Summary = audit.Failed, []string{"limit.timeout"}, msg
		return mcp.NewToolResultError(msg), nil
	case errors.Is(err, context.Canceled):
		msg := m.name + " was cancelled before it finished"
		o.Decision, o.Rules, o.Summary = audit.Failed, []string{"cancelled"}, msg
		return mcp.NewToolResultError(msg), nil
	case errors.As(err, &ie):
		return nil, ie
	}
	return nil, &InfraError{Public: m.name + " failed inside the server", Err: err}
}

// rejected reports problems the agent can fix, every one of them.
func rejected(o *Outcome, ps pipeline.Problems, intro string) *mcp.CallToolResult {
	o.Decision = audit.Rejected
	o.Rules = problemCodes(ps)
	o.Summary = fmt.Sprintf("%d problem(s)", len(ps))
	var b strings.Builder
	if len(ps) == 1 {
		b.WriteString(intro + ": 1 problem to fix:\n")
	} else {
		fmt.Fprintf(&b, "%s: %d problems to fix (all of them are listed):\n", intro, len(ps))
	}
	for _, p := range ps {
		b.WriteString("- " + p.String() + "\n")
	}
	return mcp.NewToolResultError(strings.TrimRight(b.String(), "\n"))
}

// problemCode names the rule behind a problem, e.g. dataset.query or
// argument.expectations.on_violation.
func problemCode(p pipeline.Problem) string {
	field := indexRE.ReplaceAllString(p.Field, "")
	if field == "" {
		return p.On
	}
	return p.On + "." + field
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

func problemCodes(ps pipeline.Problems) []string {
	var codes []string
	for _, p := range ps {
		codes = append(codes, problemCode(p))
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// RawArguments returns the arguments as they came over the wire (or as the
// in-process client passed them).
func RawArguments(req mcp.CallToolRequest) json.RawMessage {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments
	}
	switch a := req.Params.Arguments.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return a
	case []byte:
		return a
	default:
		data, err := json.Marshal(a)
		if err != nil {
			return json.RawMessage(`"unencodable arguments"`)
		}
		return data
	}
}

func orEmptyObject(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage("{}")
	}
	return raw
}

func checkOutput(s *jsonschema.Schema, out any) error {
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(v)
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
		return &toolError{decision: audit.Failed, rule: "engine." + ue.Kind, msg: ue.Error()}
	}
	var oe *engine.OperatorError
	if errors.As(err, &oe) {
		return &toolError{decision: audit.Failed, rule: "engine.operator", msg: oe.Error()}
	}
	var ps pipeline.Problems
	var ie *InfraError
	var te *toolError
	if errors.As(err, &ps) || errors.As(err, &ie) || errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return &InfraError{Public: "the " + env + " engine failed; the details are in the server log", Err: err}
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

// mergeRules adds the ids of the policy rules that matched to the rules of
// an outcome, sorted and without duplicates.
func mergeRules(rules, more []string) []string {
	if len(more) == 0 {
		return rules
	}
	out := append(slices.Clone(rules), more...)
	slices.Sort(out)
	return slices.Compact(out)
}
