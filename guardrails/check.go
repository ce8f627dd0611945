package guardrails

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// Source is one relation a body reads, after qualification.
type Source struct {
	// Parts are the qualified name parts (catalog, schema, table) as
	// written, with the defaults filled in; for a table function, its name.
	Parts    []string
	Dataset  string // the pipeline dataset read, when the name is one
	Stream   bool   // read with STREAM
	Function bool   // a table-valued function call, not a table
	Start    sqlscan.Pos
	End      sqlscan.Pos
}

// Name is the qualified name in SQL form, backquoting parts that need it.
func (s Source) Name() string { return displayName(s.Parts) }

// Report is the result of checking one body.
type Report struct {
	Findings  []Finding // every problem, in source order; empty means the body may be sent
	Sources   []Source  // relations read, qualified (including denied ones); a name written twice is listed once, at its first place
	Functions []string  // functions called, as written, without duplicates
}

// CheckBody checks an agent-supplied query body and returns every problem at
// once, in source order. An empty result means the body may be embedded in
// the server's SQL. It never panics and sends nothing anywhere.
func CheckBody(body string, opts CheckOptions) []Finding {
	return Check(body, opts).Findings
}

// Check is CheckBody that also returns what the body reads and calls.
func Check(body string, opts CheckOptions) (rep *Report) {
	defer func() {
		// Fail closed: a bug in a check must refuse the body, not crash the
		// server or let the body through.
		if v := recover(); v != nil {
			rep = &Report{Findings: []Finding{{Rule: RuleInternal, Start: sqlscan.Pos{Line: 1, Col: 1}, End: sqlscan.Pos{Line: 1, Col: 1},
				Message: fmt.Sprintf("the query could not be checked (internal error: %v)", v),
				Hint:    "simplify or rephrase the query; if it keeps failing, report this message to the server operator"}}}
		}
	}()
	c := newCollector(body)
	rep = &Report{}
	if !checkSize(c, body, opts.maxBytes()) {
		rep.Findings = c.finish()
		return rep
	}
	w := getWork()
	defer putWork(w)
	res, err := w.sc.Scan(body) // res and its tokens live until w is reused: nothing below keeps them
	toks := res.Tokens
	checkChars(c, body, toks)
	checkTokens(c, w, toks, opts.maxDepth())
	checkLexError(c, err)
	var e *sqlscan.Error
	if errors.As(err, &e) && e.Rule == sqlscan.RuleTooDeep && !HasRule(c.findings, RuleParenDepth) {
		c.add(RuleParenDepth, e.Pos, e.Pos, "(", fmt.Sprintf("parentheses are nested more than %d deep", sqlscan.MaxDepth),
			"flatten the query: move nested subqueries into CTEs (WITH name AS (...)) and reference them by name")
	}
	checkShape(c, toks)
	ck := &checker{c: c, w: w, opts: &opts, fns: functionsFor(opts.SparkLine)}
	ck.relations(res, rep)
	ck.functions(res, rep)
	rep.Findings = c.finish()
	return rep
}

// statementWords are first words of statements that are not queries, with
// what they do, for the message.
var statementWords = map[string]string{
	"ADD": "loads files or jars", "ALTER": "changes a table", "ANALYZE": "computes statistics",
	"BEGIN": "opens a SQL script", "CACHE": "caches a table", "CALL": "calls a procedure",
	"CLEAR": "clears the cache", "COMMENT": "changes a comment", "CREATE": "creates an object",
	"DECLARE": "declares a variable", "DELETE": "deletes rows", "DESC": "describes an object",
	"DESCRIBE": "describes an object", "DROP": "drops an object", "EXECUTE": "runs dynamic SQL",
	"EXPLAIN": "explains a statement", "GRANT": "grants privileges", "INSERT": "writes rows",
	"LIST": "lists resources", "LOAD": "loads files into a table", "MERGE": "writes rows",
	"MSCK": "repairs a table", "REFRESH": "refreshes metadata", "REPAIR": "repairs a table",
	"REPLACE": "replaces a table", "RESET": "resets settings", "REVOKE": "revokes privileges",
	"SET": "changes a setting", "SHOW": "shows metadata", "TRUNCATE": "deletes all rows",
	"UNCACHE": "uncaches a table", "UPDATE": "changes rows", "USE": "changes the current catalog or schema",
}

// checkShape requires the body to start a query, and reports writes and
// other statements inside it and the dangerous constructs that are not tied
// to one relation. One pass over the significant tokens, each keyword
// looked up once.
func checkShape(c *collector, toks []sqlscan.Token) {
	var t *sqlscan.Token // the previous significant token
	first := true        // t is the first significant token
	for j := range toks {
		n := &toks[j]
		if n.Kind == sqlscan.Comment || n.Kind == sqlscan.Hint {
			continue
		}
		if t != nil {
			if first {
				checkFirst(c, t)
			}
			if shapeKeywords[t.KeywordID()] {
				checkPair(c, t, n, first)
			}
			first = false
		}
		t = n
	}
	if t == nil {
		c.add(RuleEmpty, sqlscan.Pos{Line: 1, Col: 1}, sqlscan.Pos{Line: 1, Col: 1}, "",
			"the query body is empty",
			"send the body of one query, e.g. SELECT * FROM spark_catalog.samples.orders")
		return
	}
	if first {
		checkFirst(c, t)
	}
	if shapeKeywords[t.KeywordID()] {
		checkPair(c, t, nil, first)
	}
}

// checkPair applies the statement and construct rules to the keyword t
// followed by n (nil at the end of the body).
func checkPair(c *collector, t, n *sqlscan.Token, first bool) {
	kw, nkw := t.Keyword(), ""
	if n != nil {
		nkw = n.Keyword()
		if w := embeddedStatement(kw, nkw, n); w != "" && !first {
			if c.room(RuleStatement) {
				c.add(RuleStatement, t.Start, n.End, t.Text+" "+n.Text,
					fmt.Sprintf("%s %s at %d:%d %s; a body may only read", t.Text, n.Text, t.Start.Line, t.Start.Col, w),
					"remove the statement and send only the query; the server writes datasets itself (declare_table, declare_flow)")
			}
		}
	}
	checkConstruct(c, kw, nkw, t, n)
}

// shapeKeywords marks, by sqlscan.KeywordID, the keywords embeddedStatement
// and checkConstruct look at: the only ones after which checkShape looks
// twice. TestShapeKeywords keeps it in step with those functions.
var shapeKeywords = func() []bool {
	t := make([]bool, sqlscan.KeywordCount())
	for _, w := range shapeWords {
		t[sqlscan.KeywordIDOf(w)] = true
	}
	t[0] = false
	return t
}()

var shapeWords = []string{"INSERT", "DELETE", "MERGE", "TRUNCATE", "LOAD", "DROP", "CREATE", "ALTER",
	"CACHE", "UNCACHE", "REFRESH", "CLEAR", "MSCK", "EXECUTE", "ADD",
	"USING", "RECORDREADER", "RECORDWRITER", "ROW", "IDENTIFIER", "WITH"}

// objectWords follow DROP, CREATE and ALTER in statements.
var objectWords = map[string]bool{"TABLE": true, "VIEW": true, "FUNCTION": true, "SCHEMA": true,
	"DATABASE": true, "NAMESPACE": true, "TEMPORARY": true, "TEMP": true, "OR": true, "GLOBAL": true,
	"EXTERNAL": true, "MATERIALIZED": true, "STREAMING": true, "INDEX": true, "CATALOG": true,
	"FLOW": true, "VARIABLE": true, "ROLE": true}

// embeddedStatement reports what the statement starting with keyword kw
// (followed by the token n, keyword nkw) does, or "" when they do not start
// a statement. Two words are needed so that columns named like keywords
// (delete, comment) pass.
func embeddedStatement(kw, nkw string, n *sqlscan.Token) string {
	switch kw {
	case "INSERT":
		if nkw == "INTO" || nkw == "OVERWRITE" || nkw == "TABLE" {
			return "writes data"
		}
	case "DELETE":
		if nkw == "FROM" {
			return "writes data"
		}
	case "MERGE":
		if nkw == "INTO" || nkw == "WITH" {
			return "writes data"
		}
	case "TRUNCATE":
		if nkw == "TABLE" {
			return "writes data"
		}
	case "LOAD":
		if nkw == "DATA" {
			return "writes data"
		}
	case "DROP", "CREATE", "ALTER":
		if objectWords[nkw] {
			return "changes the catalog"
		}
	case "CACHE":
		if nkw == "TABLE" || nkw == "LAZY" {
			return "changes shared state"
		}
	case "UNCACHE", "REFRESH":
		if nkw == "TABLE" || nkw == "FUNCTION" {
			return "changes shared state"
		}
	case "CLEAR":
		if nkw == "CACHE" {
			return "changes shared state"
		}
	case "MSCK":
		if nkw == "REPAIR" {
			return "changes shared state"
		}
	case "EXECUTE":
		if nkw == "IMMEDIATE" {
			return "runs dynamic SQL"
		}
	case "ADD":
		switch strings.ToUpper(n.Text) {
		case "JAR", "JARS", "FILE", "FILES", "ARCHIVE", "ARCHIVES":
			return "loads code or files"
		}
	}
	return ""
}

// checkConstruct applies the rules on dangerous constructs that are not
// tied to one relation, at keyword t (kw) followed by n (nkw; n may be nil).
func checkConstruct(c *collector, kw, nkw string, t, n *sqlscan.Token) {
	switch {
	case kw == "USING" && n != nil && n.Kind == sqlscan.String:
		if c.room(RuleScriptTransform) {
			c.add(RuleScriptTransform, t.Start, n.End, t.Text+" "+n.Text,
				fmt.Sprintf("USING %s at %d:%d runs a shell command (script transform)", quote(n.Text), t.Start.Line, t.Start.Col),
				"remove TRANSFORM/MAP/REDUCE ... USING '...'; compute the columns with built-in SQL functions instead")
		}
	case kw == "RECORDREADER" || kw == "RECORDWRITER":
		if c.room(RuleScriptTransform) {
			c.add(RuleScriptTransform, t.Start, t.End, t.Text,
				fmt.Sprintf("%s at %d:%d loads a class for a script transform", t.Text, t.Start.Line, t.Start.Col),
				"remove the script transform; compute the columns with built-in SQL functions instead")
		}
	case kw == "ROW" && nkw == "FORMAT":
		if c.room(RuleScriptTransform) {
			c.add(RuleScriptTransform, t.Start, n.End, t.Text+" "+n.Text,
				fmt.Sprintf("ROW FORMAT at %d:%d belongs to a script transform", t.Start.Line, t.Start.Col),
				"remove the script transform; compute the columns with built-in SQL functions instead")
		}
	case kw == "IDENTIFIER" && n != nil && n.Kind == sqlscan.Punct && n.Text == "(":
		if c.room(RuleIdentifierClause) {
			c.add(RuleIdentifierClause, t.Start, n.End, t.Text+"(",
				fmt.Sprintf("IDENTIFIER(...) at %d:%d computes a name at run time", t.Start.Line, t.Start.Col),
				"write the table, column or function name directly, e.g. FROM spark_catalog.samples.orders")
		}
	case kw == "WITH" && nkw == "RECURSIVE":
		if c.room(RuleRecursiveCTE) {
			c.add(RuleRecursiveCTE, t.Start, n.End, t.Text+" "+n.Text,
				fmt.Sprintf("WITH RECURSIVE at %d:%d is not allowed", t.Start.Line, t.Start.Col),
				"rewrite the query without recursion, e.g. with a join against a range(...) of the depths you need")
		}
	}
}

// checkFirst requires the first significant token to start a query.
func checkFirst(c *collector, first *sqlscan.Token) {
	switch {
	case first.Kind == sqlscan.Punct && first.Text == "(":
		return
	case first.Is("SELECT"), first.Is("WITH"), first.Is("FROM"), first.Is("VALUES"), first.Is("TABLE"):
		return
	}
	what := "is not the start of a query"
	if d, ok := statementWords[strings.ToUpper(first.Text)]; ok && first.Kind == sqlscan.Keyword {
		what = "starts a statement that " + d + ", not a query"
	}
	c.add(RuleNotQuery, first.Start, first.End, first.Text,
		fmt.Sprintf("the body starts with %s, which %s", quote(first.Text), what),
		"send only the body of one query, starting with SELECT, WITH, FROM, VALUES or TABLE; the server creates and writes the datasets itself (declare_table, declare_flow)")
}

// checker applies the relation and function allow-lists.
type checker struct {
	c       *collector
	w       *work
	opts    *CheckOptions
	fns     *lineFunctions // the target Spark line's built-ins
	allowed string         // summary of what may be read, built on first use
	parts   []string       // store of the report's source name parts
	globs   [][]string     // AllowedSources split and lower-cased, built on first use
}

func (k *checker) allowedSummary() string {
	if k.allowed != "" {
		return k.allowed
	}
	var parts []string
	srcs := k.opts.AllowedSources
	if len(srcs) == 0 {
		parts = append(parts, "no sources are allowed")
	} else {
		list := srcs
		if len(list) > 6 {
			list = list[:6]
		}
		s := "allowed: " + strings.Join(list, ", ")
		if len(srcs) > len(list) {
			s += fmt.Sprintf(" and %d more", len(srcs)-len(list))
		}
		parts = append(parts, s)
	}
	if len(k.opts.Datasets) > 0 {
		list := k.opts.Datasets
		if len(list) > 6 {
			list = list[:6]
		}
		s := "this pipeline's datasets: " + strings.Join(list, ", ")
		if len(k.opts.Datasets) > len(list) {
			s += fmt.Sprintf(" and %d more", len(k.opts.Datasets)-len(list))
		}
		parts = append(parts, s)
	}
	k.allowed = strings.Join(parts, "; ")
	return k.allowed
}
