package plan

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, on the captured plans and
// anything derived from them, and that what it accepts is a whole tree.
func FuzzParse(f *testing.F) {
	for _, tc := range captureCases {
		_, explain := readCase(f, tc.name)
		f.Add(explain)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			if p != nil {
				t.Fatal("a plan and an error")
			}
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T, want *ParseError", err)
			}
			return
		}
		if p.Root == nil || p.Root.Parent != nil || p.Nodes[0] != p.Root {
			t.Fatal("no root")
		}
		for _, n := range p.Nodes[1:] {
			if n.Parent == nil || !contains(n.Parent.Children, n) && !contains(n.Parent.Subqueries, n) {
				t.Fatalf("operator at line %d is detached", n.Line)
			}
			if strings.ContainsAny(n.Name, " \n") {
				t.Fatalf("operator name %q", n.Name)
			}
		}
		for _, r := range p.Relations {
			if !contains(p.Nodes, r.Node) {
				t.Fatal("relation of an operator that is not in the plan")
			}
		}
		_ = Check(p, Options{SQL: "SELECT 1"})
	})
}
