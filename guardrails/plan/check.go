package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// Rule ids of the plan check. They are stable: tools, audit records and
// tests match on them.
const (
	RuleSource         = "plan.source"          // a relation read directly is not allowed
	RuleStaticMismatch = "plan.static_mismatch" // the plan reads a relation the static scan did not find
	RuleViewMismatch   = "plan.view_mismatch"   // a relation under a view that the view's own plan does not read
	RuleScript         = "plan.script"          // a script transform (ScriptTransformation)
	RuleLeaf           = "plan.leaf"            // a leaf operator outside the known list
	RulePath           = "plan.path"            // a file relation without a table name
	RuleLineBreak      = "plan.line_break"      // a literal or quoted name holding a line break
	RuleUnreadable     = "plan.unreadable"      // the plan text could not be read
)

// Options says what a plan may read. Nothing in it comes from the agent.
type Options struct {
	// AllowedSources are three-part globs "catalog.schema.table", as in
	// guardrails.CheckOptions.
	AllowedSources []string
	// Catalog and Schema hold the pipeline's datasets.
	Catalog, Schema string
	// Datasets are the names of the pipeline's datasets; they may be read.
	Datasets []string
	// Static are the relations the static scan (guardrails.Check) found in
	// SQL; every relation the plan reads directly must be one of them.
	Static []guardrails.Source
	// ViewReads maps the name (as Relation.Name gives it) of each view the
	// query reads directly to the names of every relation the view's own
	// plan reads. When set, a relation under a view must be one of them,
	// and a view missing from the map is refused; nil skips the check.
	ViewReads map[string][]string
	// SQL is the exact text whose plan is checked. Required: its literals
	// and quoted names are checked for line breaks.
	SQL string
}

// Check applies the plan rules to p and returns every finding, in plan
// order, without repeats. Positions are zero: a plan finding is about the
// whole query. A nil p is refused as unreadable.
func Check(p *Plan, opts Options) []guardrails.Finding {
	c := &checker{opts: &opts}
	c.lineBreaks(opts.SQL)
	if p == nil {
		c.add(RuleUnreadable, "", "there is no plan to check", hintUnreadable)
		return c.out
	}
	for _, n := range p.Nodes {
		switch {
		case n.Name == "ScriptTransformation":
			cmd, _, _ := strings.Cut(n.Args, ", [")
			c.add(RuleScript, cmd,
				fmt.Sprintf("the query runs the command %s through a script transform", guardrails.Quote(cmd)),
				"remove TRANSFORM/MAP/REDUCE ... USING '...'; compute the columns with built-in SQL functions instead")
		case n.Leaf() && !known(n.Name):
			c.add(RuleLeaf, n.Name,
				fmt.Sprintf("the plan reads from a %s operator, which the plan check does not know", n.Name),
				"read catalog tables, views, VALUES, range(...) or WITH queries only")
		}
	}
	static := map[string]bool{}
	for _, s := range opts.Static {
		if !s.Function {
			static[key(s.Parts)] = true
		}
	}
	for _, r := range p.Relations {
		c.relation(r, static)
	}
	return c.out
}

func known(leaf string) bool {
	_, ok := leaves[leaf]
	return ok
}

// Unreadable is the finding for a plan text Parse could not read.
func Unreadable(err error) guardrails.Finding {
	return guardrails.Finding{Rule: RuleUnreadable, Message: fmt.Sprintf("the plan Spark returned for the query could not be read with certainty (%v), so the query is refused", err),
		Hint: hintUnreadable}
}

const hintUnreadable = "simplify the query; if it keeps failing, report this message to the server operator"

type checker struct {
	opts    *Options
	out     []guardrails.Finding
	allowed string
}

func (c *checker) add(rule, got, msg, hint string) {
	got = guardrails.Shorten(got)
	for _, f := range c.out {
		if f.Rule == rule && f.Got == got {
			return
		}
	}
	c.out = append(c.out, guardrails.Finding{Rule: rule, Got: got, Message: msg, Hint: hint})
}

// relation checks one relation of the plan.
func (c *checker) relation(r Relation, static map[string]bool) {
	o := c.opts
	what := "table"
	if r.View {
		what = "view"
	}
	if r.Streaming {
		what = "streaming read of table"
	}
	name := r.Name()
	switch {
	case r.Parts == nil:
		c.add(RulePath, r.Node.Name+" "+r.Node.Args,
			fmt.Sprintf("the plan reads files that have no table name (%s)", guardrails.Quote(r.Node.Name+" "+r.Node.Args)),
			"read a catalog table instead ("+c.summary()+")")
		return
	case !r.Direct():
		via := JoinName(r.Via)
		if o.ViewReads == nil {
			return
		}
		reads, ok := o.ViewReads[via]
		switch {
		case !ok:
			c.add(RuleViewMismatch, via,
				fmt.Sprintf("the plan reads %s %s through view %s, whose own plan could not be checked", what, name, via),
				hintUnreadable)
		case !slices.Contains(reads, name):
			c.add(RuleViewMismatch, name,
				fmt.Sprintf("the plan reads %s %s under view %s, but the view's own plan does not read it", what, name, via),
				"read the view or allowed tables by name only; "+hintUnreadable)
		}
		return
	}
	if !c.allowedName(r.Parts) {
		c.add(RuleSource, name,
			fmt.Sprintf("Spark resolves the query to read %s %s, which is not an allowed source or a dataset of this pipeline (%s)", what, name, c.summary()),
			"read one of the allowed sources or datasets, qualified as catalog.schema.table; list_sources shows what may be read")
	}
	if !static[key(r.Parts)] {
		c.add(RuleStaticMismatch, name,
			fmt.Sprintf("Spark's plan reads %s %s, which the static check of the query text did not find; the text and the plan must agree", what, name),
			"name every table plainly as catalog.schema.table after FROM or JOIN, and avoid constructs that compute or hide table names")
	}
}

func (c *checker) allowedName(parts []string) bool {
	o := c.opts
	if len(parts) == 3 && strings.EqualFold(parts[0], o.Catalog) && strings.EqualFold(parts[1], o.Schema) &&
		slices.ContainsFunc(o.Datasets, func(d string) bool { return strings.EqualFold(d, parts[2]) }) {
		return true
	}
	return guardrails.MatchSource(o.AllowedSources, parts)
}

// summary says what may be read, for messages.
func (c *checker) summary() string {
	if c.allowed != "" {
		return c.allowed
	}
	list := func(what string, xs []string) string {
		s := what + ": " + strings.Join(xs[:min(len(xs), 6)], ", ")
		if len(xs) > 6 {
			s += fmt.Sprintf(" and %d more", len(xs)-6)
		}
		return s
	}
	var parts []string
	if len(c.opts.AllowedSources) == 0 {
		parts = append(parts, "no sources are allowed")
	} else {
		parts = append(parts, list("allowed", c.opts.AllowedSources))
	}
	if len(c.opts.Datasets) > 0 {
		parts = append(parts, list("this pipeline's datasets", c.opts.Datasets))
	}
	c.allowed = strings.Join(parts, "; ")
	return c.allowed
}

// LineBreaks is the part of Check that needs only the query text: it
// refuses literals and quoted names that hold a line break (Spark prints
// them verbatim in the plan, where they could pass for lines of the tree),
// and a text that is empty or does not tokenize. Callers use it to explain
// a plan Parse refused.
func LineBreaks(sql string) []guardrails.Finding {
	c := &checker{opts: &Options{SQL: sql}}
	c.lineBreaks(sql)
	return c.out
}

func (c *checker) lineBreaks(sql string) {
	if sql == "" {
		c.add(RuleUnreadable, "", "no query text was given to check the plan against", hintUnreadable)
		return
	}
	toks, err := sqlscan.Tokenize(sql)
	if err != nil {
		c.add(RuleUnreadable, "", fmt.Sprintf("the query text could not be tokenized to check its literals (%v)", err), hintUnreadable)
	}
	for _, t := range toks {
		var bad bool
		switch t.Kind {
		case sqlscan.String, sqlscan.QuotedIdent:
			bad = strings.ContainsAny(t.Value, "\n\r")
		case sqlscan.Hint:
			bad = strings.ContainsAny(t.Text, "\n\r\\")
		}
		if bad {
			c.add(RuleLineBreak, t.Text,
				fmt.Sprintf("%s in the query holds a line break; Spark prints it verbatim in the plan, which is checked line by line", guardrails.Quote(t.Text)),
				"remove the line break, or build the value at run time, e.g. concat('a', char(10), 'b')")
		}
	}
}

// key is a relation name for lookups: lower-cased parts joined by NUL.
func key(parts []string) string { return strings.ToLower(strings.Join(parts, "\x00")) }
