package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/guardrails"
)

func ruleSet(fs []guardrails.Finding) []string {
	out := []string{}
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func src(parts ...string) guardrails.Source { return guardrails.Source{Parts: parts} }

// TestCheckRules builds the situations each rule is for on captured plans,
// including ones the static scan would not produce (a forged scan).
func TestCheckRules(t *testing.T) {
	plan := func(name string) (*Plan, string) {
		t.Helper()
		q, text := readCase(t, name)
		p, err := Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p, q
	}
	tests := []struct {
		name string
		plan string
		edit func(o *Options)
		want []string
	}{
		{"allowed table", "table", nil, nil},
		{"forged static scan: the plan reads a table the scan did not report", "table",
			func(o *Options) { o.Static = nil }, []string{RuleStaticMismatch}},
		{"static scan names another table", "table",
			func(o *Options) { o.Static = []guardrails.Source{src("spark_catalog", "plancap_src", "customers")} }, []string{RuleStaticMismatch}},
		{"table functions in the scan do not count", "table",
			func(o *Options) { o.Static = []guardrails.Source{{Parts: []string{"orders"}, Function: true}} }, []string{RuleStaticMismatch}},
		{"source not allowed", "table",
			func(o *Options) { o.AllowedSources = []string{"spark_catalog.other.*"} }, []string{RuleSource}},
		{"glob by table name", "table",
			func(o *Options) { o.AllowedSources = []string{"SPARK_CATALOG.plancap_src.ord*"} }, nil},
		{"a dataset of the pipeline may be read", "table",
			func(o *Options) { o.AllowedSources, o.Schema, o.Datasets = nil, "PlanCap_Src", []string{"Orders"} }, nil},
		{"a dataset in another schema is not the pipeline's", "table",
			func(o *Options) { o.AllowedSources, o.Datasets = nil, []string{"orders"} }, []string{RuleSource}},
		{"view over an allowed table", "view", nil, nil},
		{"view over a table outside the sources: the view is what is checked", "view_outside", nil, nil},
		{"view not allowed itself", "view_outside",
			func(o *Options) { o.AllowedSources = []string{"spark_catalog.plancap_src.orders"} }, []string{RuleSource}},
		{"relation under a view that the view's own plan does not read", "view_outside",
			func(o *Options) {
				o.ViewReads = map[string][]string{"spark_catalog.plancap_src.v_secret": {"spark_catalog.plancap_src.orders"}}
			}, []string{RuleViewMismatch}},
		{"view whose own plan is unknown", "view",
			func(o *Options) { o.ViewReads = map[string][]string{} }, []string{RuleViewMismatch}},
		{"view reads unchecked without ViewReads", "view_outside", func(o *Options) { o.ViewReads = nil }, nil},
		{"nested views", "view_nested", nil, nil},
		{"script transform", "transform", nil, []string{RuleScript}},
		{"path relation", "path", nil, []string{RulePath}},
		{"streaming read", "stream", nil, nil},
		{"streaming read, forged scan", "stream", func(o *Options) { o.Static = nil }, []string{RuleStaticMismatch}},
		{"DataSource V2 table allowed", "relation_v2", func(o *Options) { o.AllowedSources = []string{"plancap_jdbc.app.*"} }, nil},
		{"CTE shadowing a table name reads nothing", "cte_shadow", nil, nil},
		{"unused CTE still read", "cte_unused", nil, []string{RuleSource}},
		{"no SQL text", "table", func(o *Options) { o.SQL = "" }, []string{RuleUnreadable}},
		{"SQL that does not tokenize", "table", func(o *Options) { o.SQL = "SELECT 'a" }, []string{RuleUnreadable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, q := plan(tc.plan)
			o := testOptions(q)
			if tc.edit != nil {
				tc.edit(&o)
			}
			fs := Check(p, o)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if d := cmp.Diff(want, ruleSet(fs)); d != "" {
				t.Errorf("rules (-want +got):\n%s\nfindings: %+v", d, fs)
			}
			for _, f := range fs {
				if f.Message == "" || f.Hint == "" {
					t.Errorf("finding without message or hint: %+v", f)
				}
			}
		})
	}
}

// TestUnknownLeaf refuses a leaf operator the pinned Spark was not seen to
// produce, wherever it is.
func TestUnknownLeaf(t *testing.T) {
	_, base := readCase(t, "view")
	for _, leaf := range []string{"LogicalRDD [a#1], false", "LocalTableScan [a#1]", "StreamingRelationV2 rate, [a#1]"} {
		text := strings.Replace(base, "Relation spark_catalog.plancap_src.orders[", "X", 1)
		text = strings.Replace(text, "SubqueryAlias spark_catalog.plancap_src.orders\n", "SubqueryAlias x\n", 1)
		// Swap the table leaf under the view for the unknown one.
		i := strings.Index(text, "X")
		j := strings.Index(text[i:], "\n")
		text = text[:i] + leaf + text[i+j:]
		p, err := Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", leaf, err)
		}
		o := testOptions("SELECT * FROM plancap_src.v_orders")
		o.ViewReads = nil
		if got := ruleSet(Check(p, o)); !cmp.Equal(got, []string{RuleLeaf}) {
			t.Errorf("%s: rules %v, want [%s]", leaf, got, RuleLeaf)
		}
	}
}

// TestLineBreaks refuses every way a literal or quoted name can carry a
// line break into the plan text.
func TestLineBreaks(t *testing.T) {
	_, text := readCase(t, "no_from")
	p, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sql string
		brk bool
	}{
		{`SELECT 'a\nb'`, true},
		{`SELECT 'a\rb'`, true},
		{`SELECT 'a\012b'`, true},
		{`SELECT 'a\u000Ab'`, true},
		{"SELECT 'a\nb'", true},
		{"SELECT r'a\nb'", true},
		{"SELECT \"a\nb\"", true},
		{"SELECT $x$a\nb$x$", true},
		{"SELECT 1 AS `a\nb`", true},
		{"SELECT /*+ hint('\\n') */ 1", true},
		{`SELECT 'a\\nb'`, false},
		{`SELECT r'a\nb'`, false},
		{"SELECT 'a' -- comment\n, 'b'", false},
		{"SELECT\n  1\nFROM\n  t", false},
	} {
		got := slices.Contains(ruleSet(Check(p, Options{SQL: tc.sql})), RuleLineBreak)
		if got != tc.brk {
			t.Errorf("%q: line break reported %v, want %v", tc.sql, got, tc.brk)
		}
	}
}
