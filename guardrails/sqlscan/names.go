package sqlscan

import "strings"

// nameLen returns the number of tokens in the qualified name word ('.' word)*
// at the current position (0 when no word is there).
func (p *parser) nameLen() int {
	if !p.word(0) {
		return 0
	}
	n := 1
	for p.punct(n, '.') && p.word(n+1) {
		n += 2
	}
	return n
}

// name is a qualified name as found in the source.
type name struct {
	parts      []string
	start, end Pos
	uri        bool // a part is the unquoted URI form
}

// qualifiedName consumes word ('.' word)* and returns it.
func (p *parser) qualifiedName() name {
	n := p.nameLen()
	nm := name{start: p.tok(0).Start, end: p.tok(n - 1).End}
	first := len(p.names)
	for j := 0; j < n; j += 2 {
		t := p.tok(j)
		p.names = append(p.names, t.Name())
		nm.uri = nm.uri || t.Kind == URIIdent
	}
	nm.parts = p.names[first:len(p.names):len(p.names)]
	p.i += n
	return nm
}

func (p *parser) nameOrCall() {
	k := p.kw(0)
	switch {
	case k == kwWindow && p.punct(1, '('):
		// window(ts, '5 minutes') is a call; the WINDOW clause has a name next
	case noName(k):
		p.i++
		return
	case k == kwFilter && p.punct(-1, ')'):
		p.i++ // aggregate FILTER (WHERE ...)
		return
	case (k == kwAny || k == kwSome || k == kwAll) && (p.kw(-1) == kwLike || p.kw(-1) == kwIlike || p.kw(-1) == kwRlike):
		p.i++ // LIKE ANY (...)
		return
	case k == kwExists && p.punct(1, '(') && p.queryAhead(2):
		p.i++ // EXISTS (subquery)
		return
	}
	if n := p.nameLen(); !p.punct(n, '(') {
		p.i += n
		return
	}
	nm := p.qualifiedName()
	p.res.Functions = append(p.res.Functions, Function{Name: nm.parts, Start: nm.start, End: nm.end})
	c := ctx{args: true}
	if len(nm.parts) == 1 {
		switch k {
		case kwExtract, kwTrim, kwSubstring, kwSubstr, kwOverlay:
			c.fromIsKeyword = true
		case kwCast, kwTryCast:
			c.cast = true
		}
	}
	p.enter(func() { p.seq(c) })
}

// skipType consumes a data type after "::" or CAST's AS: a type name with
// optional (precision) and <element types>, and the multi-word forms
// INTERVAL unit [TO unit] and TIMESTAMP/TIME WITH[OUT] [LOCAL] TIME ZONE.
func (p *parser) skipType() {
	if !p.word(0) || noName(p.kw(0)) && p.kw(0) != kwInterval {
		return
	}
	first := p.kw(0)
	p.i++
	switch {
	case first == kwInterval:
		for p.word(0) && (isIntervalUnit(p.tok(0).Text) || strings.EqualFold(p.tok(0).Text, "TO")) {
			p.i++
		}
	case first == kwTimestamp || strings.EqualFold(p.tok(-1).Text, "TIME"):
		// TIMESTAMP WITHOUT TIME ZONE, TIMESTAMP WITH LOCAL TIME ZONE
		if p.kw(0) == kwWith || p.word(0) && strings.EqualFold(p.tok(0).Text, "WITHOUT") {
			for n := 0; n < 4 && p.word(0); n++ {
				w := strings.ToUpper(p.tok(0).Text)
				if w != "WITH" && w != "WITHOUT" && w != "LOCAL" && w != "TIME" && w != "ZONE" {
					break
				}
				p.i++
				if w == "ZONE" {
					break
				}
			}
		}
	}
	if p.punct(0, '(') {
		p.group()
	}
	if p.op(0, "<>") {
		p.i++
		return
	}
	if !p.op(0, "<") {
		return
	}
	depth := 0
	for !p.eof() && !p.punct(0, ')') {
		t := p.tok(0)
		switch {
		case t.Kind == Operator && t.Text == "<":
			depth++
		case t.Kind == Operator && strings.HasPrefix(t.Text, ">") && strings.Trim(t.Text, ">") == "":
			depth -= len(t.Text)
		case t.Kind == Punct && t.Text[0] == '(':
			p.group()
			continue
		case t.IsWord() && noName(p.kw(0)):
			p.step(ctx{})
			continue
		}
		p.i++
		if depth <= 0 {
			return
		}
	}
}

func isIntervalUnit(s string) bool {
	switch strings.ToUpper(s) {
	case "YEAR", "YEARS", "MONTH", "MONTHS", "WEEK", "WEEKS", "DAY", "DAYS", "HOUR", "HOURS",
		"MINUTE", "MINUTES", "SECOND", "SECONDS", "MILLISECOND", "MILLISECONDS",
		"MICROSECOND", "MICROSECONDS", "NANOSECOND", "NANOSECONDS", "QUARTER":
		return true
	}
	return false
}

// --- CTEs ---

// ctes consumes WITH [RECURSIVE] name [(cols)] [MAX RECURSION LEVEL n] [AS] (query), ...
// Each name is visible in later definitions and in the rest of the
// enclosing level; in its own definition only when RECURSIVE.
func (p *parser) ctes() {
	p.i++ // WITH
	recursive := false
	if p.kw(0) == kwRecursive {
		recursive = true
		p.res.Recursive = true
		p.i++
	}
	for p.word(0) && !noName(p.kw(0)) {
		name := p.tok(0).Name()
		p.i++
		if p.punct(0, '(') && !p.queryAhead(1) {
			p.group() // column aliases
		}
		if p.kw(0) == kwMax && p.kw(1) == kwRecursion {
			p.i += 2
			if p.kw(0) == kwLevel {
				p.i++
			}
			if t := p.tok(0); t != nil && t.Kind == Number {
				p.i++
			}
		}
		if p.kw(0) == kwAs {
			p.i++
		}
		if !p.punct(0, '(') {
			return
		}
		p.res.CTEs = append(p.res.CTEs, name)
		if recursive {
			p.pushCTE(name)
		}
		p.group()
		if !recursive {
			p.pushCTE(name)
		}
		if !p.punct(0, ',') {
			return
		}
		p.i++
	}
}

// pushCTE brings a CTE name into scope.
func (p *parser) pushCTE(name string) {
	name = lowerCase(name)
	if p.inScope == nil {
		p.inScope = map[string]int{}
	}
	p.visible = append(p.visible, name)
	p.inScope[name]++
}

// popCTEs takes the names defined since mark out of scope.
func (p *parser) popCTEs(mark int) {
	for _, name := range p.visible[mark:] {
		p.inScope[name]--
	}
	p.visible = p.visible[:mark]
}

// isCTE reports whether a relation name refers to a CTE in scope. Spark
// matches CTE names case-insensitively (spark.sql.caseSensitive=false).
func (p *parser) isCTE(parts []string) bool {
	if len(parts) != 1 || len(p.visible) == 0 {
		return false
	}
	return p.inScope[lowerCase(parts[0])] > 0
}

// valueExpr consumes one value expression: operands joined by operators.
func (p *parser) valueExpr() {
	for !p.eof() {
		// operand, after any unary operators
		for p.op(0, "-") || p.op(0, "+") || p.op(0, "~") || p.op(0, "!") || p.kw(0) == kwNot {
			p.i++
		}
		t := p.tok(0)
		if t == nil {
			return
		}
		switch {
		case t.Kind == Punct && t.Text[0] == '(':
			p.group()
		case p.kw(0) == kwInterval:
			p.i++
			for {
				for p.op(0, "-") || p.op(0, "+") {
					p.i++
				}
				if t := p.tok(0); t == nil || t.Kind != Number && t.Kind != String {
					break
				}
				p.i++
				for p.word(0) && (isIntervalUnit(p.tok(0).Text) || strings.EqualFold(p.tok(0).Text, "TO")) {
					p.i++
				}
			}
		case p.kw(0) == kwCase:
			// CASE ... END
			p.i++
			for !p.eof() && p.kw(0) != kwEnd && !p.punct(0, ')') {
				before := p.i
				p.step(ctx{})
				if p.i == before {
					p.i++
				}
			}
			if p.kw(0) == kwEnd {
				p.i++
			}
		case t.Kind == String || t.Kind == Number || t.Kind == Param || t.Kind == Variable:
			p.i++
			for t := p.tok(0); t != nil && t.Kind == String; t = p.tok(0) {
				p.i++
			}
		case t.IsWord() && !noName(p.kw(0)):
			p.nameOrCall()
		default:
			return
		}
		// postfix
		for {
			if p.op(0, "::") {
				p.i++
				p.skipType()
				continue
			}
			if p.punct(0, '[') {
				p.i++
				for !p.eof() && !p.punct(0, ']') && !p.punct(0, ')') {
					before := p.i
					p.step(ctx{})
					if p.i == before {
						p.i++
					}
				}
				if p.punct(0, ']') {
					p.i++
				}
				continue
			}
			if p.punct(0, '.') && p.word(1) {
				p.i += 2
				continue
			}
			break
		}
		// binary operator?
		if t := p.tok(0); t != nil && t.Kind == Operator && t.Text != "|>" && t.Text != ":" && t.Text != "*/" ||
			p.kw(0) == kwDiv || p.kw(0) == kwAnd || p.kw(0) == kwOr {
			p.i++
			continue
		}
		return
	}
}

// lowerCase is strings.ToLower without an allocation for text that is
// already lower case.
func lowerCase(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
