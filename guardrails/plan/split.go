package plan

import (
	"fmt"
	"slices"
	"strings"
)

// BatchSQL is one query that has Spark analyse several queries side by
// side, each in a FROM subquery of its own (which cannot see its siblings)
// packed into one struct column:
//
//	SELECT struct(`__sdp_mcp_part_0`.*) AS `__sdp_mcp_part_0`, …
//	FROM (
//	q0
//	) AS `__sdp_mcp_part_0`, …
//	WHERE false
//
// The struct fields of column i are the columns of query i; Split cuts the
// analyzed plan into each query's own. WHERE false changes neither, and
// spares Spark the optimisation and physical planning of the join when it
// explains the query (measured: about a quarter of a wide pipeline's
// analysis time). names are the subqueries' names.
// Each query must be a whole query that passed the guard (a line comment
// at its end is closed by the line break after it).
func BatchSQL(queries []string) (sql string, names []string) {
	names = make([]string, len(queries))
	var b strings.Builder
	b.WriteString("SELECT ")
	for i := range queries {
		names[i] = fmt.Sprintf("__sdp_mcp_part_%d", i)
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "struct(`%s`.*) AS `%s`", names[i], names[i])
	}
	b.WriteString("\nFROM ")
	for i, q := range queries {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "(\n%s\n) AS `%s`", q, names[i])
	}
	b.WriteString("\nWHERE false")
	return b.String(), names
}

// Split cuts the plan of several queries analysed side by side (BatchSQL)
// into one plan per query, as a plan of that query alone would read. The
// plan must be a Project without subqueries over a Filter false (or none)
// over inner joins without conditions, whose inputs are SubqueryAlias names[0], names[1], …
// in that order, and nothing else — but for the WITH queries of the parts,
// which Spark may gather in one WithCTE between the Project and the joins.
// Any other shape is a *ParseError, never a partial answer. Part i holds
// the operators under SubqueryAlias names[i] (its subqueries included) and
// under the CTE definitions it refers to, directly or through another
// definition, and the relations they read; its Schema is empty. A
// definition no part or more than one part refers to is an error.
func (p *Plan) Split(names []string) ([]*Plan, error) {
	if len(names) == 0 {
		return nil, parseErr(0, "no parts to split the plan into")
	}
	root := p.Root
	if root == nil || root.Name != "Project" || len(root.Subqueries) > 0 || len(root.Children) != 1 {
		return nil, parseErr(0, "the plan of several parts is not one Project over their join")
	}
	top := root.Children[0]
	if top.Name == "Filter" && top.Args == "false" && len(top.Subqueries) == 0 && len(top.Children) == 1 {
		top = top.Children[0]
	}
	defs := map[string]*Node{} // CTE id → its definition
	if top.Name == "WithCTE" {
		if len(top.Subqueries) > 0 || len(top.Children) < 2 {
			return nil, parseErr(top.Line, "a WithCTE without definitions and a query")
		}
		for _, d := range top.Children[:len(top.Children)-1] {
			id := cteID(d)
			if d.Name != "CTERelationDef" || id == "" || len(d.Subqueries) > 0 || defs[id] != nil {
				return nil, parseErr(d.Line, "the WithCTE above the parts holds %q, not one definition of a WITH query", d.Name+" "+d.Args)
			}
			defs[id] = d
		}
		top = top.Children[len(top.Children)-1]
	}
	var inputs []*Node
	var walk func(n *Node) error
	walk = func(n *Node) error {
		if n.Name == "Join" {
			if n.Args != "Inner" || len(n.Subqueries) > 0 || len(n.Children) != 2 {
				return parseErr(n.Line, "the parts are joined by %q, not by an inner join without a condition", n.Name+" "+n.Args)
			}
			for _, c := range n.Children {
				if err := walk(c); err != nil {
					return err
				}
			}
			return nil
		}
		inputs = append(inputs, n)
		return nil
	}
	if err := walk(top); err != nil {
		return nil, err
	}
	if len(inputs) != len(names) {
		return nil, parseErr(0, "the plan joins %d inputs, not the %d parts sent", len(inputs), len(names))
	}
	at := make(map[*Node]int, len(inputs))
	for i, n := range inputs {
		if n.Name != "SubqueryAlias" || n.Args != names[i] || len(n.Subqueries) > 0 {
			return nil, parseErr(n.Line, "input %d of the join is %q, not the subquery %s", i, n.Name+" "+n.Args, names[i])
		}
		at[n] = i
	}
	parts := make([]*Plan, len(names))
	for i, n := range inputs {
		parts[i] = &Plan{Root: n}
	}
	// part finds the part an operator belongs to: the input above it, or
	// the part that refers to the CTE definition above it.
	owner := map[*Node]int{}
	part := func(n *Node) int {
		for a := n; a != nil; a = a.Parent {
			if i, ok := at[a]; ok {
				return i
			}
			if a.Name == "CTERelationDef" && a.Parent == top.Parent && a.Parent.Name == "WithCTE" {
				if i, ok := owner[a]; ok {
					return i
				}
				return -1
			}
		}
		return -1
	}
	if len(defs) > 0 {
		// Claim definitions from the references of each part, then from
		// the definitions claimed, until nothing changes.
		for changed := true; changed; {
			changed = false
			for _, n := range p.Nodes {
				if n.Name != "CTERelationRef" {
					continue
				}
				d := defs[cteID(n)]
				i := part(n)
				if d == nil || i < 0 {
					continue
				}
				switch j, ok := owner[d]; {
				case !ok:
					owner[d], changed = i, true
				case j != i:
					return nil, parseErr(n.Line, "a WITH query is referred to by two parts")
				}
			}
		}
		if len(owner) != len(defs) {
			return nil, parseErr(0, "a WITH query above the parts is referred to by none of them")
		}
	}
	for _, n := range p.Nodes {
		i := part(n)
		if i < 0 {
			if n != root && n.Name != "Join" && n.Name != "WithCTE" && !(n.Name == "Filter" && n.Parent == root) {
				return nil, parseErr(n.Line, "the operator %s is outside every part", n.Name)
			}
			continue
		}
		parts[i].Nodes = append(parts[i].Nodes, n)
	}
	for _, r := range p.Relations {
		i := part(r.Node)
		if i < 0 {
			return nil, parseErr(r.Node.Line, "the relation %s is read outside every part", r.Name())
		}
		parts[i].Relations = append(parts[i].Relations, r)
	}
	if slices.ContainsFunc(parts, func(q *Plan) bool { return len(q.Nodes) < 2 }) {
		return nil, parseErr(0, "a part of the plan has no operators under its alias")
	}
	return parts, nil
}

// cteID is the id a CTERelationDef or CTERelationRef starts its arguments
// with ("5357, false"); "" when it has none.
func cteID(n *Node) string {
	id, _, ok := strings.Cut(n.Args, ",")
	if !ok || id == "" || strings.Trim(id, "0123456789") != "" {
		return ""
	}
	return id
}
