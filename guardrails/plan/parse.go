package plan

import (
	"fmt"
	"strings"
)

// sections are the headers of an extended explain, in the order Spark
// prints them. Each must appear exactly once, alone on its line.
var sections = [...]string{
	"== Parsed Logical Plan ==",
	"== Analyzed Logical Plan ==",
	"== Optimized Logical Plan ==",
	"== Physical Plan ==",
}

// Plan is the analyzed logical plan of one query, read from the text of an
// extended explain.
type Plan struct {
	// Schema is the line that names the plan's output columns and types,
	// e.g. "id: int, name: string".
	Schema string
	// Root is the plan's top operator.
	Root *Node
	// Nodes are every operator, in the order Spark prints them (depth
	// first, an operator's subqueries before its children).
	Nodes []*Node
	// Relations are the tables and views the plan reads, in print order.
	Relations []Relation
}

// Node is one operator of a plan.
type Node struct {
	// Name is the operator as printed, e.g. Project, SubqueryAlias, Relation.
	Name string
	// Args is the rest of its line: after the name and one space, or from
	// the '[' or '(' that follows the name directly.
	Args string
	// Line is the 1-based line of the explain text the operator is on.
	Line int
	// Streaming is set for operators of a streaming plan (printed with '~').
	Streaming bool
	// Parent is the operator whose child or subquery this one is; nil for
	// the root.
	Parent *Node
	// Children are the operator's inputs.
	Children []*Node
	// Subqueries are the plans of subquery expressions of the operator (IN,
	// EXISTS, scalar and lateral subqueries), which Spark prints before the
	// children.
	Subqueries []*Node

	depth int
	last  bool   // printed with "+- ": the last of its group
	bar   string // the unit its subqueries carry in its column, once one is seen
	view  *Node  // the outermost View above it
}

// Leaf reports whether the operator has no inputs (it may still have
// subqueries).
func (n *Node) Leaf() bool { return len(n.Children) == 0 }

// ParseError says why an explain text could not be read.
type ParseError struct {
	Line   int // 1-based line of the explain text; 0 when about the whole text
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Reason
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

func parseErr(line int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// Parse reads the analyzed logical plan out of the text of an extended
// explain (all four sections must be present, each once). It fails closed:
// anything it cannot read with certainty is a *ParseError, never a partial
// plan. It never panics.
func Parse(explain string) (*Plan, error) {
	lines := strings.Split(explain, "\n")
	at := [len(sections)]int{}
	for h := range at {
		at[h] = -1
	}
	for i, l := range lines {
		for h, s := range sections {
			if l != s {
				continue
			}
			if at[h] >= 0 {
				return nil, parseErr(i+1, "the section header %q appears a second time", s)
			}
			at[h] = i
		}
	}
	for h, s := range sections {
		switch {
		case at[h] < 0:
			return nil, parseErr(0, "the section header %q is missing", s)
		case h > 0 && at[h] < at[h-1]:
			return nil, parseErr(at[h]+1, "the section header %q comes before %q", s, sections[h-1])
		}
	}
	first := at[1] + 1 // index of the schema line
	body := lines[first:at[2]]
	// The section is the schema line, one line per operator, then the
	// empty line that separates sections.
	if len(body) < 3 || body[len(body)-1] != "" {
		return nil, parseErr(at[1]+1, "the analyzed plan section is not a schema line, operators and an empty line")
	}
	body = body[:len(body)-1]
	if body[0] == "" {
		return nil, parseErr(first+1, "the analyzed plan has no schema line")
	}
	p := &Plan{Schema: body[0]}
	b := &builder{p: p}
	for i, l := range body[1:] {
		if err := b.add(l, first+2+i); err != nil {
			return nil, err
		}
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	if err := p.collect(); err != nil {
		return nil, err
	}
	return p, nil
}

// Tree lines start with units of three characters: "   " or ":  " for each
// level above the operator's group, then its connector, "+- " for the last
// operator of a group and ":- " for the others. The root has none.
const (
	unitBlank = "   "
	unitBar   = ":  "
	connLast  = "+- "
	connMore  = ":- "
)

// splitPrefix splits a tree line into its units and the operator text.
func splitPrefix(line string) (units []string, rest string) {
	for i := 0; i+3 <= len(line); i += 3 {
		switch u := line[i : i+3]; u {
		case unitBlank, unitBar:
			units = append(units, u)
		case connLast, connMore:
			return append(units, u), line[i+3:]
		default:
			return units, line[i:]
		}
	}
	return units, line[3*len(units):]
}

// builder assembles the tree line by line.
type builder struct {
	p *Plan
	// path[d] is the latest operator at depth d on the current branch, nil
	// at the level a subquery skips.
	path []*Node
	// cont[k] is the unit the lines below the current branch carry in
	// column k.
	cont []string
}

func (b *builder) add(line string, no int) error {
	units, rest := splitPrefix(line)
	d := len(units)
	if d > 0 && units[d-1] != connLast && units[d-1] != connMore {
		return parseErr(no, "the line does not start with an operator or a tree connector")
	}
	n, err := parseOperator(rest)
	if err != nil {
		return parseErr(no, "%s", err)
	}
	n.Line, n.depth = no, d
	if d == 0 {
		if b.p.Root != nil {
			return parseErr(no, "a second top-level operator")
		}
		b.p.Root = n
		b.p.Nodes = append(b.p.Nodes, n)
		b.path, b.cont = append(b.path[:0], n), b.cont[:0]
		return nil
	}
	n.last = units[d-1] == connLast
	unit := unitBar
	if n.last {
		unit = unitBlank
	}
	switch {
	case d <= len(b.path) && b.path[d-1] != nil: // a child of path[d-1]
		if !equalUnits(units[:d-1], b.cont[:d-1]) {
			return parseErr(no, "the tree connectors do not line up with the operators above")
		}
		parent := b.path[d-1]
		n.Parent = parent
		parent.Children = append(parent.Children, n)
		b.path = append(b.path[:d], n)
		b.cont = append(b.cont[:d-1], unit)
	case d >= 2 && d-1 <= len(b.path) && b.path[d-2] != nil: // a subquery of path[d-2]
		owner := b.path[d-2]
		flag := units[d-2]
		if !equalUnits(units[:d-2], b.cont[:d-2]) || owner.bar != "" && owner.bar != flag {
			return parseErr(no, "the tree connectors do not line up with the operators above")
		}
		owner.bar = flag
		n.Parent = owner
		owner.Subqueries = append(owner.Subqueries, n)
		b.path = append(append(b.path[:d-1], nil), n)
		b.cont = append(append(b.cont[:d-2], flag), unit)
	default:
		return parseErr(no, "the operator is nested deeper than the operators above allow")
	}
	b.p.Nodes = append(b.p.Nodes, n)
	return nil
}

func equalUnits(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// finish checks what only the whole tree tells: every group of children or
// subqueries ends with exactly one "+- ", and the column of an operator's
// subqueries carries a bar exactly when children follow them.
func (b *builder) finish() error {
	if b.p.Root == nil {
		return parseErr(0, "the analyzed plan has no operators")
	}
	for _, n := range b.p.Nodes {
		for _, group := range [][]*Node{n.Subqueries, n.Children} {
			for i, c := range group {
				if c.last != (i == len(group)-1) {
					return parseErr(c.Line, "the tree connector does not match the operator's place among its siblings")
				}
			}
		}
		if len(n.Subqueries) > 0 && (n.bar == unitBar) != (len(n.Children) > 0) {
			return parseErr(n.Subqueries[0].Line, "the subqueries of %s do not line up with its children", n.Name)
		}
	}
	return nil
}

// parseOperator reads "[~]Name[ args]": the operator's name, then the end of
// the line, a space, '[' or '('. The "'" of an unresolved operator and the
// "!" of one with missing inputs cannot appear in a plan Spark analyzed
// successfully, so they are refused.
func parseOperator(s string) (*Node, error) {
	n := &Node{}
	switch {
	case strings.HasPrefix(s, "'"):
		return nil, fmt.Errorf("an unresolved operator in the analyzed plan")
	case strings.HasPrefix(s, "!"):
		return nil, fmt.Errorf("an operator with missing inputs in the analyzed plan")
	case strings.HasPrefix(s, "~"):
		n.Streaming = true
		s = s[1:]
	}
	i := 0
	for i < len(s) && (isLetter(s[i]) || i > 0 && (isDigit(s[i]) || s[i] == '_')) {
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("the line does not name an operator")
	}
	n.Name = s[:i]
	switch {
	case i == len(s):
	case s[i] == ' ':
		n.Args = s[i+1:]
	case s[i] == '[' || s[i] == '(':
		n.Args = s[i:]
	default:
		return nil, fmt.Errorf("the operator name %q runs into %q", n.Name, s[i])
	}
	return n, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
