package pipeline

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// inliner turns query bodies into SQL that runs as a plain batch query
// outside the pipeline, the way the pipeline itself would resolve them:
// STREAM reads become batch reads, reads of declared datasets become CTEs
// (or, when materialize is set, reads of their tables), and other names are
// qualified with the pipeline's catalog and database, which are the graph
// defaults in SDP but not necessarily the session's current schema.
type inliner struct {
	p        *Pipeline
	g        *Graph
	declared map[string]Dataset
	// materialize reads declared materialized views and streaming tables
	// from their tables; temporary views are still inlined.
	materialize bool
}

func newInliner(p *Pipeline, materialize bool) *inliner {
	in := &inliner{p: p, g: BuildGraph(p), declared: map[string]Dataset{}, materialize: materialize}
	for _, d := range p.Datasets {
		in.declared[d.Name] = d
	}
	return in
}

// part is one query whose rows make up a dataset: its own body or a flow's.
type part struct {
	query, alias string
}

// parts returns the queries whose rows make up d, in a stable order: its own
// body, then the flows appending to it by name.
func (in *inliner) parts(d Dataset) []part {
	var ps []part
	if d.Query != "" {
		ps = append(ps, part{d.Query, d.Name})
	}
	for _, f := range in.p.FlowsInto(d.Name) {
		ps = append(ps, part{f.Query, f.Name})
	}
	return ps
}

// inlined reports whether reads of the declared dataset become a CTE.
func (in *inliner) inlined(name string) bool {
	return !in.materialize || in.declared[name].Kind == TemporaryView
}

// rewrite rewrites one body and reports the declared datasets it reads.
func (in *inliner) rewrite(on, name, query string) (string, []string, error) {
	reads, err := in.p.scans.reads(query)
	if err != nil {
		return "", nil, Problems{{On: on, Name: name, Field: "query", Got: query,
			Message: "the query cannot be scanned: " + err.Error(), Fix: "fix the query so it is one valid SELECT statement"}}
	}
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	var upstreams []string
	for _, r := range reads {
		c := classify(in.p, in.declared, r)
		original := query[r.nameStart:r.nameEnd]
		repl := original
		switch {
		case c.dataset != "":
			upstreams = append(upstreams, c.dataset)
			if in.inlined(c.dataset) {
				repl = quoteIdent(c.dataset)
			} else {
				repl = quoteName(in.p.Catalog, in.p.Database, c.dataset)
			}
		case r.function != "" || r.path || r.dynamic:
		case len(r.parts) == 1 && in.p.Database != "":
			repl = quoteName(in.p.Catalog, in.p.Database, r.parts[0])
		case len(r.parts) == 2 && in.p.Catalog != "":
			repl = quoteName(in.p.Catalog, r.parts[0], r.parts[1])
		}
		if r.stream {
			edits = append(edits, edit{r.exprStart, r.exprEnd, repl})
		} else if repl != original {
			edits = append(edits, edit{r.nameStart, r.nameEnd, repl})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	at := 0
	for _, e := range edits {
		if e.start < at {
			continue // overlapping spans cannot happen with a sound scanner
		}
		b.WriteString(query[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.WriteString(query[at:])
	return b.String(), sortedUnique(upstreams), nil
}

// content renders the rows of d as one query: each part wrapped, filtered by
// d's drop expectations (fail expectations are left out: a preview shows
// data rather than failing), and joined with UNION ALL. Parts are unioned
// by position; when d declares a schema its columns are selected by name, so
// flows that produce columns in another order line up.
func (in *inliner) content(d Dataset) (string, []string, error) {
	parts := in.parts(d)
	proj := "*"
	if len(parts) > 1 && d.Schema != "" {
		proj = quoteIdents(schemaColumns(d.Schema))
	}
	filter := dropFilter(d.Expectations)
	var sqls, ups []string
	for _, pt := range parts {
		on := "dataset"
		if pt.alias != d.Name {
			on = "flow"
		}
		body, reads, err := in.rewrite(on, pt.alias, pt.query)
		if err != nil {
			return "", nil, err
		}
		ups = append(ups, reads...)
		s := "SELECT " + proj + " FROM (\n" + body + "\n) AS " + quoteIdent(pt.alias)
		if filter != "" {
			s += "\nWHERE " + filter
		}
		sqls = append(sqls, s)
	}
	return strings.Join(sqls, "\nUNION ALL\n"), sortedUnique(ups), nil
}

// dropFilter is the WHERE condition of the drop expectations, or "".
func dropFilter(es []Expectation) string {
	var drops []Expectation
	for _, e := range es {
		if e.OnViolation == Drop {
			drops = append(drops, e)
		}
	}
	return expectationFilter(drops, "", "")
}

// withClause returns "WITH ... ,\n" defining a CTE for every declared
// dataset that roots need, directly or through other inlined datasets, in
// dependency order; "" when there is none. It refuses with [Problems] when
// one of them, or one of the elements named in also, has dependency problems.
func (in *inliner) withClause(roots []string, also ...string) (string, error) {
	need := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if need[name] {
			return
		}
		need[name] = true
		for _, dep := range in.g.preds[name] {
			if el := in.g.elements[dep]; el.Kind == FlowKind || in.inlined(dep) {
				visit(dep)
			}
		}
	}
	for _, r := range roots {
		if in.inlined(r) {
			visit(r)
		}
	}
	var ps Problems
	check := map[string]bool{}
	for n := range need {
		check[n] = true
	}
	for _, n := range also {
		check[n] = true
	}
	for _, prob := range in.g.problems {
		if (prob.On == "dataset" || prob.On == "flow") && check[prob.Name] {
			ps = append(ps, prob)
		}
	}
	if len(ps) > 0 {
		return "", ps
	}
	order, err := in.g.order(slices.Collect(maps.Keys(need)))
	if err != nil {
		return "", err
	}
	var ctes []string
	for _, name := range order {
		d, ok := in.declared[name]
		if !ok {
			continue // a flow: its rows are part of its target's CTE
		}
		body, _, err := in.content(d)
		if err != nil {
			return "", err
		}
		ctes = append(ctes, quoteIdent(name)+" AS (\n"+body+"\n)")
	}
	if len(ctes) == 0 {
		return "", nil
	}
	return "WITH " + strings.Join(ctes, ",\n") + "\n", nil
}
