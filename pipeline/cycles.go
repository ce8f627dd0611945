package pipeline

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// cycles reports one cycle per strongly connected component, as a path
// from its smallest name back to itself, e.g. "a -> b -> a".
func (g *Graph) cycles() Problems {
	var ps Problems
	for _, comp := range g.components() {
		start := comp[0]
		inComp := map[string]bool{}
		for _, n := range comp {
			inComp[n] = true
		}
		path := g.shortestCycle(start, inComp)
		if path == nil {
			continue
		}
		kind := "dataset"
		if g.elements[start].Kind == FlowKind {
			kind = "flow"
		}
		ps = append(ps, Problem{On: kind, Name: start, Field: "query", Got: strings.Join(path, " -> "),
			Message: "the dependencies form a cycle (each arrow points from what is read to what reads it); a pipeline must be acyclic",
			Fix:     "change one of these queries so it no longer reads the element before it in the cycle"})
	}
	return ps
}

// shortestCycle finds the shortest path start -> ... -> start inside comp.
func (g *Graph) shortestCycle(start string, comp map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, s := range g.succs[n] {
			if !comp[s] {
				continue
			}
			if s == start {
				path := []string{start}
				for at := n; at != start; at = prev[at] {
					path = append(path, at)
				}
				slices.Reverse(path[1:])
				return append(path, start)
			}
			if !seen[s] {
				seen[s] = true
				prev[s] = n
				queue = append(queue, s)
			}
		}
	}
	return nil
}

// components returns the strongly connected components that contain a
// cycle (more than one element, or an element that depends on itself), each
// sorted, in order of their smallest name (Tarjan's algorithm).
func (g *Graph) components() [][]string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	next := 0
	var visit func(n string)
	visit = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, s := range g.succs[n] {
			if _, seen := index[s]; !seen {
				visit(s)
				low[n] = min(low[n], low[s])
			} else if onStack[s] {
				low[n] = min(low[n], index[s])
			}
		}
		if low[n] != index[n] {
			return
		}
		var comp []string
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			comp = append(comp, top)
			if top == n {
				break
			}
		}
		if len(comp) > 1 || slices.Contains(g.succs[n], n) {
			slices.Sort(comp)
			comps = append(comps, comp)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(g.elements)) {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	slices.SortFunc(comps, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	return comps
}
