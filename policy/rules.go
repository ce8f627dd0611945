package policy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/interpreter"

	"github.com/sdp-mcp/sdp-mcp/config"
)

// Action is what a rule does when its condition holds.
type Action string

// The actions a rule can take.
const (
	ActionDeny  Action = "deny"  // the call is refused with the rule's message
	ActionWarn  Action = "warn"  // the call proceeds; the message is returned to the agent as a warning
	ActionAudit Action = "audit" // the call proceeds; the rule id is recorded in the audit log only
)

// Rule is one CEL rule as written in the policy file.
type Rule struct {
	Name    string `yaml:"name"`    // stable id, [a-z][a-z0-9_-]*, unique
	When    string `yaml:"when"`    // CEL expression over the request, must be bool
	Action  Action `yaml:"action"`  // deny, warn or audit
	Message string `yaml:"message"` // shown to the agent (deny, warn); required for deny and warn
}

// Limits on one rule.
const (
	maxWhenBytes = 4096    // length of a when expression
	maxNameBytes = 64      // length of a rule name
	maxRuleCost  = 100_000 // CEL cost units, estimated at compile and enforced at run time
	// interruptEvery is how many comprehension iterations run between two
	// checks of the context.
	interruptEvery = 64
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// RuleSet is a compiled list of rules. The zero value and nil have no rules.
type RuleSet struct {
	rules []compiled
}

type compiled struct {
	id      string // "rule.<name>"
	action  Action
	message string
	prg     cel.Program
}

// Len returns the number of rules in rs.
func (rs *RuleSet) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.rules)
}

// RuleProblem is one thing wrong with one rule.
type RuleProblem struct {
	Index   int    // position in the rules list
	Name    string // the rule's name as written, maybe empty
	Line    int    // line in the policy file, 0 when unknown
	Message string // what is wrong
	Fix     string // how to fix it
}

// String formats p as "rules[i] (name) at line N: message; fix: fix".
func (p RuleProblem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules[%d]", p.Index)
	if p.Name != "" {
		fmt.Fprintf(&b, " (%s)", p.Name)
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, " at line %d", p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// RulesError lists every problem CompileRules found.
type RulesError struct {
	Problems []RuleProblem
}

// Error lists the problems, one per line when there are several.
func (e *RulesError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid policy rules: " + e.Problems[0].String()
	}
	lines := []string{fmt.Sprintf("invalid policy rules: %d problems", len(e.Problems))}
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// CompileRules type-checks every rule and returns one *RulesError listing
// every problem, each naming the rule by index, name and line. lineOf(i)
// returns the line in the policy file of rule i; it may be nil.
func CompileRules(rules []Rule, lineOf func(i int) int) (*RuleSet, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: build the CEL environment: %w", err)
	}
	rs := &RuleSet{}
	var problems []RuleProblem
	firstUse := map[string]int{}
	for i, r := range rules {
		line := 0
		if lineOf != nil {
			line = lineOf(i)
		}
		report := func(msg, fix string) {
			problems = append(problems, RuleProblem{Index: i, Name: r.Name, Line: line, Message: msg, Fix: fix})
		}
		checkName(r.Name, i, firstUse, lineOf, report)
		checkAction(r, report)
		prg, ok := compileWhen(env, r.When, report)
		if ok && len(problems) == 0 {
			rs.rules = append(rs.rules, compiled{id: "rule." + r.Name, action: r.Action, message: r.Message, prg: prg})
		}
	}
	if len(problems) > 0 {
		return nil, &RulesError{Problems: problems}
	}
	return rs, nil
}

func checkName(name string, i int, firstUse map[string]int, lineOf func(int) int, report func(msg, fix string)) {
	switch {
	case name == "":
		report("the rule has no name", "add name: a stable id such as deny-large-preview")
	case len(name) > maxNameBytes:
		report(fmt.Sprintf("the name is %d bytes long, over the limit of %d", len(name), maxNameBytes),
			"shorten the name")
	case !namePattern.MatchString(name):
		report(fmt.Sprintf("the name %q is not a valid rule id", name),
			fmt.Sprintf("use lower-case letters, digits, '-' and '_', starting with a letter, e.g. %q", suggestName(name)))
	default:
		if j, dup := firstUse[name]; dup {
			where := fmt.Sprintf("rules[%d]", j)
			if lineOf != nil && lineOf(j) > 0 {
				where += fmt.Sprintf(" at line %d", lineOf(j))
			}
			report(fmt.Sprintf("the name %q is already used by %s", name, where),
				"give each rule its own name")
			return
		}
		firstUse[name] = i
	}
}

// suggestName turns an invalid name into a valid one to propose.
func suggestName(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-_")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "rule-" + s
	}
	return strings.TrimRight(s[:min(len(s), maxNameBytes)], "-_")
}

func checkAction(r Rule, report func(msg, fix string)) {
	switch r.Action {
	case ActionDeny, ActionWarn:
		if strings.TrimSpace(r.Message) == "" {
			report(fmt.Sprintf("a %s rule needs a message: it is what the agent is told", r.Action),
				"add message: say what is refused and how the agent can change its call, e.g. \"preview at most 200 rows: lower limit\"")
		}
	case ActionAudit:
	case "":
		report("the rule has no action", "add action: deny, warn or audit")
	default:
		fix := "set action to deny, warn or audit"
		if s := config.Closest(strings.ToLower(string(r.Action)), []string{"deny", "warn", "audit"}); s != "" {
			fix = fmt.Sprintf("did you mean %q? ", s) + fix
		}
		report(fmt.Sprintf("the action %q is not one of deny, warn, audit", r.Action), fix)
	}
}

// compileWhen parses, type-checks and cost-checks one expression.
func compileWhen(env *cel.Env, when string, report func(msg, fix string)) (cel.Program, bool) {
	if strings.TrimSpace(when) == "" {
		report("the rule has no when condition",
			`add when: a CEL condition over the call, e.g. tool == "preview" && limit > 200`)
		return nil, false
	}
	if len(when) > maxWhenBytes {
		report(fmt.Sprintf("the when expression is %d bytes long, over the limit of %d", len(when), maxWhenBytes),
			"split it into several rules")
		return nil, false
	}
	ast, iss := env.Compile(when)
	if iss.Err() != nil {
		multiline := strings.Contains(when, "\n")
		for _, e := range iss.Errors() {
			report(celProblem(e.Message, e.Location.Line(), e.Location.Column(), multiline))
			if strings.HasPrefix(e.Message, "Syntax error:") {
				break // the errors after the first syntax error follow from it
			}
		}
		return nil, false
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
		report(fmt.Sprintf("the when expression has type %s, not bool", cel.FormatCELType(t)),
			`write a condition that is true or false, e.g. limit > 200 rather than limit`)
		return nil, false
	}
	est, err := env.EstimateCost(ast, sizeHints{})
	if err != nil {
		report("the cost of the when expression cannot be estimated: "+err.Error(), "simplify the expression")
		return nil, false
	}
	if est.Max > maxRuleCost {
		report(fmt.Sprintf("the when expression may cost up to %d units per call (for up to %d reads or functions of up to %d characters), over the limit of %d",
			est.Max, maxListHint, maxStringHint, maxRuleCost),
			"do not nest exists/all/map/filter inside one another, and give matches() a constant pattern")
		return nil, false
	}
	prg, err := env.Program(ast,
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(maxRuleCost),
		cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		report("the when expression cannot be prepared: "+err.Error(), "simplify the expression")
		return nil, false
	}
	return prg, true
}

var undeclared = regexp.MustCompile(`^undeclared reference to '([^']*)'`)

// celProblem turns one CEL compile error into a message and a fix. line is
// 1-based and column 0-based, as CEL reports them.
func celProblem(msg string, line, column int, multiline bool) (string, string) {
	at := fmt.Sprintf("column %d", column+1)
	if multiline {
		at = fmt.Sprintf("line %d, column %d of the expression", line, column+1)
	}
	vars := strings.Join(variableNames(), ", ")
	if m := undeclared.FindStringSubmatch(msg); m != nil {
		name := m[1]
		fix := "use only the variables " + vars + " and the standard CEL functions and macros (size, in, startsWith, endsWith, contains, matches, exists, all)"
		if s := config.Closest(name, variableNames()); s != "" {
			fix = fmt.Sprintf("did you mean %s? ", s) + fix
		} else if name == "request" {
			fix = "the variables stand alone: write tool, not request.tool; " + fix
		}
		return fmt.Sprintf("unknown name %q at %s", name, at), fix
	}
	if rest, ok := strings.CutPrefix(msg, "Syntax error: "); ok {
		if tok, ok := strings.CutPrefix(rest, "token recognition error at: '"); ok && tok != "" {
			switch tok[0] {
			case '=':
				return fmt.Sprintf("syntax error at %s: '=' is not an operator", at), "compare with =="
			case '&', '|':
				return fmt.Sprintf("syntax error at %s: '%c' is not an operator", at, tok[0]), "join conditions with && or ||"
			}
		}
		if strings.Contains(rest, "'<EOF>'") {
			return fmt.Sprintf("syntax error at %s: the expression ends too early", at),
				"complete the last comparison and close every ( and ["
		}
		return fmt.Sprintf("syntax error at %s: %s", at, rest),
			`check the CEL syntax there: strings take quotes, conditions join with && and ||, equality is ==`
	}
	if strings.HasPrefix(msg, "found no matching overload") {
		return fmt.Sprintf("type error at %s: %s", at, msg),
			"tool, pipeline, kind and env are strings (quote the values), limit is an int, " +
				`reads and functions are lists of strings (use "x" in reads or reads.exists(r, r.startsWith("x.")))`
	}
	return fmt.Sprintf("error at %s: %s", at, msg), "fix the expression there; the variables are " + vars
}

// Decision is one rule whose condition held.
type Decision struct {
	Rule    string // "rule.<name>"
	Action  Action
	Message string
}

// Evaluate runs every rule against req, in file order, and returns the
// decisions of the rules that matched. A rule that cannot be evaluated (a
// runtime error, its cost limit, a done ctx) counts as a deny: the policy
// fails closed. Evaluate is safe for concurrent use.
func (rs *RuleSet) Evaluate(ctx context.Context, req Request) []Decision {
	if rs.Len() == 0 {
		return nil
	}
	act := newActivation(req)
	var out []Decision
	for _, r := range rs.rules {
		if err := ctx.Err(); err != nil {
			out = append(out, failed(ctx, r.id, err))
			continue
		}
		val, _, err := r.prg.ContextEval(ctx, act)
		if err != nil {
			out = append(out, failed(ctx, r.id, err))
			continue
		}
		if matched, ok := val.Value().(bool); !ok {
			out = append(out, failed(ctx, r.id, fmt.Errorf("the result is %v, not a bool", val)))
		} else if matched {
			out = append(out, Decision{Rule: r.id, Action: r.action, Message: r.message})
		}
	}
	return out
}

// failed is the deny decision of a rule that could not be evaluated; its
// message tells the agent whether a retry or a smaller call can help.
func failed(ctx context.Context, id string, err error) Decision {
	var cancelled interpreter.EvalCancelledError
	var msg string
	switch {
	case ctx.Err() != nil:
		msg = fmt.Sprintf("the policy check of %s was stopped before it finished (%v), so the call is refused; retry the call.", id, err)
	case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
		msg = fmt.Sprintf("the call is too large for the server's policy rule %s to check within its budget, so it is refused; "+
			"split the work so one call reads fewer relations and calls fewer functions.", id)
	default:
		msg = fmt.Sprintf("the server's policy rule %s could not be evaluated on this call (%v), so the call is refused. "+
			"This is a fault in the server's policy, not in your call: do not retry it; ask the operator to fix %s in the policy file.",
			id, err, id)
	}
	return Decision{Rule: id, Action: ActionDeny, Message: msg}
}

// Denied returns the deny decisions among ds.
func Denied(ds []Decision) []Decision {
	var out []Decision
	for _, d := range ds {
		if d.Action == ActionDeny {
			out = append(out, d)
		}
	}
	return out
}
