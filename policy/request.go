package policy

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Request is the typed view of one tool call that rules see. Each field is
// a CEL variable; its name in a rule is given in the field's comment.
type Request struct {
	Tool      string   // tool: tool name, e.g. "preview"
	Pipeline  string   // pipeline: pipeline name, "" when the tool has none
	Kind      string   // kind: "materialized_view", "streaming_table", "temporary_view", "flow", or ""
	Reads     []string // reads: qualified relations the call's SQL reads, "catalog.schema.table", lower case
	Functions []string // functions: functions the call's SQL calls, lower case
	Limit     int64    // limit: preview row limit, 0 when not a preview
	Env       string   // env: "sandbox" or "production"
}

// variables are the CEL variables a rule can use, in the order messages
// list them.
var variables = []struct {
	name string
	typ  *cel.Type
}{
	{"tool", cel.StringType},
	{"pipeline", cel.StringType},
	{"kind", cel.StringType},
	{"reads", cel.ListType(cel.StringType)},
	{"functions", cel.ListType(cel.StringType)},
	{"limit", cel.IntType},
	{"env", cel.StringType},
}

// variableNames returns the names of variables.
func variableNames() []string {
	names := make([]string, len(variables))
	for i, v := range variables {
		names[i] = v.name
	}
	return names
}

// newEnv returns the CEL environment rules compile in: the standard
// library and macros, and exactly the variables above.
func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{cel.ParserExpressionSizeLimit(maxWhenBytes)}
	for _, v := range variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	return cel.NewEnv(opts...)
}

// activation binds one request to the variables. It is built once per
// Evaluate, shared by every rule and only read, so it needs no lock.
type activation struct {
	tool, pipeline, kind, env ref.Val
	reads, functions          ref.Val
	limit                     ref.Val
}

func newActivation(req Request) *activation {
	return &activation{
		tool:      types.String(req.Tool),
		pipeline:  types.String(req.Pipeline),
		kind:      types.String(req.Kind),
		env:       types.String(req.Env),
		reads:     types.NewStringList(types.DefaultTypeAdapter, req.Reads),
		functions: types.NewStringList(types.DefaultTypeAdapter, req.Functions),
		limit:     types.Int(req.Limit),
	}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "tool":
		return a.tool, true
	case "pipeline":
		return a.pipeline, true
	case "kind":
		return a.kind, true
	case "reads":
		return a.reads, true
	case "functions":
		return a.functions, true
	case "limit":
		return a.limit, true
	case "env":
		return a.env, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// Size bounds assumed when estimating a rule's cost at compile time. A
// call larger than this is still evaluated, under the runtime cost limit.
const (
	maxListHint   = 256 // elements in reads or functions
	maxStringHint = 256 // bytes in a string variable or list element
)

// sizeHints tells the cost estimator how large the variables can be;
// without it every string and list counts as unbounded.
type sizeHints struct{}

// EstimateSize implements cost.Estimator.
func (sizeHints) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	var s cost.SizeEstimate
	switch p := n.Path(); {
	case len(p) == 1 && (p[0] == "reads" || p[0] == "functions"):
		s = cost.RangedSizeEstimate(0, maxListHint)
	case len(p) == 1 || len(p) == 2 && p[1] == "@items":
		s = cost.RangedSizeEstimate(0, maxStringHint)
	default:
		return nil
	}
	return &s
}

// EstimateCallCost implements cost.Estimator: the standard costs apply.
func (sizeHints) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
