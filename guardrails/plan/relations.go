package plan

import (
	"slices"
	"strings"
)

// Relation is a table or view a plan reads.
type Relation struct {
	// Parts is the qualified name, lower-cased (e.g. spark_catalog, samples,
	// orders); nil for a file relation that has no table name.
	Parts []string
	// Node is the operator that reads it: a table leaf, or the View.
	Node *Node
	// View is set when the relation is a view.
	View bool
	// Via is the qualified name of the outermost view whose definition
	// reads the relation; nil when the query reads it directly.
	Via []string
	// Streaming is set for a streaming read (STREAM t).
	Streaming bool
}

// Direct reports whether the query reads the relation itself rather than
// through a view's definition.
func (r Relation) Direct() bool { return r.Via == nil }

// Name is the qualified name, parts joined with '.' and backquoted where
// needed; "" when the relation has no table name.
func (r Relation) Name() string { return JoinName(r.Parts) }

// leafKind says how a leaf operator names the table it reads.
type leafKind int

const (
	readsNoTable leafKind = iota // VALUES, range(), a CTE, a query without FROM
	namesTable                   // the table's name is in the operator's line
	aliasNames                   // the SubqueryAlias above names the table (streaming reads)
)

// leaves are the leaf operators Spark 4.3 puts in the analyzed plans of SQL
// queries, as observed on the pinned version (see testdata). Any other leaf
// is refused.
var leaves = map[string]leafKind{
	"OneRowRelation":      readsNoTable, // SELECT without FROM; generators in FROM
	"LocalRelation":       readsNoTable, // VALUES with constant rows
	"ResolvedInlineTable": readsNoTable, // VALUES with expressions such as current_date()
	"Range":               readsNoTable, // range(...)
	"CTERelationRef":      readsNoTable, // a reference to a WITH query
	"Relation":            namesTable,   // a file-based table (parquet, orc, Hive tables Spark converts, ...)
	"HiveTableRelation":   namesTable,   // a Hive SerDe table
	"RelationV2":          namesTable,   // a table of a DataSource V2 catalog (e.g. JDBC)
	"StreamingRelation":   aliasNames,   // STREAM over a file-based table
}

// KnownLeaves lists the leaf operators Check accepts, sorted.
func KnownLeaves() []string {
	out := make([]string, 0, len(leaves))
	for k := range leaves {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// collect lists the relations of p and checks that each name reads back.
func (p *Plan) collect() error {
	for _, n := range p.Nodes {
		if par := n.Parent; par != nil {
			n.view = par.view
			if n.view == nil && par.Name == "View" {
				n.view = par
			}
		}
		var parts []string
		var err *nameErr
		switch {
		case n.Name == "View":
			parts, err = viewName(n)
		case n.Leaf() && leaves[n.Name] == namesTable:
			parts, err = tableName(n)
		case n.Leaf() && leaves[n.Name] == aliasNames:
			parts = aliasName(n)
		default:
			continue
		}
		if err != nil {
			return parseErr(n.Line, "%s: %s", n.Name, err.Reason)
		}
		r := Relation{Parts: parts, Node: n, View: n.Name == "View", Streaming: n.Streaming || n.Name == "StreamingRelation"}
		if n.view != nil {
			r.Via, _ = viewName(n.view)
		}
		p.Relations = append(p.Relations, r)
	}
	return nil
}

// Views lists the qualified names of the views the query reads directly,
// without repeats.
func (p *Plan) Views() [][]string {
	var out [][]string
	for _, r := range p.Relations {
		if r.View && r.Direct() && !slices.ContainsFunc(out, func(v []string) bool { return slices.Equal(v, r.Parts) }) {
			out = append(out, r.Parts)
		}
	}
	return out
}

// Reads lists the names (as Relation.Name gives them) of every table and
// view the plan reads, directly or through views, without repeats.
func (p *Plan) Reads() []string {
	var out []string
	for _, r := range p.Relations {
		if n := r.Name(); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// nameErr is a name that does not read back; Reason says why.
type nameErr struct{ Reason string }

// viewName reads "View (`cat`.`db`.`v`, [columns])", and checks that the
// SubqueryAlias above names the same view, as Spark always prints it.
func viewName(n *Node) ([]string, *nameErr) {
	rest, ok := strings.CutPrefix(n.Args, "(")
	if !ok {
		return nil, &nameErr{"expected ( and the view's name"}
	}
	parts, rest, ok := readName(rest)
	if !ok || !strings.HasPrefix(rest, ", [") {
		return nil, &nameErr{"the view's name does not read back"}
	}
	if err := sameAlias(n, parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// tableName reads the name of a table leaf:
//
//	Relation cat.db.t[columns] format   (no name: a file relation without a table)
//	HiveTableRelation [`cat`.`db`.`t`, serde, ...]
//	RelationV2[columns] cat.db.t
//
// A named table must sit under a SubqueryAlias of the same name.
func tableName(n *Node) ([]string, *nameErr) {
	var parts []string
	switch n.Name {
	case "Relation":
		if strings.HasPrefix(n.Args, "[") {
			return nil, nil // no table name: refused by Check as plan.path
		}
		name, _, ok := strings.Cut(n.Args, "[")
		if !ok || strings.Contains(name, "`") {
			return nil, &nameErr{"the table's name does not read back"}
		}
		var rest string
		parts, rest, ok = readName(name)
		if !ok || rest != "" {
			return nil, &nameErr{"the table's name does not read back"}
		}
	case "HiveTableRelation":
		rest, ok := strings.CutPrefix(n.Args, "[")
		if ok {
			parts, rest, ok = readName(rest)
		}
		if !ok || !strings.HasPrefix(rest, ", ") {
			return nil, &nameErr{"the table's name does not read back"}
		}
	case "RelationV2":
		i := strings.LastIndex(n.Args, "] ")
		if !strings.HasPrefix(n.Args, "[") || i < 0 {
			return nil, &nameErr{"expected [columns] and the table's name"}
		}
		var rest string
		var ok bool
		parts, rest, ok = readName(n.Args[i+2:])
		if !ok || rest != "" {
			return nil, &nameErr{"the table's name does not read back"}
		}
	}
	if err := sameAlias(n, parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// aliasName is the name of a streaming leaf, which prints its files but not
// its table: the qualified name of the SubqueryAlias right above it, or nil
// when there is none (a stream over files).
func aliasName(n *Node) []string {
	a := n.Parent
	if a == nil || a.Name != "SubqueryAlias" {
		return nil
	}
	parts, rest, ok := readName(a.Args)
	if !ok || rest != "" || len(parts) < 3 {
		return nil
	}
	return parts
}

// sameAlias checks that the operator's parent is "SubqueryAlias <parts>".
func sameAlias(n *Node, parts []string) *nameErr {
	a := n.Parent
	if a == nil || a.Name != "SubqueryAlias" {
		return &nameErr{"it is not under a SubqueryAlias naming it"}
	}
	got, rest, ok := readName(a.Args)
	if !ok || rest != "" || !slices.Equal(got, parts) {
		return &nameErr{"the SubqueryAlias above names another relation (" + a.Args + ")"}
	}
	return nil
}

// readName reads a dotted name at the start of s: parts of letters, digits
// and '_', or backquoted (a doubled backquote standing for one). Parts are
// lower-cased (Spark resolves names case-insensitively here). It returns
// the rest of s; ok is false when s does not start with a name.
func readName(s string) (parts []string, rest string, ok bool) {
	for {
		var part string
		if strings.HasPrefix(s, "`") {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '`')
				if j < 0 {
					return nil, s, false
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if !strings.HasPrefix(s[i:], "`") {
					break
				}
				b.WriteByte('`')
				i++
			}
			part, s = b.String(), s[i:]
		} else {
			i := 0
			for i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '_') {
				i++
			}
			if i == 0 {
				return nil, s, false
			}
			part, s = s[:i], s[i:]
		}
		parts = append(parts, strings.ToLower(part))
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

// JoinName joins name parts with '.', backquoting the parts that are not
// made of letters, digits and '_' only.
func JoinName(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		plain := p != ""
		for j := 0; j < len(p); j++ {
			if !isLetter(p[j]) && !isDigit(p[j]) && p[j] != '_' {
				plain = false
				break
			}
		}
		if plain {
			b.WriteString(p)
		} else {
			b.WriteString("`" + strings.ReplaceAll(p, "`", "``") + "`")
		}
	}
	return b.String()
}
