package pipeline

import (
	"reflect"
	"testing"
)

// TestElementFactsAgreeWithGraph checks that the facts found about one
// element without the whole graph are the ones the whole graph gives.
func TestElementFactsAgreeWithGraph(t *testing.T) {
	mv := func(name, q string) Dataset { return Dataset{Name: name, Kind: MaterializedView, Query: q} }
	cases := map[string]*Pipeline{
		"plain": {Datasets: []Dataset{
			mv("a", "SELECT * FROM src.events"),
			mv("b", "SELECT * FROM a JOIN src.dims USING (k) JOIN a AS a2 USING (k)"),
			mv("c", "SELECT * FROM b UNION ALL SELECT * FROM a"),
		}},
		"problems": {Catalog: "cat", Database: "db", Datasets: []Dataset{
			{Name: "t", Kind: TemporaryView, Query: "SELECT 1 AS x"},
			mv("u", "SELECT * FROM db.t"),
			mv("bad", "SELECT FROM WHERE ((("),
			{Name: "s", Kind: StreamingTable},
			{Name: "e", Kind: MaterializedView, Query: "SELECT * FROM t",
				Expectations: []Expectation{{Name: "x", Condition: "x IN (SELECT x FROM t)", OnViolation: "drop"}}},
		}},
		"cycle": {Datasets: []Dataset{
			mv("a", "SELECT * FROM c"),
			mv("b", "SELECT * FROM a"),
			mv("c", "SELECT * FROM b"),
			mv("d", "SELECT * FROM c"),
			mv("self", "SELECT * FROM self"),
		}},
		"flows": {Datasets: []Dataset{
			{Name: "st", Kind: StreamingTable},
			mv("m", "SELECT * FROM st"),
			{Name: "loop", Kind: StreamingTable},
		}, Flows: []Flow{
			{Name: "f1", Target: "st", Query: "SELECT * FROM STREAM(src.events)"},
			{Name: "f2", Target: "loop", Query: "SELECT * FROM STREAM(loop)"},
		}},
	}
	for cname, p := range cases {
		g := BuildGraph(p)
		if cname != "plain" && len(g.Problems()) == 0 {
			t.Fatalf("%s: the case has no problems to compare", cname)
		}
		var names []string
		for _, d := range p.Datasets {
			names = append(names, d.Name)
		}
		for _, f := range p.Flows {
			names = append(names, f.Name)
		}
		for _, name := range names {
			want, _ := g.Element(name)
			var wantProblems Problems
			for _, prob := range g.Problems() {
				if prob.Name == name {
					wantProblems = append(wantProblems, prob)
				}
			}
			el, ps, ok := p.ElementFacts(name)
			if !ok {
				t.Fatalf("%s: %s not found", cname, name)
			}
			if !reflect.DeepEqual(el, want) {
				t.Errorf("%s: element %s = %+v, the graph says %+v", cname, name, el, want)
			}
			if !reflect.DeepEqual(ps, wantProblems) {
				t.Errorf("%s: problems of %s = %v, the graph says %v", cname, name, ps, wantProblems)
			}
			var check error
			if lf, _ := p.local(name); !lf.cyclic {
				check = lf.problems.Err()
			} else {
				check = g.problemsFor(name).Err()
			}
			if !reflect.DeepEqual(check, g.problemsFor(name).Err()) {
				t.Errorf("%s: the check of %s = %v, the graph says %v", cname, name, check, g.problemsFor(name).Err())
			}
		}
	}
	if _, _, ok := (&Pipeline{}).ElementFacts("nothing"); ok {
		t.Error("an element that does not exist was found")
	}
}
