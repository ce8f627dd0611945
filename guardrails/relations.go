package guardrails

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// relations checks every relation the scanner found. Each reference is
// checked where it stands; rep.Sources lists each distinct reference once,
// in order of first appearance, and a name written again is qualified and
// matched only the first time.
func (k *checker) relations(res *sqlscan.Result, rep *Report) {
	c := k.c
	for i := range res.Relations {
		r := &res.Relations[i]
		got := c.body[r.Start.Offset:r.End.Offset]
		at := lazyPos(r.Start)
		if r.Dynamic {
			continue // reported as sql.identifier_clause
		}
		if r.Function != "" {
			key := srcKey{text: got, stream: r.Stream, function: true}
			if _, seen := k.w.sources[key]; !seen {
				k.w.sources[key] = srcSeen{ok: true}
				rep.Sources = append(rep.Sources, Source{Parts: []string{r.Function}, Function: true, Stream: r.Stream, Start: r.Start, End: r.End})
			}
			k.tableFunction(r, got, at)
			continue
		}
		if r.Stream && !k.opts.AllowStream {
			if c.room(RuleStream) {
				c.add(RuleStream, r.Start, r.End, got,
					fmt.Sprintf("STREAM read of %s at %s is only allowed in streaming tables and flows", quote(got), at),
					"read it as a batch table without STREAM, or declare a streaming table or flow for a streaming read")
			}
		}
		if r.Path {
			if c.room(RulePathRead) {
				c.add(RulePathRead, r.Start, r.End, got,
					fmt.Sprintf("%s at %s reads files by path", quote(got), at),
					"read a catalog table instead ("+k.allowedSummary()+")")
			}
			continue
		}
		if r.TimeTravel {
			if c.room(RuleTimeTravel) {
				c.add(RuleTimeTravel, r.Start, r.End, got,
					fmt.Sprintf("time travel on %s at %s reads an earlier version of the table", quote(got), at),
					"remove the VERSION/TIMESTAMP AS OF (or @...) clause; only the current version may be read")
			}
		}
		if r.Changes {
			if c.room(RuleChanges) {
				c.add(RuleChanges, r.Start, r.End, got,
					fmt.Sprintf("CHANGES FROM on %s at %s reads the table's change feed", quote(got), at),
					"remove the CHANGES clause and read the table's current content")
			}
		}
		if r.Options {
			if c.room(RuleTableOptions) {
				c.add(RuleTableOptions, r.Start, r.End, got,
					fmt.Sprintf("the WITH (...) options after %s at %s are not allowed", quote(got), at),
					"remove the WITH (...) clause after the table name")
			}
		}
		for j, p := range r.Parts[:len(r.Parts)-1] {
			if strings.EqualFold(p, "global_temp") && (j == 0 || len(r.Parts) == 3 && j == 1) {
				if c.room(RuleGlobalTemp) {
					c.add(RuleGlobalTemp, r.Start, r.End, got,
						fmt.Sprintf("%s at %s is a global temporary view, shared by every session", quote(got), at),
						"read an allowed source instead ("+k.allowedSummary()+")")
				}
			}
		}
		key := srcKey{text: got, stream: r.Stream}
		seen, ok := k.w.sources[key]
		if !ok {
			seen = k.source(r, rep)
			k.w.sources[key] = seen
		}
		switch {
		case !seen.ok:
			if c.room(RuleScopeName) {
				c.add(RuleScopeName, r.Start, r.End, got,
					fmt.Sprintf("the table name %s at %s cannot be qualified as catalog.schema.table", quote(got), at),
					"name the table as catalog.schema.table ("+k.allowedSummary()+")")
			}
		case !seen.allowed:
			if c.room(RuleScopeRead) {
				c.add(RuleScopeRead, r.Start, r.End, got,
					fmt.Sprintf("source %s is not an allowed source (%s); read one of those instead", displayName(seen.parts), k.allowedSummary()),
					"read one of the allowed sources or datasets, qualified as catalog.schema.table; list_sources shows what may be read")
			}
		}
	}
}

// source qualifies the first reference to a name, adds it to rep.Sources
// and says whether it may be read.
func (k *checker) source(r *sqlscan.Relation, rep *Report) srcSeen {
	var buf [3]string
	parts, dataset, ok := k.qualify(r.Parts, &buf)
	// The scanner's name parts live only until its next scan: copy them to
	// the report's own store (a slice of it per source, capped so that
	// appends never overlap).
	if len(k.parts)+len(parts) > cap(k.parts) {
		k.parts = make([]string, 0, max(2*cap(k.parts), 3*len(rep.Sources)+16, len(parts)))
	}
	at := len(k.parts)
	k.parts = append(k.parts, parts...)
	parts = k.parts[at:len(k.parts):len(k.parts)]
	rep.Sources = append(rep.Sources, Source{Parts: parts, Dataset: dataset, Stream: r.Stream, Start: r.Start, End: r.End})
	return srcSeen{ok: ok, allowed: ok && (dataset != "" || k.allowedSource(parts)), parts: parts}
}

func (k *checker) tableFunction(r *sqlscan.Relation, got string, at lazyPos) {
	if k.fns.tables[strings.ToLower(r.Function)] {
		return
	}
	if k.c.room(RuleTableFunction) {
		k.c.add(RuleTableFunction, r.Start, r.End, got,
			fmt.Sprintf("table function %s at %s is not allowed in FROM", quote(r.Function), at),
			"read an allowed table instead ("+k.allowedSummary()+"); the allowed table functions are range, unnest and the built-in generators (explode, inline, posexplode, stack, json_tuple, ...)")
	}
}

// qualify fills in the default catalog and schema, in buf when it adds
// parts. It returns the parts, the
// dataset name when the relation is a pipeline dataset, and false when the
// name cannot be qualified.
func (k *checker) qualify(parts []string, buf *[3]string) ([]string, string, bool) {
	o := k.opts
	for _, p := range parts {
		if p == "" {
			return parts, "", false
		}
	}
	var q []string
	switch len(parts) {
	case 1:
		*buf = [3]string{o.DefaultCatalog, o.DefaultSchema, parts[0]}
		if d := k.dataset(parts[0]); d != "" {
			return buf[:], d, true
		}
		q = buf[:]
	case 2:
		*buf = [3]string{o.DefaultCatalog, parts[0], parts[1]}
		q = buf[:]
	case 3:
		q = parts
	default:
		return parts, "", false
	}
	if q[0] == "" || q[1] == "" {
		return parts, "", false
	}
	if strings.EqualFold(q[0], o.DefaultCatalog) && strings.EqualFold(q[1], o.DefaultSchema) {
		if d := k.dataset(q[2]); d != "" {
			return q, d, true
		}
	}
	return q, "", true
}

func (k *checker) dataset(name string) string {
	for _, d := range k.opts.Datasets {
		if strings.EqualFold(d, name) {
			return d
		}
	}
	return ""
}

func (k *checker) allowedSource(parts []string) bool {
	if k.globs == nil {
		k.globs = make([][]string, len(k.opts.AllowedSources))
		for i, g := range k.opts.AllowedSources {
			k.globs[i] = strings.Split(strings.ToLower(g), ".")
		}
	}
	for _, g := range k.globs {
		if matchGlobParts(g, parts) {
			return true
		}
	}
	return false
}

// lowerName lower-cases an ASCII name without allocating when it already
// is lower case (the common spelling of function names).
func lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// lazyPos formats a position as line:col when a message uses it.
type lazyPos sqlscan.Pos

// String implements fmt.Stringer.
func (p lazyPos) String() string { return strconv.Itoa(int(p.Line)) + ":" + strconv.Itoa(int(p.Col)) }

// displayName joins name parts with '.', backquoting parts that are not
// plain identifiers.
func displayName(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		if plainIdent(p) {
			b.WriteString(p)
		} else {
			b.WriteString("`" + strings.ReplaceAll(p, "`", "``") + "`")
		}
	}
	return b.String()
}

func plainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// functions checks every function call against the built-in allow-list.
func (k *checker) functions(res *sqlscan.Result, rep *Report) {
	seen := k.w.fns
	for i := range res.Functions {
		f := &res.Functions[i]
		full := f.Name[0]
		if len(f.Name) > 1 {
			full = strings.Join(f.Name, ".")
		}
		passed, ok := seen[full]
		if passed {
			continue // the same name passed every check before
		}
		if !ok {
			rep.Functions = append(rep.Functions, full)
		}
		last := k.w.lowerName(f.Name[len(f.Name)-1])
		if len(f.Name) == 1 && last == "identifier" {
			seen[full] = false
			continue // reported as sql.identifier_clause
		}
		fp := k.opts.Functions
		if _, denied := deniedFunctions[last]; !denied && k.fns.builtins[last] && len(f.Name) == 1 && fp.allows(last) {
			seen[full] = true
			continue // the common case, decided without formatting anything
		}
		seen[full] = false
		got := k.c.body[f.Start.Offset:f.End.Offset]
		at := lazyPos(f.Start)
		if k.fns.builtins[last] && !fp.allows(last) {
			if k.c.room(RuleFunctionPolicy) {
				k.c.add(RuleFunctionPolicy, f.Start, f.End, got,
					fmt.Sprintf("function %s at %s is not allowed by the server's policy", quote(full), at), fp.hint(last))
			}
			continue
		}
		if why, ok := deniedFunctions[last]; ok {
			if k.c.room(RuleFunctionDenied) {
				k.c.add(RuleFunctionDenied, f.Start, f.End, got,
					fmt.Sprintf("function %s at %s is not allowed: it %s", quote(full), at, why),
					"remove the call; use built-in SQL functions and expressions instead")
			}
			continue
		}
		builtinQualified := len(f.Name) == 1 ||
			len(f.Name) == 2 && strings.EqualFold(f.Name[0], "builtin") ||
			len(f.Name) == 3 && strings.EqualFold(f.Name[0], "system") && strings.EqualFold(f.Name[1], "builtin")
		if builtinQualified && k.fns.builtins[last] {
			seen[full] = true
			continue
		}
		if !k.c.room(RuleFunctionUnknown) {
			continue
		}
		msg := fmt.Sprintf("function %s at %s is not a Spark built-in function; user-defined and catalog functions are not allowed", quote(full), at)
		if !builtinQualified {
			msg = fmt.Sprintf("function %s at %s is a catalog or session function, not a Spark built-in; user-defined functions are not allowed", quote(full), at)
		}
		k.c.add(RuleFunctionUnknown, f.Start, f.End, got, msg,
			"use a Spark built-in function (unqualified, e.g. upper(x)) or compute the value with SQL expressions")
	}
}
