package pipeline

import (
	"regexp"
	"strings"
)

// Stand-ins. Analysis resolves each query body against its direct
// upstreams' known columns rather than their inlined bodies, so that the
// work per body does not grow with its depth in the graph: every declared
// dataset the body reads becomes a CTE that selects typed constants and no
// rows. The text of a stand-in is written here from the column names and
// types alone: names are backquoted, types are re-rendered from a strict
// grammar, so that nothing in a stand-in can change the statement around it.

// StandInColumn is one known column of an upstream dataset.
type StandInColumn struct {
	Name, Type string
	Nullable   bool
}

// Parts rewrites query bodies of one pipeline for analysis.
type Parts struct {
	in *inliner
}

// NewParts prepares the rewriting of p's bodies. Building it reads every
// declaration once; each body is then rewritten on its own.
func NewParts(p *Pipeline) *Parts {
	in := &inliner{p: p, declared: make(map[string]Dataset, len(p.Datasets))}
	for _, d := range p.Datasets {
		in.declared[d.Name] = d
	}
	return &Parts{in: in}
}

// Body rewrites one body as a preview does (STREAM reads as batch reads,
// declared datasets by their bare quoted name, other names qualified) and
// returns it with the declared datasets it reads, sorted.
func (ps *Parts) Body(on, name, query string) (string, []string, error) {
	if probs := checkQuery(on, name, query); len(probs) > 0 {
		return "", nil, probs
	}
	return ps.in.rewrite(on, name, query)
}

// StandInSQL returns the SQL analysis sends for a rewritten body:
//
//	WITH `up` AS (SELECT CAST(NULL AS int) AS `id`, ... WHERE false), ...
//	SELECT * FROM (
//	<body>
//	) AS `preview`
//
// with one stand-in per dataset in reads, whose columns cols gives. ok is
// false when a column cannot be written as a stand-in (a line break in its
// name, a type outside the grammar): the caller then falls back to
// inlining.
func StandInSQL(body string, reads []string, cols func(dataset string) []StandInColumn) (string, bool) {
	var b strings.Builder
	for i, r := range reads {
		if i == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(",\n")
		}
		s, ok := standIn(cols(r))
		if !ok {
			return "", false
		}
		b.WriteString(quoteIdent(r) + " AS (" + s + ")")
	}
	if len(reads) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("SELECT * FROM (\n" + body + "\n) AS `preview`")
	return b.String(), true
}

// standIn is the SELECT of one stand-in: one typed constant per column and
// no rows. A column that is not nullable gets a typed non-null literal when
// its type has one; others are a typed NULL.
func standIn(cols []StandInColumn) (string, bool) {
	if len(cols) == 0 {
		return "", false
	}
	items := make([]string, len(cols))
	for i, c := range cols {
		if strings.ContainsAny(c.Name, "\r\n\u2028\u2029") {
			return "", false
		}
		t, ok := renderType(c.Type)
		if !ok {
			return "", false
		}
		v := "CAST(NULL AS " + t + ")"
		if lit, ok := nonNull[t]; ok && !c.Nullable {
			v = lit
		}
		items[i] = v + " AS " + quoteIdent(c.Name)
	}
	return "SELECT " + strings.Join(items, ", ") + " WHERE false", true
}

// nonNull are literals, typed and never null, of the simple types.
var nonNull = map[string]string{
	"boolean": "false", "tinyint": "0Y", "smallint": "0S", "int": "0", "bigint": "0L",
	"float": "0F", "double": "0D", "string": "''", "binary": "X''",
	"date": "DATE'1970-01-01'", "timestamp": "TIMESTAMP'1970-01-01 00:00:00Z'",
	"timestamp_ntz": "TIMESTAMP_NTZ'1970-01-01 00:00:00'",
}

var (
	simpleTypes = map[string]bool{
		"void": true, "binary": true, "boolean": true, "tinyint": true, "smallint": true, "int": true,
		"bigint": true, "float": true, "double": true, "string": true, "date": true, "timestamp": true,
		"timestamp_ntz": true, "interval": true, "variant": true,
	}
	sizedTypeRE   = regexp.MustCompile(`^(decimal\(\d{1,2},\d{1,2}\)|char\(\d{1,5}\)|varchar\(\d{1,5}\)|time\(\d\))`)
	intervalRE    = regexp.MustCompile(`^interval (year|month|day|hour|minute|second)( to (year|month|day|hour|minute|second))?`)
	collationRE   = regexp.MustCompile(`^ collate [A-Za-z0-9_]{1,64}`)
	fieldRE       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}:`)
	simpleTokenRE = regexp.MustCompile(`^[a-z_]+`)
)

// renderType re-renders a Spark type name (as connect writes it) from a
// strict grammar: simple and sized types, intervals, collations, and
// array, map and struct of those, struct fields named by plain identifiers.
// Anything else is refused.
func renderType(t string) (string, bool) {
	out, rest, ok := parseType(t, 0)
	if !ok || rest != "" {
		return "", false
	}
	return out, true
}

// parseType reads one type at the start of s and returns it rendered, with
// what follows it.
func parseType(s string, depth int) (string, string, bool) {
	if depth > 32 {
		return "", "", false
	}
	switch {
	case strings.HasPrefix(s, "array<"):
		el, rest, ok := parseType(s[len("array<"):], depth+1)
		if !ok || !strings.HasPrefix(rest, ">") {
			return "", "", false
		}
		return "array<" + el + ">", rest[1:], true
	case strings.HasPrefix(s, "map<"):
		k, rest, ok := parseType(s[len("map<"):], depth+1)
		if !ok || !strings.HasPrefix(rest, ",") {
			return "", "", false
		}
		v, rest, ok := parseType(rest[1:], depth+1)
		if !ok || !strings.HasPrefix(rest, ">") {
			return "", "", false
		}
		return "map<" + k + "," + v + ">", rest[1:], true
	case strings.HasPrefix(s, "struct<"):
		rest := s[len("struct<"):]
		var fields []string
		for {
			m := fieldRE.FindString(rest)
			if m == "" {
				return "", "", false
			}
			ft, r, ok := parseType(rest[len(m):], depth+1)
			if !ok {
				return "", "", false
			}
			fields = append(fields, quoteIdent(m[:len(m)-1])+":"+ft)
			rest = r
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
				continue
			}
			if !strings.HasPrefix(rest, ">") {
				return "", "", false
			}
			return "struct<" + strings.Join(fields, ",") + ">", rest[1:], true
		}
	}
	if m := intervalRE.FindString(s); m != "" {
		return m, s[len(m):], true
	}
	var name string
	if m := sizedTypeRE.FindString(s); m != "" {
		name = m
	} else if m := simpleTokenRE.FindString(s); simpleTypes[m] {
		name = m
	} else {
		return "", "", false
	}
	rest := s[len(name):]
	if strings.HasPrefix(name, "char(") || strings.HasPrefix(name, "varchar(") || name == "string" {
		if m := collationRE.FindString(rest); m != "" {
			name += m
			rest = rest[len(m):]
		}
	}
	return name, rest, true
}

// StandInQuery is the query of a stand-in for a dataset with the columns
// cols, as a dataset declaration of its own (a dry-run of part of a
// graph). ok is false when a column cannot be written as a stand-in.
func StandInQuery(cols []StandInColumn) (string, bool) {
	return standIn(cols)
}

// StreamReads returns the declared datasets query reads as a stream
// (STREAM(x) or STREAM x), sorted.
func (ps *Parts) StreamReads(query string) []string {
	reads, err := ps.in.p.scans.reads(query)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range reads {
		if c := classify(ps.in.p, ps.in.declared, r); c.dataset != "" && r.stream {
			out = append(out, c.dataset)
		}
	}
	return sortedUnique(out)
}
