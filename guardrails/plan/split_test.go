package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSplitCaptured cuts each captured batch into its parts and checks that
// every part reads exactly like the plan of its query captured alone: the
// same operators, relations and findings of the plan check. The per-part
// summaries are pinned in testdata/plans/<batch>.golden.
func TestSplitCaptured(t *testing.T) {
	for _, bc := range batchCases {
		t.Run(bc.name, func(t *testing.T) {
			_, explain := readCase(t, bc.name)
			queries := bc.queries(t)
			sql, names := BatchSQL(queries)
			if !strings.Contains(sql, "\n) AS `"+names[len(names)-1]+"`") {
				t.Fatalf("BatchSQL does not close the last part on a line of its own:\n%s", sql)
			}
			p, err := Parse(explain)
			if err != nil {
				t.Fatal(err)
			}
			parts, err := p.Split(names)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, part := range parts {
				_, aloneText := readCase(t, bc.of[i])
				alone, err := Parse(aloneText)
				if err != nil {
					t.Fatal(err)
				}
				got, want := partSummary(part, queries[i]), partSummary(alone, queries[i])
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("part %d (%s) differs from its plan alone (-alone +part):\n%s", i, bc.of[i], d)
				}
				fmt.Fprintf(&b, "== part %d: %s\n%s", i, bc.of[i], got)
			}
			checkGolden(t, filepath.Join("testdata", "plans", bc.name+".golden"), b.String())
		})
	}
}

// partSummary is what the plan check sees of a plan: its operators (the
// WithCTE and SubqueryAlias that hold it aside), relations and findings.
func partSummary(p *Plan, query string) string {
	var b strings.Builder
	b.WriteString("operators:")
	for _, n := range p.Nodes {
		if n.Name != "WithCTE" && n.Name != "SubqueryAlias" && n.Name != "Project" {
			b.WriteString(" " + n.Name)
		}
	}
	b.WriteString("\nrelations:")
	for _, r := range p.Relations {
		b.WriteString(" " + r.Name())
		if !r.Direct() {
			b.WriteString(" (via " + JoinName(r.Via) + ")")
		}
	}
	b.WriteString("\nfindings:")
	for _, f := range Check(p, testOptions(query)) {
		fmt.Fprintf(&b, " %s %q", f.Rule, f.Got)
	}
	return b.String() + "\n"
}

// TestSplitRefuses: any plan that is not exactly the batch's shape is an
// error, never a partial split.
func TestSplitRefuses(t *testing.T) {
	bc := batchCases[0]
	_, explain := readCase(t, bc.name)
	_, names := BatchSQL(bc.queries(t))
	analyzed := func(f func(string) string) string {
		head, rest, _ := strings.Cut(explain, "== Analyzed Logical Plan ==\n")
		sec, tail, _ := strings.Cut(rest, "== Optimized Logical Plan ==\n")
		return head + "== Analyzed Logical Plan ==\n" + f(sec) + "== Optimized Logical Plan ==\n" + tail
	}
	for _, tc := range []struct {
		name  string
		text  string
		names []string
	}{
		{"fewer names", explain, names[:len(names)-1]},
		{"names out of order", explain, append([]string{names[1], names[0]}, names[2:]...)},
		{"no names", explain, nil},
		{"an outer join", analyzed(func(s string) string { return strings.Replace(s, "Join Inner\n", "Join LeftOuter\n", 1) }), names},
		{"a join condition", analyzed(func(s string) string { return strings.Replace(s, "Join Inner\n", "Join Inner, (a#1 = b#2)\n", 1) }), names},
		{"a filter above the join", analyzed(func(s string) string {
			return strings.Replace(s, "+- ~WithCTE\n", "+- ~Filter true\n", 1)
		}), names},
		{"a filter that keeps rows", analyzed(func(s string) string { return strings.Replace(s, "+- ~Filter false\n", "+- ~Filter true\n", 1) }), names},
		{"a definition no part refers to", analyzed(func(s string) string {
			return strings.Replace(s, "CTERelationRef ", "CTERelationRef 9", 1)
		}), names},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.text)
			if err != nil {
				t.Fatalf("the altered text does not parse (%v): the case tests nothing", err)
			}
			if parts, err := p.Split(tc.names); err == nil {
				t.Errorf("Split returned %d parts, want an error", len(parts))
			}
		})
	}
}
