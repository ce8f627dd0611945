package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Mermaid renders the graph as a Mermaid flowchart ("graph LR"), data
// flowing left to right:
//
//   - materialized views are rectangles, streaming tables stadiums,
//     temporary views parallelograms, external sources cylinders;
//   - an arrow goes from what is read to what reads it, dotted for a
//     streaming read (STREAM(x));
//   - a flow is not a node but arrows from what it reads into its target,
//     labelled with the flow's name (a flow that reads nothing starts at a
//     small circle).
//
// Node ids are generated (d_<name>, s<n>, f_<name>) so that names such as
// "end" cannot clash with Mermaid keywords. Output is deterministic.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("graph LR\n")
	b.WriteString("  %% rectangle: materialized view, stadium: streaming table,\n")
	b.WriteString("  %% parallelogram: temporary view, cylinder: external source,\n")
	b.WriteString("  %% dotted arrow: streaming read, labelled arrow: flow\n")
	sourceID := map[string]string{}
	for i, s := range g.Sources() {
		sourceID[s.key()] = fmt.Sprintf("s%d", i+1)
	}
	names := slices.Sorted(maps.Keys(g.elements))
	for _, name := range names {
		el := g.elements[name]
		label := mermaidLabel(name)
		switch Kind(el.Kind) {
		case MaterializedView:
			fmt.Fprintf(&b, "  d_%s[%s]\n", name, label)
		case StreamingTable:
			fmt.Fprintf(&b, "  d_%s([%s])\n", name, label)
		case TemporaryView:
			fmt.Fprintf(&b, "  d_%s[/%s/]\n", name, label)
		}
	}
	for _, s := range g.Sources() {
		fmt.Fprintf(&b, "  %s[(%s)]\n", sourceID[s.key()], mermaidLabel(s.String()))
	}
	nodeID := func(e edge) string {
		if e.source {
			return sourceID[e.from]
		}
		return "d_" + e.from
	}
	arrow := func(stream bool, label string) string {
		switch {
		case stream && label != "":
			return "-.->|" + label + "|"
		case stream:
			return "-.->"
		case label != "":
			return "-->|" + label + "|"
		}
		return "-->"
	}
	var lines []string
	for _, name := range names {
		el := g.elements[name]
		reads := uniqueEdges(g.reads[name])
		if el.Kind != FlowKind {
			for _, e := range reads {
				lines = append(lines, fmt.Sprintf("  %s %s d_%s", nodeID(e), arrow(e.stream, ""), name))
			}
			continue
		}
		if _, ok := g.elements[el.Target]; !ok {
			continue
		}
		if len(reads) == 0 {
			fmt.Fprintf(&b, "  f_%s((\" \"))\n", name)
			lines = append(lines, fmt.Sprintf("  f_%s %s d_%s", name, arrow(false, name), el.Target))
		}
		for _, e := range reads {
			lines = append(lines, fmt.Sprintf("  %s %s d_%s", nodeID(e), arrow(e.stream, name), el.Target))
		}
	}
	slices.Sort(lines)
	for _, l := range slices.Compact(lines) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// mermaidLabel quotes a node label, escaping what Mermaid would interpret.
func mermaidLabel(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "#", "#35;")
	return `"` + r.Replace(s) + `"`
}

// uniqueEdges drops repeated reads of the same relation; a relation read
// both as a stream and as a batch keeps both.
func uniqueEdges(es []edge) []edge {
	seen := map[edge]bool{}
	var out []edge
	for _, e := range es {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
