package sqlscan

import "strings"

// fromList consumes a FROM clause after the FROM keyword.
func (p *parser) fromList() {
	p.relation()
	p.fromTail()
}

// fromTail consumes the rest of a FROM clause: more relations after ',',
// joins with their conditions, PIVOT/UNPIVOT and LATERAL VIEW. It stops,
// without consuming, at the keyword of the next clause, '|>' or ')'.
func (p *parser) fromTail() {
	for !p.eof() {
		before := p.i
		t := p.tok(0)
		k := p.kw(0)
		switch {
		case t.Kind == Punct && t.Text[0] == ')':
			return
		case t.Kind == Punct && t.Text[0] == ',':
			p.i++
			p.relation()
		case t.Kind == Operator && t.Text == "|>":
			return
		case p.joinAhead() > 0:
			p.i += p.joinAhead()
			p.relation()
		case k == kwOn:
			p.i++
			p.joinCondition()
		case k == kwLateral && p.kw(1) == kwView:
			p.lateralView()
		case k == kwLateral:
			p.relation()
		case clauseEnd(k):
			return
		default:
			p.step(ctx{})
		}
		if p.i == before {
			p.i++
		}
	}
}

// joinCondition consumes an ON condition up to the next relation, join or clause.
func (p *parser) joinCondition() {
	for !p.eof() {
		t := p.tok(0)
		k := p.kw(0)
		if t.Kind == Punct && (t.Text[0] == ')' || t.Text[0] == ',') ||
			t.Kind == Operator && t.Text == "|>" || clauseEnd(k) || p.joinAhead() > 0 ||
			k == kwLateral || k == kwPivot || k == kwUnpivot {
			return
		}
		before := p.i
		p.step(ctx{})
		if p.i == before {
			p.i++
		}
	}
}

// relation consumes [LATERAL] relationPrimary with its tail.
func (p *parser) relation() {
	if p.kw(0) == kwLateral {
		p.i++
	}
	p.relationPrimary()
}

func (p *parser) relationPrimary() {
	t := p.tok(0)
	if t == nil {
		return
	}
	if t.Kind == Punct && t.Text[0] == '(' {
		// A subquery or a parenthesised relation such as (a JOIN b). Decided
		// at the first token inside, so that runs of '(' cost nothing extra:
		// a '(' there is again a relation primary.
		p.enter(func() {
			if !p.queryStart() {
				p.fromList()
			}
			p.seq(ctx{})
		})
		p.relationTail(-1)
		return
	}
	if !t.IsWord() {
		return
	}
	switch k := p.kw(0); {
	case strictNonReserved(k):
		return
	case k == kwStream && (p.punct(1, '(') || p.word(1) && !strictNonReserved(p.kw(1))):
		// Spark prefers STREAM name over a table named stream: FROM stream AS s
		// streams a table named AS.
		p.streamRelation()
		return
	case k == kwValues:
		p.i++
		p.valuesList()
		return
	case k == kwIdentifier && p.punct(1, '('):
		p.res.Functions = append(p.res.Functions, Function{Name: []string{t.Name()}, Start: t.Start, End: t.End})
		p.res.Relations = append(p.res.Relations, Relation{Dynamic: true, Parts: p.identifierLiteral(), Start: t.Start, End: t.End})
		n := len(p.res.Relations) - 1
		p.i++
		p.group()
		if p.punct(0, '(') { // IDENTIFIER('f')(args): a table function with a computed name
			p.res.Relations[n].Function = "IDENTIFIER"
			p.res.Relations[n].Parts = nil
			p.group()
		}
		p.relationTail(n)
		return
	}
	if p.ambiguousKeywordName() {
		return
	}
	nm := p.qualifiedName()
	if p.punct(0, '(') {
		fn := strings.Join(nm.parts, ".")
		if fn == "" {
			fn = p.src(nm.start, nm.end) // an empty backquoted name: keep it visible
		}
		p.res.Relations = append(p.res.Relations, Relation{Function: fn, Start: nm.start, End: nm.end})
		n := len(p.res.Relations) - 1
		p.group()
		p.relationTail(n)
		return
	}
	n := -1
	if !p.isCTE(nm.parts) {
		n = p.addRelation(nm, false)
	}
	p.relationTail(n)
}

// isPath reports whether a relation name reads files: the unquoted URI form,
// a part holding '/' or '\', or a two-part name whose first part is a data
// source, which Spark resolves as format.`path` while
// spark.sql.runSQLOnFiles is on.
func isPath(nm name) bool {
	if nm.uri {
		return true
	}
	for _, part := range nm.parts {
		if strings.ContainsAny(part, "/\\") {
			return true
		}
	}
	return len(nm.parts) == 2 && isDataSource(nm.parts[0])
}

// addRelation records a table read and returns its index.
func (p *parser) addRelation(nm name, stream bool) int {
	p.res.Relations = append(p.res.Relations, Relation{Parts: nm.parts, Stream: stream, Path: isPath(nm), Start: nm.start, End: nm.end})
	return len(p.res.Relations) - 1
}

// isDataSource reports whether name looks like a data source Spark would try
// for format.`path`: a known short name, or a class name whose last segment
// is one or ends in Format, Source or Provider.
func isDataSource(name string) bool {
	lower := strings.ToLower(name)
	if fileFormats[lower] {
		return true
	}
	dot := strings.LastIndexByte(lower, '.')
	if dot < 0 {
		return false
	}
	last := lower[dot+1:]
	return fileFormats[last] || strings.HasSuffix(last, "format") ||
		strings.HasSuffix(last, "source") || strings.HasSuffix(last, "provider")
}

// streamRelation consumes STREAM name or STREAM(name).
func (p *parser) streamRelation() {
	st := p.tok(0)
	p.i++ // STREAM
	if p.punct(0, '(') {
		if p.word(1) {
			save := p.i
			p.i++
			nm := p.qualifiedName()
			if p.punct(0, ')') {
				p.i++
				p.relationTail(p.addRelation(nm, true))
				return
			}
			p.i = save
		}
		// Not STREAM(name): Spark reads it as a table function named stream.
		p.res.Relations = append(p.res.Relations, Relation{Function: st.Name(), Stream: true, Start: st.Start, End: st.End})
		n := len(p.res.Relations) - 1
		p.group()
		p.relationTail(n)
		return
	}
	p.relationTail(p.addRelation(p.qualifiedName(), true))
}

// relationTail consumes what may follow a relation: a time-travel clause,
// WITH (options), TABLESAMPLE (...) [REPEATABLE (...)], WATERMARK ...,
// and an alias with optional column list. n indexes the relation in
// res.Relations, or is -1.
func (p *parser) relationTail(n int) {
	for !p.eof() {
		t := p.tok(0)
		k := p.kw(0)
		switch {
		case k == kwFor && isTemporal(p.kw(1)) && p.kw(2) == kwAs && p.kw(3) == kwOf:
			p.i += 4
			p.mark(n, func(r *Relation) { r.TimeTravel = true })
			p.valueExpr()
		case isTemporal(k) && p.kw(1) == kwAs && p.kw(2) == kwOf:
			p.i += 3
			p.mark(n, func(r *Relation) { r.TimeTravel = true })
			p.valueExpr()
		case k == kwWith && p.punct(1, '('):
			p.i++
			p.mark(n, func(r *Relation) { r.Options = true })
			p.group()
		case t.Kind == Operator && (t.Text == "@" || strings.EqualFold(t.Text, "@v")):
			// t@v12 or t@20240101000000000 (Spark 4.3)
			p.i++
			p.mark(n, func(r *Relation) { r.TimeTravel = true })
			if nt := p.tok(0); nt != nil && (nt.Kind == Number || nt.Kind == String) {
				p.i++
			}
		case k == kwChanges && p.kw(1) == kwFrom:
			// CHANGES FROM VERSION|TIMESTAMP x [TO VERSION|TIMESTAMP y] (Spark 4.3)
			p.i += 2
			p.mark(n, func(r *Relation) { r.Changes = true })
			for {
				if isTemporal(p.kw(0)) {
					p.i++
				}
				p.valueExpr()
				if !p.word(0) || !strings.EqualFold(p.tok(0).Text, "TO") {
					break
				}
				p.i++
			}
		case k == kwTablesample:
			p.i++
			if p.word(0) && p.punct(1, '(') { // SYSTEM, BERNOULLI
				p.i++
			}
			if p.punct(0, '(') {
				p.group()
			}
			if p.kw(0) == kwRepeatable {
				p.i++
				if p.punct(0, '(') {
					p.group()
				}
			}
		case k == kwWatermark:
			p.i++
			for !p.eof() && p.kw(0) != kwDelay && !p.punct(0, ')') && !p.punct(0, ',') && !clauseEnd(p.kw(0)) {
				before := p.i
				p.step(ctx{})
				if p.i == before {
					p.i++
				}
			}
			if p.kw(0) == kwDelay {
				p.i++
				if p.kw(0) == kwOf {
					p.i++
				}
				p.valueExpr()
			}
		case k == kwAs:
			p.i++
			p.alias()
			return
		case p.word(0) && !aliasStop(k):
			p.alias()
			return
		default:
			return
		}
	}
}

func isTemporal(k kw) bool {
	return k == kwVersion || k == kwTimestamp || k == kwSystemVersion || k == kwSystemTime
}

func (p *parser) mark(n int, f func(*Relation)) {
	if n >= 0 {
		f(&p.res.Relations[n])
	}
}

// alias consumes an alias name and an optional column list.
func (p *parser) alias() {
	if p.word(0) && !aliasStop(p.kw(0)) {
		p.i++
	}
	if p.punct(0, '(') {
		p.group()
	}
}

// valuesList consumes an inline table after VALUES in FROM: expressions
// separated by ',', then an optional alias.
func (p *parser) valuesList() {
	for !p.eof() {
		before := p.i
		p.valueExpr()
		if p.punct(0, ',') {
			p.i++
			continue
		}
		if p.i == before && !p.punct(0, ')') && !p.eof() && !p.word(0) {
			p.i++
			continue
		}
		break
	}
	if p.kw(0) == kwAs {
		p.i++
		p.alias()
		return
	}
	if p.word(0) && !aliasStop(p.kw(0)) {
		p.alias()
	}
}

// lateralView consumes LATERAL VIEW [OUTER] generator(args) name [AS] col, ...
func (p *parser) lateralView() {
	p.i += 2 // LATERAL VIEW
	if p.kw(0) == kwOuter {
		p.i++
	}
	if p.word(0) && !noName(p.kw(0)) {
		p.nameOrCall()
	}
	if p.word(0) && !aliasStop(p.kw(0)) {
		p.i++
	}
	if p.kw(0) == kwAs {
		p.i++
	}
	for p.word(0) && !aliasStop(p.kw(0)) {
		p.i++
		if p.punct(0, ',') && p.word(1) && !aliasStop(p.kw(1)) {
			p.i++
			continue
		}
		break
	}
}

// tableRef consumes what follows TABLE outside FROM: TABLE name (a query or
// a table argument), TABLE(name) or TABLE(query).
func (p *parser) tableRef() {
	if p.punct(0, '(') {
		if p.word(1) && !p.queryAhead(1) {
			save := p.i
			p.i++
			nm := p.qualifiedName()
			if p.punct(0, ')') {
				p.i++
				p.addTable(nm)
				return
			}
			p.i = save
		}
		p.group()
		return
	}
	if p.word(0) && !strictNonReserved(p.kw(0)) {
		if p.ambiguousKeywordName() {
			return
		}
		if p.kw(0) == kwIdentifier && p.punct(1, '(') {
			t := p.tok(0)
			p.res.Functions = append(p.res.Functions, Function{Name: []string{t.Name()}, Start: t.Start, End: t.End})
			p.res.Relations = append(p.res.Relations, Relation{Dynamic: true, Parts: p.identifierLiteral(), Start: t.Start, End: t.End})
			p.i++
			p.group()
			return
		}
		p.addTable(p.qualifiedName())
	}
}

// ambiguousKeywordName handles a keyword such as WHERE or SELECT where a
// relation name is expected. Spark's default keyword mode lets most keywords
// name a table, so the word is reported as a relation; it is left unconsumed
// so that, if it really starts a clause, the clause is still scanned.
func (p *parser) ambiguousKeywordName() bool {
	if !noName(p.kw(0)) || p.punct(1, '.') {
		return false
	}
	t := p.tok(0)
	p.res.Relations = append(p.res.Relations, Relation{Parts: []string{t.Name()}, Start: t.Start, End: t.End})
	return true
}

// identifierLiteral returns the name parts of IDENTIFIER('a.`b.c`') when the
// argument (at the current '(') is one string literal: Spark 4.1+ resolves
// that form at parse time. It returns nil for any other argument.
func (p *parser) identifierLiteral() []string {
	t := p.tok(2)
	if t == nil || t.Kind != String || !p.punct(3, ')') {
		return nil
	}
	return splitMultipart(t.Value)
}

// splitMultipart splits a.b.`c.d` into its parts, or returns nil when the
// text is not a well-formed multi-part identifier.
func splitMultipart(s string) []string {
	var parts []string
	for i := 0; i <= len(s); {
		if i == len(s) {
			return nil // empty last part
		}
		var part string
		if s[i] == '`' {
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '`')
				if k < 0 {
					return nil
				}
				b.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && s[j] == '`' {
					b.WriteByte('`')
					j++
					continue
				}
				break
			}
			part, i = b.String(), j
		} else {
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '`' {
				j++
			}
			part, i = strings.TrimSpace(s[i:j]), j
			if part == "" {
				return nil
			}
		}
		parts = append(parts, part)
		if i == len(s) {
			return parts
		}
		if s[i] != '.' {
			return nil
		}
		i++
	}
	return parts
}

func (p *parser) addTable(nm name) {
	if !p.isCTE(nm.parts) {
		p.addRelation(nm, false)
	}
}
