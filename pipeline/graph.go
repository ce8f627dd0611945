package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// FlowKind is the Kind of an [Element] that is a flow.
const FlowKind = "flow"

// Source is an external relation a pipeline reads: anything that is not one
// of its declared datasets.
type Source struct {
	// Parts are the name parts as written (unquoted), e.g. ["main", "raw",
	// "orders"]. Empty for a table-valued function.
	Parts []string `json:"parts,omitempty"`
	// Function is the name of a table-valued function, e.g. "range".
	Function string `json:"function,omitempty"`
	// Path is true for a path-based read such as parquet.`/data`.
	Path bool `json:"path,omitempty"`
	// Dynamic is true for a name computed by IDENTIFIER(...).
	Dynamic bool `json:"dynamic,omitempty"`
}

// String renders the source for people: parts joined with dots, each
// backquoted only when it is not a plain identifier; a TVF as name(...).
func (s Source) String() string {
	switch {
	case s.Function != "":
		return s.Function + "(...)"
	case s.Dynamic:
		return "IDENTIFIER(...)"
	}
	q := make([]string, len(s.Parts))
	for i, p := range s.Parts {
		if plainName(p) {
			q[i] = p
		} else {
			q[i] = quoteIdent(p)
		}
	}
	return strings.Join(q, ".")
}

// plainName reports whether s matches columnRE, without a regular
// expression (it runs for every read of every graph built).
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// key identifies a source regardless of case (Spark resolves names
// case-insensitively).
func (s Source) key() string {
	return strings.ToLower(s.String())
}

// Element is a dataset or flow as the graph sees it.
type Element struct {
	// Name is the dataset or flow name.
	Name string `json:"name"`
	// Kind is the dataset kind, or [FlowKind].
	Kind string `json:"kind"`
	// Target is the streaming table a flow appends to.
	Target string `json:"target,omitempty"`
	// Upstreams are the declared datasets the element's query reads, sorted.
	Upstreams []string `json:"upstreams,omitempty"`
	// Sources are the external relations the element's query reads, sorted.
	Sources []Source `json:"sources,omitempty"`
}

// edge is one read, for rendering.
type edge struct {
	from   string // dataset name, or source key
	source bool   // from is a source key
	stream bool
}

// Graph is the dependency graph of a pipeline, built from its query bodies
// before anything is sent to Spark.
//
// Its nodes are datasets and flows. A dataset or flow depends on every
// declared dataset its query reads; a streaming table also depends on the
// flows that append to it. A relation is a declared dataset when its name is
// one part naming a declared dataset, or is qualified with the pipeline's own
// database (and catalog); everything else is an external source.
type Graph struct {
	elements map[string]*Element
	reads    map[string][]edge   // element → what it reads
	sources  map[string]Source   // source key → source
	preds    map[string][]string // element → elements it depends on, sorted
	succs    map[string][]string // element → elements that depend on it, sorted
	problems Problems
	cyclic   Problems // the cycle problems, also in problems
	unfed    Problems // streaming tables nothing writes to, also in problems
}

// BuildGraph scans every query body of p and builds its graph. It never
// fails: bodies that cannot be scanned, cycles, missing upstreams and other
// dependency problems are reported by [Graph.Problems].
func BuildGraph(p *Pipeline) *Graph {
	g := &Graph{elements: map[string]*Element{}, reads: map[string][]edge{},
		sources: map[string]Source{}, preds: map[string][]string{}, succs: map[string][]string{}}
	declared := map[string]Dataset{}
	for _, d := range p.Datasets {
		declared[d.Name] = d
		g.elements[d.Name] = &Element{Name: d.Name, Kind: string(d.Kind)}
	}
	for _, f := range p.Flows {
		g.elements[f.Name] = &Element{Name: f.Name, Kind: FlowKind, Target: f.Target}
	}
	deps := map[string]map[string]bool{}
	addDep := func(from, to string) {
		if deps[to] == nil {
			deps[to] = map[string]bool{}
		}
		deps[to][from] = true
	}
	scanInto := func(on, name, query string) {
		reads, err := p.scans.reads(query)
		if err != nil {
			g.problems = append(g.problems, Problem{On: on, Name: name, Field: "query", Got: query,
				Message: "the query cannot be scanned: " + err.Error(),
				Fix:     "fix the query so it is one valid SELECT statement"})
			return
		}
		el := g.elements[name]
		for _, r := range reads {
			res := classify(p, declared, r)
			if res.problem != "" {
				g.problems = append(g.problems, Problem{On: on, Name: name, Field: "query",
					Got: Source{Parts: r.parts}.String(), Message: res.problem, Fix: res.fix})
			}
			if res.dataset != "" {
				el.Upstreams = append(el.Upstreams, res.dataset)
				g.reads[name] = append(g.reads[name], edge{from: res.dataset, stream: r.stream})
				addDep(res.dataset, name)
				continue
			}
			src := Source{Parts: r.parts, Function: r.function, Path: r.path, Dynamic: r.dynamic}
			if _, ok := g.sources[src.key()]; !ok {
				g.sources[src.key()] = src
			}
			el.Sources = append(el.Sources, g.sources[src.key()])
			g.reads[name] = append(g.reads[name], edge{from: src.key(), source: true, stream: r.stream})
		}
	}
	for _, d := range p.Datasets {
		if d.Query != "" {
			scanInto("dataset", d.Name, d.Query)
		}
		g.checkConditions(d)
	}
	for _, f := range p.Flows {
		scanInto("flow", f.Name, f.Query)
		if _, ok := g.elements[f.Target]; ok {
			addDep(f.Name, f.Target)
		}
	}
	for _, d := range p.Datasets {
		if d.Kind == StreamingTable && d.Query == "" && len(p.FlowsInto(d.Name)) == 0 {
			g.unfed = append(g.unfed, Problem{On: "dataset", Name: d.Name, Field: "query",
				Message: "nothing writes to this streaming table: it has no query and no flow appends to it",
				Fix:     "give it a query, or declare a flow with target " + d.Name})
		}
	}
	for name, el := range g.elements {
		el.Upstreams = sortedUnique(el.Upstreams)
		el.Sources = uniqueSources(el.Sources)
		g.preds[name] = sortedUnique(slices.Collect(maps.Keys(deps[name])))
		for _, from := range g.preds[name] {
			g.succs[from] = append(g.succs[from], name)
		}
	}
	for name := range g.succs {
		slices.Sort(g.succs[name])
	}
	g.cyclic = g.cycles()
	g.problems = append(g.problems, g.unfed...)
	g.problems = append(g.problems, g.cyclic...)
	return g
}

// checkConditions makes sure expectation conditions are row-level: a
// condition that reads a table would hide a dependency from the graph.
func (g *Graph) checkConditions(d Dataset) {
	for i, e := range d.Expectations {
		field := fmt.Sprintf("expectations[%d].condition", i)
		reads, err := scanReads("SELECT (\n" + e.Condition + "\n)")
		switch {
		case err != nil:
			g.problems = append(g.problems, Problem{On: "dataset", Name: d.Name, Field: field, Got: e.Condition,
				Message: "the condition cannot be scanned: " + err.Error(), Fix: "give one boolean SQL expression"})
		case len(reads) > 0:
			g.problems = append(g.problems, Problem{On: "dataset", Name: d.Name, Field: field, Got: e.Condition,
				Message: "an expectation checks each row on its own; its condition cannot read tables",
				Fix:     "move the lookup into the dataset's query (e.g. a join) and check the joined column"})
		}
	}
}

// classification is the outcome of classifying one read.
type classification struct {
	dataset      string // declared dataset read, or ""
	problem, fix string
}

// classify decides whether a read names a declared dataset.
//
// A name that is not declared is an external source, qualified or not, even
// in the pipeline's own schema: the sandbox keeps its source tables in the
// same schema as the datasets by default, and list_sources gives their fully
// qualified names. Whether such a table exists, and may be read, is for the
// engine and the SQL guard to say.
func classify(p *Pipeline, declared map[string]Dataset, r read) classification {
	if r.function != "" || r.path || r.dynamic || len(r.parts) == 0 {
		return classification{}
	}
	name := strings.ToLower(r.parts[len(r.parts)-1])
	own := false
	switch len(r.parts) {
	case 1:
		if _, ok := declared[name]; ok {
			return classification{dataset: name}
		}
		return classification{}
	case 2:
		own = p.Database != "" && strings.EqualFold(r.parts[0], p.Database)
	case 3:
		own = p.Catalog != "" && p.Database != "" &&
			strings.EqualFold(r.parts[0], p.Catalog) && strings.EqualFold(r.parts[1], p.Database)
	}
	if !own {
		return classification{}
	}
	d, ok := declared[name]
	switch {
	case !ok:
		return classification{}
	case d.Kind == TemporaryView:
		return classification{dataset: name,
			problem: "temporary view " + name + " exists only inside the pipeline and has no schema",
			fix:     "read it by its bare name: " + name}
	}
	return classification{dataset: name}
}

// Element returns the named dataset or flow.
func (g *Graph) Element(name string) (Element, bool) {
	el, ok := g.elements[name]
	if !ok {
		return Element{}, false
	}
	return el.clone(), true
}

func (el *Element) clone() Element {
	c := *el
	c.Upstreams = slices.Clone(el.Upstreams)
	c.Sources = slices.Clone(el.Sources)
	return c
}

// Elements returns every dataset and flow, sorted by name.
func (g *Graph) Elements() []Element {
	out := make([]Element, 0, len(g.elements))
	for _, name := range slices.Sorted(maps.Keys(g.elements)) {
		out = append(out, g.elements[name].clone())
	}
	return out
}

// Sources returns every external source the pipeline reads, sorted.
func (g *Graph) Sources() []Source {
	out := slices.Collect(maps.Values(g.sources))
	slices.SortFunc(out, func(a, b Source) int { return cmp.Compare(a.key(), b.key()) })
	return out
}

// Dependencies returns the datasets and flows the named element depends on:
// the datasets its query reads and, for a streaming table, the flows that
// append to it. Sorted.
func (g *Graph) Dependencies(name string) []string { return slices.Clone(g.preds[name]) }

// Dependents returns the datasets and flows that depend on the named
// element. Sorted.
func (g *Graph) Dependents(name string) []string { return slices.Clone(g.succs[name]) }

// Problems returns what is wrong with the dependencies: unscannable bodies,
// cycles, missing upstreams, streaming tables nothing writes to, conditions
// that read tables. It is empty for a sound graph.
func (g *Graph) Problems() Problems { return slices.Clone(g.problems) }

// Order returns every dataset and flow so that each comes after everything
// it depends on. Among independent elements the order is by name, so the
// result is deterministic. It fails with [Problems] when there is a cycle.
func (g *Graph) Order() ([]string, error) {
	return g.order(slices.Collect(maps.Keys(g.elements)))
}

// order sorts the given subset of elements topologically.
func (g *Graph) order(names []string) ([]string, error) {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	indeg := map[string]int{}
	for _, n := range names {
		for _, p := range g.preds[n] {
			if in[p] {
				indeg[n]++
			}
		}
	}
	var ready, out []string
	for _, n := range names {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, s := range g.succs[n] {
			if !in[s] {
				continue
			}
			indeg[s]--
			if indeg[s] == 0 {
				ready = append(ready, s)
			}
		}
	}
	if len(out) < len(names) {
		var ps Problems
		for _, c := range g.cyclic {
			if in[c.Name] {
				ps = append(ps, c)
			}
		}
		if len(ps) == 0 {
			ps = g.cyclic
		}
		return nil, ps
	}
	return out, nil
}

// problemsFor returns the problems that make a declaration of the named
// dataset or flow unacceptable: its own query and conditions, and every
// cycle it is part of. A streaming table nothing writes to yet is fine at
// declaration time (its flows are declared after it).
func (g *Graph) problemsFor(name string) Problems {
	var ps Problems
	for _, p := range g.problems {
		switch {
		case slices.Contains(g.unfed, p):
		case slices.Contains(g.cyclic, p):
			if slices.Contains(strings.Split(p.Got, " -> "), name) {
				ps = append(ps, p)
			}
		case p.Name == name:
			ps = append(ps, p)
		}
	}
	return ps
}

// readersOf returns the datasets and flows whose queries read the named
// dataset.
func readersOf(p *Pipeline, name string) []string {
	g := BuildGraph(p)
	var out []string
	for _, s := range g.Dependents(name) {
		if slices.Contains(g.elements[s].Upstreams, name) {
			out = append(out, s)
		}
	}
	return out
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return nil
	}
	return s
}

func uniqueSources(s []Source) []Source {
	seen := map[string]bool{}
	var out []Source
	for _, x := range s {
		if !seen[x.key()] {
			seen[x.key()] = true
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b Source) int { return cmp.Compare(a.key(), b.key()) })
	return out
}
