package toolcall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Call is one tool call as a handler sees it. The handler fills in what the
// audit layer and the result learn from it.
type Call struct {
	// Req is the request.
	Req mcp.CallToolRequest
	// Raw is the arguments as they came (see [RawArguments]).
	Raw json.RawMessage
	// Outcome is what the audit layer is told about the call.
	Outcome *Outcome
	// Summary describes the result in one line, for the audit record.
	Summary string
	// Failed marks a call that completed with a result saying it failed
	// (a run that did not succeed): the decision is failed, not ok.
	Failed bool
	// Rules are ids of checks that matched, added to the outcome's rules
	// however the call ends.
	Rules []string
	// Warnings are lines added to a successful result after its JSON text.
	Warnings []string
}

// Meta is the metadata of a tool and what its calls run under.
type Meta struct {
	Name, Title, Description string
	ReadOnly, Destructive    bool
	Idempotent, OpenWorld    bool
	// Effect says what the tool changed once it completed ("the
	// declaration was saved"); empty for tools that change nothing.
	Effect string
	// Timeout bounds the handler.
	Timeout time.Duration
	// TimeoutHint is added to the message of a call that ran out of time,
	// saying how to stay within it; empty for none.
	TimeoutHint string
	// Vocabulary is what the schema tags of the tool's structs name.
	Vocabulary Vocabulary
}

// Define builds a tool from typed input and output structs and a handler.
// Every call goes through the same steps: the raw arguments are checked
// against the input schema (all problems at once), decoded, the audit layer
// is told the call is allowed, the handler runs under a deadline, its error
// is sorted into agent-fixable or infrastructure, and its output is checked
// against the output schema and returned as structured content with a JSON
// text copy.
func Define[In, Out any](m Meta, fn func(ctx context.Context, c *Call, in In) (*Out, error)) (server.ServerTool, error) {
	inDoc, err := SchemaFor(reflect.TypeFor[In](), m.Vocabulary)
	if err != nil {
		return server.ServerTool{}, err
	}
	outDoc, err := SchemaFor(reflect.TypeFor[Out](), m.Vocabulary)
	if err != nil {
		return server.ServerTool{}, err
	}
	checker, err := newArgChecker(m.Name, inDoc, m.Vocabulary)
	if err != nil {
		return server.ServerTool{}, err
	}
	outSchema, err := compileSchema(m.Name+"-output", outDoc)
	if err != nil {
		return server.ServerTool{}, fmt.Errorf("compiling the output schema of %s: %w", m.Name, err)
	}
	inRaw, _ := json.Marshal(inDoc)
	outRaw, _ := json.Marshal(outDoc)
	tool := mcp.Tool{
		Name:            m.Name,
		Title:           m.Title,
		Description:     m.Description,
		RawInputSchema:  inRaw,
		RawOutputSchema: outRaw,
		Annotations: mcp.ToolAnnotation{
			Title:           m.Title,
			ReadOnlyHint:    mcp.ToBoolPtr(m.ReadOnly),
			DestructiveHint: mcp.ToBoolPtr(m.Destructive),
			IdempotentHint:  mcp.ToBoolPtr(m.Idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(m.OpenWorld),
		},
	}

	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		o := OutcomeFrom(ctx)
		raw := RawArguments(req)
		if ps := checker.check(raw); len(ps) > 0 {
			return rejected(o, ps, "the arguments of "+m.Name+" are invalid"), nil
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
		ctx, cancel := context.WithTimeout(ctx, m.Timeout)
		defer cancel()
		c := &Call{Req: req, Raw: raw, Outcome: o}
		out, err := fn(ctx, c, in)
		if err != nil {
			res, ferr := failure(ctx, o, m, err)
			o.Rules = mergeRules(o.Rules, c.Rules)
			return res, ferr
		}
		if err := checkOutput(outSchema, out); err != nil {
			return nil, &InfraError{Public: "the result of " + m.Name + " did not match its output schema", Err: err}
		}
		text, err := json.Marshal(out)
		if err != nil {
			return nil, &InfraError{Public: "the result could not be encoded", Err: err}
		}
		o.Decision = audit.OK
		if c.Failed {
			o.Decision = audit.Failed
		}
		o.Summary, o.Effect = c.Summary, m.Effect
		o.Rules = mergeRules(o.Rules, c.Rules)
		res := mcp.NewToolResultStructured(out, string(text))
		for _, w := range c.Warnings {
			res.Content = append(res.Content, mcp.NewTextContent(w))
		}
		return res, nil
	}
	return server.ServerTool{Tool: tool, Handler: handler}, nil
}

// failure turns a handler error into the result the agent sees.
func failure(ctx context.Context, o *Outcome, m Meta, err error) (*mcp.CallToolResult, error) {
	var ps pipeline.Problems
	var te *ToolError
	var ie *InfraError
	var ar *AnswerError
	switch {
	case errors.As(err, &ps):
		intro := m.Name + " was refused and changed nothing"
		if m.ReadOnly {
			intro = m.Name + " was refused"
		}
		return rejected(o, ps, intro), nil
	case errors.As(err, &te):
		o.Decision, o.Rules, o.Summary = te.Decision, []string{te.Rule}, te.Msg
		return mcp.NewToolResultError(te.Msg), nil
	case errors.As(err, &ar):
		o.Decision, o.Summary = ar.Decision, ar.Summary
		return ar.Result, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		msg := fmt.Sprintf("%s did not finish within %s and was stopped", m.Name, m.Timeout)
		if m.TimeoutHint != "" {
			msg += "; " + m.TimeoutHint
		}
		o.Decision, o.Rules, o.Summary = audit.Failed, []string{"limit.timeout"}, msg
		return mcp.NewToolResultError(msg), nil
	case errors.Is(err, context.Canceled):
		msg := m.Name + " was cancelled before it finished"
		o.Decision, o.Rules, o.Summary = audit.Failed, []string{"cancelled"}, msg
		return mcp.NewToolResultError(msg), nil
	case errors.As(err, &ie):
		return nil, ie
	}
	return nil, &InfraError{Public: m.Name + " failed inside the server", Err: err}
}

// rejected reports problems the agent can fix, every one of them.
func rejected(o *Outcome, ps pipeline.Problems, intro string) *mcp.CallToolResult {
	o.Decision = audit.Rejected
	o.Rules = ProblemCodes(ps)
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

// ProblemCode names the rule behind a problem, e.g. dataset.query or
// argument.expectations.on_violation.
func ProblemCode(p pipeline.Problem) string {
	field := indexRE.ReplaceAllString(p.Field, "")
	if field == "" {
		return p.On
	}
	return p.On + "." + field
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// ProblemCodes are the codes of the problems, sorted and without
// duplicates.
func ProblemCodes(ps pipeline.Problems) []string {
	var codes []string
	for _, p := range ps {
		codes = append(codes, ProblemCode(p))
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

// mergeRules adds the ids of the checks that matched to the rules of an
// outcome, sorted and without duplicates.
func mergeRules(rules, more []string) []string {
	if len(more) == 0 {
		return rules
	}
	out := append(slices.Clone(rules), more...)
	slices.Sort(out)
	return slices.Compact(out)
}
