package policy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// typicalRules are the five rules the benchmark and several tests use.
var typicalRules = []Rule{
	{Name: "big-preview", When: `tool == "preview" && limit > 200`, Action: ActionDeny,
		Message: "preview at most 200 rows: lower limit"},
	{Name: "hr-data", When: `reads.exists(r, r.startsWith("prod.hr."))`, Action: ActionDeny,
		Message: "prod.hr is off limits: read another schema"},
	{Name: "nondeterministic", When: `"rand" in functions`, Action: ActionWarn,
		Message: "rand() makes the result change between runs"},
	{Name: "prod-streaming", When: `env == "production" && kind == "streaming_table"`, Action: ActionAudit},
	{Name: "finance-regex", When: `reads.exists(r, r.matches("^prod\\.(fin|pay)[a-z]*\\."))`, Action: ActionWarn,
		Message: "finance data: check that the preview is needed"},
}

func mustCompile(t testing.TB, rules []Rule) *RuleSet {
	t.Helper()
	rs, err := CompileRules(rules, nil)
	if err != nil {
		t.Fatalf("CompileRules: %v", err)
	}
	return rs
}

func TestEvaluate(t *testing.T) {
	rs := mustCompile(t, typicalRules)
	deny := func(name, msg string) Decision { return Decision{"rule." + name, ActionDeny, msg} }
	warn := func(name, msg string) Decision { return Decision{"rule." + name, ActionWarn, msg} }
	for _, tc := range []struct {
		name string
		req  Request
		want []Decision
	}{
		{"nothing matches", Request{Tool: "preview", Limit: 200, Reads: []string{"dev.s.a"}, Env: "sandbox"}, nil},
		{"deny matches", Request{Tool: "preview", Limit: 201, Env: "sandbox"},
			[]Decision{deny("big-preview", typicalRules[0].Message)}},
		{"deny needs both sides", Request{Tool: "validate", Limit: 500}, nil},
		{"exists over reads", Request{Tool: "validate", Reads: []string{"dev.s.a", "prod.hr.salaries"}},
			[]Decision{deny("hr-data", typicalRules[1].Message)}},
		{"prefix is not a match", Request{Reads: []string{"prod.hrx.t"}}, nil},
		{"warn matches", Request{Functions: []string{"sum", "rand"}},
			[]Decision{warn("nondeterministic", typicalRules[2].Message)}},
		{"audit matches", Request{Env: "production", Kind: "streaming_table"},
			[]Decision{{"rule.prod-streaming", ActionAudit, ""}}},
		{"audit env differs", Request{Env: "sandbox", Kind: "streaming_table"}, nil},
		{"regex", Request{Reads: []string{"prod.payroll.x"}},
			[]Decision{warn("finance-regex", typicalRules[4].Message)}},
		{"several in file order", Request{Tool: "preview", Limit: 1000, Reads: []string{"prod.hr.t", "prod.fin.t"},
			Functions: []string{"rand"}, Env: "production", Kind: "streaming_table"},
			[]Decision{
				deny("big-preview", typicalRules[0].Message),
				deny("hr-data", typicalRules[1].Message),
				warn("nondeterministic", typicalRules[2].Message),
				{"rule.prod-streaming", ActionAudit, ""},
				warn("finance-regex", typicalRules[4].Message),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rs.Evaluate(context.Background(), tc.req)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMacrosAndFunctions(t *testing.T) {
	req := Request{Tool: "declare_flow", Pipeline: "sales", Reads: []string{"dev.s.a", "dev.s.b"},
		Functions: []string{"sum"}, Env: "sandbox"}
	for when, want := range map[string]bool{
		`size(reads) == 2`:                             true,
		`reads.all(r, r.startsWith("dev."))`:           true,
		`reads.exists_one(r, r.endsWith(".a"))`:        true,
		`reads.filter(r, r.contains(".b")).size() > 0`: true,
		`pipeline.matches("^s[a-z]+$")`:                true,
		`tool in ["preview", "validate"]`:              false,
		`"sum" in functions && !("rand" in functions)`: true,
		`kind == "" && limit == 0`:                     true,
	} {
		rs, err := CompileRules([]Rule{{Name: "r", When: when, Action: ActionAudit}}, nil)
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		if got := len(rs.Evaluate(context.Background(), req)) == 1; got != want {
			t.Errorf("%s = %v, want %v", when, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	line := func(i int) int { return 10 + 4*i }
	ok := Rule{Name: "ok", When: `tool == "preview"`, Action: ActionAudit}
	vars := "use only the variables tool, pipeline, kind, reads, functions, limit, env and the standard CEL functions and macros (size, in, startsWith, endsWith, contains, matches, exists, all)"
	for _, tc := range []struct {
		name  string
		rule  Rule // compiled as rules[1], after ok
		line  func(int) int
		wants string
	}{
		{"unknown variable", Rule{Name: "big", When: `tool == "preview" && limt > 200`, Action: ActionDeny, Message: "m"}, line,
			`rules[1] (big) at line 14: unknown name "limt" at column 22; fix: did you mean limit? ` + vars},
		{"unknown variable, nothing close", Rule{Name: "x", When: `request.tool == "preview"`, Action: ActionAudit}, line,
			`rules[1] (x) at line 14: unknown name "request" at column 1; fix: the variables stand alone: write tool, not request.tool; ` + vars},
		{"unknown function", Rule{Name: "x", When: `lower(tool) == "x"`, Action: ActionAudit}, nil,
			`rules[1] (x): unknown name "lower" at column 6; fix: ` + vars},
		{"not bool", Rule{Name: "lim", When: `limit + 1`, Action: ActionAudit}, line,
			`rules[1] (lim) at line 14: the when expression has type int, not bool; fix: write a condition that is true or false, e.g. limit > 200 rather than limit`},
		{"list is not bool", Rule{Name: "l", When: `reads`, Action: ActionAudit}, line,
			`rules[1] (l) at line 14: the when expression has type list(string), not bool; fix: write a condition that is true or false, e.g. limit > 200 rather than limit`},
		{"syntax error, early end", Rule{Name: "s", When: `tool ==`, Action: ActionAudit}, line,
			`rules[1] (s) at line 14: syntax error at column 8: the expression ends too early; fix: complete the last comparison and close every ( and [`},
		{"syntax error, multi-line", Rule{Name: "s", When: "tool == \"preview\" &&\n  (limit > 5", Action: ActionAudit}, line,
			`rules[1] (s) at line 14: syntax error at line 2, column 13 of the expression: the expression ends too early; fix: complete the last comparison and close every ( and [`},
		{"syntax error, single =", Rule{Name: "s", When: `tool = "preview"`, Action: ActionAudit}, line,
			`rules[1] (s) at line 14: syntax error at column 6: '=' is not an operator; fix: compare with ==`},
		{"syntax error, first only", Rule{Name: "s", When: `tool == 'preview' &&& limit > 1`, Action: ActionAudit}, line,
			`rules[1] (s) at line 14: syntax error at column 21: '&' is not an operator; fix: join conditions with && or ||`},
		{"syntax error, other", Rule{Name: "s", When: `tool == "a" limit`, Action: ActionAudit}, line,
			`rules[1] (s) at line 14: syntax error at column 13: extraneous input 'limit' expecting <EOF>; fix: check the CEL syntax there: strings take quotes, conditions join with && and ||, equality is ==`},
		{"type error", Rule{Name: "t", When: `limit == "200"`, Action: ActionAudit}, line,
			`rules[1] (t) at line 14: type error at column 7: found no matching overload for '_==_' applied to '(int, string)'; fix: tool, pipeline, kind and env are strings (quote the values), limit is an int, reads and functions are lists of strings (use "x" in reads or reads.exists(r, r.startsWith("x.")))`},
		{"empty when", Rule{Name: "e", When: "  ", Action: ActionAudit}, line,
			`rules[1] (e) at line 14: the rule has no when condition; fix: add when: a CEL condition over the call, e.g. tool == "preview" && limit > 200`},
		{"too long", Rule{Name: "long", When: strings.Repeat(`tool == "x" || `, 300) + "true", Action: ActionAudit}, line,
			`rules[1] (long) at line 14: the when expression is 4504 bytes long, over the limit of 4096; fix: split it into several rules`},
		{"too costly", Rule{Name: "nested", When: `reads.exists(r, functions.exists(f, r.contains(f)))`, Action: ActionAudit}, line,
			`rules[1] (nested) at line 14: the when expression may cost up to 43386370 units per call (for up to 256 reads or functions of up to 256 characters), over the limit of 100000; fix: do not nest exists/all/map/filter inside one another, and give matches() a constant pattern`},
		{"bad action", Rule{Name: "a", When: "true", Action: "Deny", Message: "m"}, line,
			`rules[1] (a) at line 14: the action "Deny" is not one of deny, warn, audit; fix: did you mean "deny"? set action to deny, warn or audit`},
		{"unknown action", Rule{Name: "a", When: "true", Action: "block", Message: "m"}, line,
			`rules[1] (a) at line 14: the action "block" is not one of deny, warn, audit; fix: set action to deny, warn or audit`},
		{"no action", Rule{Name: "a", When: "true"}, line,
			`rules[1] (a) at line 14: the rule has no action; fix: add action: deny, warn or audit`},
		{"deny without message", Rule{Name: "d", When: "true", Action: ActionDeny, Message: " "}, line,
			`rules[1] (d) at line 14: a deny rule needs a message: it is what the agent is told; fix: add message: say what is refused and how the agent can change its call, e.g. "preview at most 200 rows: lower limit"`},
		{"warn without message", Rule{Name: "w", When: "true", Action: ActionWarn}, line,
			`rules[1] (w) at line 14: a warn rule needs a message: it is what the agent is told; fix: add message: say what is refused and how the agent can change its call, e.g. "preview at most 200 rows: lower limit"`},
		{"no name", Rule{When: "true", Action: ActionAudit}, line,
			`rules[1] at line 14: the rule has no name; fix: add name: a stable id such as deny-large-preview`},
		{"invalid name", Rule{Name: "No Big Previews", When: "true", Action: ActionAudit}, line,
			`rules[1] (No Big Previews) at line 14: the name "No Big Previews" is not a valid rule id; fix: use lower-case letters, digits, '-' and '_', starting with a letter, e.g. "no-big-previews"`},
		{"name starts with a digit", Rule{Name: "1st", When: "true", Action: ActionAudit}, nil,
			`rules[1] (1st): the name "1st" is not a valid rule id; fix: use lower-case letters, digits, '-' and '_', starting with a letter, e.g. "rule-1st"`},
		{"name too long", Rule{Name: strings.Repeat("a", 65), When: "true", Action: ActionAudit}, nil,
			`rules[1] (` + strings.Repeat("a", 65) + `): the name is 65 bytes long, over the limit of 64; fix: shorten the name`},
		{"duplicate name", Rule{Name: "ok", When: "true", Action: ActionAudit}, line,
			`rules[1] (ok) at line 14: the name "ok" is already used by rules[0] at line 10; fix: give each rule its own name`},
		{"line unknown", Rule{Name: "ok", When: "true", Action: ActionAudit}, func(int) int { return 0 },
			`rules[1] (ok): the name "ok" is already used by rules[0]; fix: give each rule its own name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := CompileRules([]Rule{ok, tc.rule}, tc.line)
			if rs != nil || err == nil {
				t.Fatalf("CompileRules = %v, %v; want an error", rs, err)
			}
			if got, want := err.Error(), "invalid policy rules: "+tc.wants; got != want {
				t.Errorf("error:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestCompileErrorsListsEveryProblem(t *testing.T) {
	_, err := CompileRules([]Rule{
		{Name: "a", When: "limt > 1", Action: ActionDeny},
		{Name: "b", When: "true", Action: ActionAudit},
		{Name: "a", When: "tool", Action: "nope"},
	}, func(i int) int { return i + 1 })
	re, ok := err.(*RulesError)
	if !ok {
		t.Fatalf("error is %T (%v), want *RulesError", err, err)
	}
	var got []string
	for _, p := range re.Problems {
		got = append(got, fmt.Sprintf("%d %s %d %s", p.Index, p.Name, p.Line, p.Message))
	}
	want := []string{
		"0 a 1 a deny rule needs a message: it is what the agent is told",
		`0 a 1 unknown name "limt" at column 1`,
		`2 a 3 the name "a" is already used by rules[0] at line 1`,
		`2 a 3 the action "nope" is not one of deny, warn, audit`,
		"2 a 3 the when expression has type string, not bool",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if first := strings.SplitN(err.Error(), "\n", 2)[0]; first != "invalid policy rules: 5 problems" {
		t.Errorf("first line = %q", first)
	}
}

func TestFailClosed(t *testing.T) {
	fault := "This is a fault in the server's policy, not in your call: do not retry it; ask the operator to fix rule.r in the policy file."
	huge := make([]string, 200_000)
	for i := range huge {
		huge[i] = "dev.s.t"
	}
	for _, tc := range []struct {
		name, when string
		action     Action
		req        Request
		want       string
	}{
		{"index out of range", `reads[5] == "x"`, ActionAudit, Request{Reads: []string{"a"}},
			"the server's policy rule rule.r could not be evaluated on this call (index out of bounds: 5), so the call is refused. " + fault},
		{"division by zero", `100 / limit > 1`, ActionWarn, Request{},
			"the server's policy rule rule.r could not be evaluated on this call (division by zero), so the call is refused. " + fault},
		{"runtime cost limit", `reads.all(r, r.startsWith("dev."))`, ActionAudit, Request{Reads: huge},
			"the call is too large for the server's policy rule rule.r to check within its budget, so it is refused; " +
				"split the work so one call reads fewer relations and calls fewer functions."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := mustCompile(t, []Rule{{Name: "r", When: tc.when, Action: tc.action, Message: "m"}})
			got := rs.Evaluate(context.Background(), tc.req)
			want := []Decision{{"rule.r", ActionDeny, tc.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

// lateCancel is a context that looks live to the first Err call (Evaluate's
// check before the rule) and cancelled from then on, so only CEL's own
// interrupt check inside the comprehension can stop the rule.
type lateCancel struct {
	context.Context
	mu    sync.Mutex
	calls int
}

func (c *lateCancel) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls == 1 {
		return nil
	}
	return context.Canceled
}

func TestContextStopsEvaluation(t *testing.T) {
	reads := make([]string, 200)
	for i := range reads {
		reads[i] = "dev.s.t"
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	inside := &lateCancel{Context: cancelled}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		rules []Rule
	}{
		{"before each rule", cancelled, typicalRules[:2]},
		{"inside a comprehension", inside, typicalRules[1:2]},
	} {
		rs := mustCompile(t, tc.rules)
		got := rs.Evaluate(tc.ctx, Request{Tool: "preview", Reads: reads})
		if len(got) != len(tc.rules) {
			t.Fatalf("%s: Evaluate = %+v, want %d denies", tc.name, got, len(tc.rules))
		}
		for _, d := range got {
			if d.Action != ActionDeny || !strings.Contains(d.Message, "stopped before it finished") ||
				!strings.Contains(d.Message, "context canceled") {
				t.Errorf("%s: decision %+v, want a deny saying the check was stopped", tc.name, d)
			}
		}
	}
}

func TestNilAndEmpty(t *testing.T) {
	var nilSet *RuleSet
	req := Request{Tool: "preview", Limit: 1 << 40}
	if got := nilSet.Evaluate(context.Background(), req); got != nil {
		t.Errorf("nil RuleSet: %v", got)
	}
	if got := (&RuleSet{}).Evaluate(context.Background(), req); got != nil {
		t.Errorf("zero RuleSet: %v", got)
	}
	rs, err := CompileRules(nil, nil)
	if err != nil || rs.Len() != 0 || rs.Evaluate(context.Background(), req) != nil {
		t.Errorf("CompileRules(nil) = %v, %v", rs, err)
	}
}

func TestDenied(t *testing.T) {
	ds := []Decision{{"rule.a", ActionWarn, "w"}, {"rule.b", ActionDeny, "d"}, {"rule.c", ActionAudit, ""}, {"rule.d", ActionDeny, "e"}}
	want := []Decision{{"rule.b", ActionDeny, "d"}, {"rule.d", ActionDeny, "e"}}
	if diff := cmp.Diff(want, Denied(ds)); diff != "" {
		t.Errorf("Denied (-want +got):\n%s", diff)
	}
	if Denied(ds[:1]) != nil || Denied(nil) != nil {
		t.Error("Denied of no deny is not nil")
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	rs := mustCompile(t, typicalRules)
	reqs := []Request{
		{Tool: "preview", Limit: 500},
		{Reads: []string{"prod.hr.t"}, Functions: []string{"rand"}},
		{Env: "production", Kind: "streaming_table"},
		{Tool: "validate"},
	}
	want := make([][]Decision, len(reqs))
	for i, r := range reqs {
		want[i] = rs.Evaluate(context.Background(), r)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 32 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(reqs)
				if got := rs.Evaluate(context.Background(), reqs[i]); !cmp.Equal(want[i], got) {
					errs <- fmt.Sprintf("goroutine %d, request %d: %v, want %v", g, i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	rs := mustCompile(b, typicalRules)
	req := Request{Tool: "preview", Pipeline: "sales", Kind: "materialized_view",
		Reads:     []string{"dev.sales.orders", "dev.sales.customers", "dev.ref.countries"},
		Functions: []string{"sum", "count", "coalesce"}, Limit: 100, Env: "sandbox"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ds := rs.Evaluate(ctx, req); len(ds) != 0 {
			b.Fatal(ds)
		}
	}
}

// BenchmarkEvaluateCostLimit measures the longest one rule can run: a call
// large enough to exhaust the rule's runtime cost budget.
func BenchmarkEvaluateCostLimit(b *testing.B) {
	rs := mustCompile(b, []Rule{{Name: "r", When: `reads.all(r, r.startsWith("dev."))`, Action: ActionAudit}})
	reads := make([]string, 200_000)
	for i := range reads {
		reads[i] = "dev.s.t"
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ds := Denied(rs.Evaluate(ctx, Request{Reads: reads})); len(ds) != 1 {
			b.Fatal(ds)
		}
	}
}
