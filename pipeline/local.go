package pipeline

import "slices"

// localFacts is what the graph says about one element, found without
// building the whole graph: its reads are scanned (from the memo when the
// draft has one) and classified, and only its upstream closure is walked to
// tell whether it lies on a cycle.
type localFacts struct {
	el       Element
	problems Problems // scan, read and condition problems, in BuildGraph's order
	unfed    *Problem // the element is a streaming table nothing writes to
	cyclic   bool     // the element lies on a cycle: ask the whole graph
}

// local returns the facts about the named dataset or flow, and whether it
// exists. Its cost grows with the element's upstream closure, not with the
// pipeline.
func (p *Pipeline) local(name string) (localFacts, bool) {
	declared := make(map[string]Dataset, len(p.Datasets))
	for _, d := range p.Datasets {
		declared[d.Name] = d
	}
	flows := make(map[string]Flow, len(p.Flows))
	into := map[string][]string{} // target → flows appending to it
	for _, f := range p.Flows {
		flows[f.Name] = f
		into[f.Target] = append(into[f.Target], f.Name)
	}
	var lf localFacts
	// reads classifies what one element's query reads.
	reads := func(n string) (on, query string, ok bool) {
		if d, isDataset := declared[n]; isDataset {
			return "dataset", d.Query, true
		}
		if f, isFlow := flows[n]; isFlow {
			return "flow", f.Query, true
		}
		return "", "", false
	}
	on, query, ok := reads(name)
	if !ok {
		return lf, false
	}
	lf.el = Element{Name: name}
	if on == "flow" {
		lf.el.Kind, lf.el.Target = FlowKind, flows[name].Target
	} else {
		lf.el.Kind = string(declared[name].Kind)
	}
	if on == "flow" || query != "" {
		rs, err := p.scans.reads(query)
		if err != nil {
			lf.problems = append(lf.problems, Problem{On: on, Name: name, Field: "query", Got: query,
				Message: "the query cannot be scanned: " + err.Error(),
				Fix:     "fix the query so it is one valid SELECT statement"})
		}
		for _, r := range rs {
			res := classify(p, declared, r)
			if res.problem != "" {
				lf.problems = append(lf.problems, Problem{On: on, Name: name, Field: "query",
					Got: Source{Parts: r.parts}.String(), Message: res.problem, Fix: res.fix})
			}
			if res.dataset != "" {
				lf.el.Upstreams = append(lf.el.Upstreams, res.dataset)
				continue
			}
			lf.el.Sources = append(lf.el.Sources, Source{Parts: r.parts, Function: r.function, Path: r.path, Dynamic: r.dynamic})
		}
	}
	if on == "dataset" {
		var g Graph
		g.checkConditions(declared[name])
		lf.problems = append(lf.problems, g.problems...)
		if d := declared[name]; d.Kind == StreamingTable && d.Query == "" && len(into[name]) == 0 {
			lf.unfed = &Problem{On: "dataset", Name: name, Field: "query",
				Message: "nothing writes to this streaming table: it has no query and no flow appends to it",
				Fix:     "give it a query, or declare a flow with target " + name}
		}
	}
	lf.el.Upstreams = sortedUnique(lf.el.Upstreams)
	lf.el.Sources = uniqueSources(lf.el.Sources)

	// preds lists what an element depends on: the datasets its query reads
	// and, for a dataset, the flows appending to it. Unscannable queries
	// read nothing, as in BuildGraph.
	preds := func(n string) []string {
		out := slices.Clone(into[n])
		on, q, ok := reads(n)
		if !ok || (on == "dataset" && q == "") {
			return out
		}
		rs, err := p.scans.reads(q)
		if err != nil {
			return out
		}
		for _, r := range rs {
			if res := classify(p, declared, r); res.dataset != "" {
				out = append(out, res.dataset)
			}
		}
		return out
	}
	seen := map[string]bool{}
	stack := preds(name)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == name {
			lf.cyclic = true
			break
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, preds(n)...)
	}
	return lf, true
}

// ElementFacts returns what the named dataset or flow reads and the graph
// problems named after it, as [BuildGraph]'s Element and Problems give them,
// without building the whole graph unless the element lies on a cycle.
func (p *Pipeline) ElementFacts(name string) (el Element, problems Problems, found bool) {
	lf, ok := p.local(name)
	if !ok {
		return Element{}, nil, false
	}
	if lf.cyclic {
		g := BuildGraph(p)
		el, _ = g.Element(name)
		for _, prob := range g.problems {
			if prob.Name == name {
				problems = append(problems, prob)
			}
		}
		return el, problems, true
	}
	problems = lf.problems
	if lf.unfed != nil {
		problems = append(problems, *lf.unfed)
	}
	return lf.el, problems, true
}
