package console

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// The graph's geometry, in SVG user units.
const (
	nodeW   = 220
	nodeH   = 34
	colGap  = 70
	rowGap  = 18
	margin  = 12
	maxText = 28
)

// graphView is a dependency graph laid out by depth: sources in the first
// column, then each dataset or flow one column right of its deepest
// upstream.
type graphView struct {
	Width, Height int
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	Name  string // full name (tooltip)
	Label string // what fits in the box
	Kind  string // a dataset kind, "flow" or "source"
	X, Y  int
	TextX int
	TextY int
	W, H  int
}

type graphEdge struct {
	Path string // an SVG path
}

// layoutGraph places g's elements and sources on a grid by depth.
func layoutGraph(g *pipeline.Graph) *graphView {
	type node struct {
		name, kind string
		deps       []string
	}
	nodes := map[string]*node{}
	var order []string
	for _, s := range g.Sources() {
		k := "source:" + s.String()
		if _, ok := nodes[k]; !ok {
			nodes[k] = &node{name: s.String(), kind: "source"}
			order = append(order, k)
		}
	}
	for _, el := range g.Elements() {
		n := &node{name: el.Name, kind: el.Kind}
		n.deps = g.Dependencies(el.Name)
		for _, s := range el.Sources {
			n.deps = append(n.deps, "source:"+s.String())
		}
		nodes[el.Name] = n
		order = append(order, el.Name)
	}
	depth := map[string]int{}
	var depthOf func(k string, seen map[string]bool) int
	depthOf = func(k string, seen map[string]bool) int {
		if d, ok := depth[k]; ok {
			return d
		}
		n, ok := nodes[k]
		if !ok || seen[k] { // an unknown upstream or a cycle
			return 0
		}
		seen[k] = true
		d := 0
		if n.kind != "source" {
			d = 1
		}
		for _, up := range n.deps {
			d = max(d, depthOf(up, seen)+1)
		}
		delete(seen, k)
		depth[k] = d
		return d
	}
	cols := map[int][]string{}
	maxDepth, maxRows := 0, 0
	for _, k := range order {
		d := depthOf(k, map[string]bool{})
		cols[d] = append(cols[d], k)
		maxDepth = max(maxDepth, d)
		maxRows = max(maxRows, len(cols[d]))
	}
	gv := &graphView{
		Width:  2*margin + (maxDepth+1)*nodeW + maxDepth*colGap,
		Height: 2*margin + maxRows*nodeH + max(0, maxRows-1)*rowGap,
	}
	pos := map[string][2]int{}
	for d := 0; d <= maxDepth; d++ {
		col := cols[d]
		slices.SortStableFunc(col, func(a, b string) int {
			return cmp.Compare(nodes[a].name, nodes[b].name)
		})
		for i, k := range col {
			x := margin + d*(nodeW+colGap)
			y := margin + i*(nodeH+rowGap)
			pos[k] = [2]int{x, y}
			n := nodes[k]
			gv.Nodes = append(gv.Nodes, graphNode{Name: n.name, Label: clipLabel(n.name), Kind: n.kind,
				X: x, Y: y, W: nodeW, H: nodeH, TextX: x + 10, TextY: y + nodeH/2 + 5})
		}
	}
	for _, k := range order {
		to, ok := pos[k]
		if !ok {
			continue
		}
		for _, up := range nodes[k].deps {
			from, ok := pos[up]
			if !ok {
				continue
			}
			x1, y1 := from[0]+nodeW, from[1]+nodeH/2
			x2, y2 := to[0], to[1]+nodeH/2
			mid := (x1 + x2) / 2
			gv.Edges = append(gv.Edges, graphEdge{Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2-4, y2)})
		}
	}
	return gv
}

func clipLabel(s string) string {
	r := []rune(s)
	if len(r) <= maxText {
		return s
	}
	return string(r[:maxText-1]) + "…"
}
