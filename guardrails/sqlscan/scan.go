package sqlscan

import "strings"

// Relation is a relation read by the query: a catalog table or view, a
// streaming read, a path-based read or a table-valued function call.
type Relation struct {
	Parts    []string // name parts as written, unquoted (`a.b`.c -> ["a.b","c"]); case kept
	Stream   bool     // read via STREAM(x) or STREAM x
	Path     bool     // path-based read: fmt.`/path`, a name part holding '/', or the unquoted URI form
	Function string   // non-empty for a table-valued function call in FROM (e.g. "range"); Parts is then empty
	Start    Pos      // start of the name in the source
	End      Pos      // end of the name (just after its last byte)

	// Dynamic marks a relation named by IDENTIFIER(...): the name is computed
	// from an expression and Parts is empty.
	Dynamic bool
	// TimeTravel marks a VERSION/TIMESTAMP (or SYSTEM_VERSION/SYSTEM_TIME) AS OF clause.
	TimeTravel bool
	// Options marks a WITH (...) options clause after the name.
	Options bool
}

// Function is a function call: a name followed by '('.
type Function struct {
	Name  []string // name parts as written, unquoted; case kept
	Start Pos      // start of the name
	End   Pos      // end of the name
}

// Result is what Scan finds in a query body.
type Result struct {
	Tokens    []Token    // every token, comments and hints included
	Relations []Relation // relations read, CTE references resolved away (scoped per WITH)
	Functions []Function // every function call, excluding table-valued functions in FROM
	CTEs      []string   // CTE names defined anywhere, in order of definition
	Recursive bool       // a WITH RECURSIVE was seen
}

// MaxDepth is the deepest parenthesis nesting Scan follows. Deeper input is
// an *Error with Rule RuleTooDeep.
const MaxDepth = 1000

// Scan tokenizes src and finds the relations it reads and the functions it
// calls. It always returns a non-nil Result. The error, when not nil, is an
// *Error (a lexical error from Tokenize, or nesting deeper than MaxDepth); the
// Result then holds every token and what was found before the problem, and
// must not be trusted as complete.
//
// Scan is a structural scanner, not a parser: it never rejects input, and
// where Spark's grammar is ambiguous to it, it prefers to report a relation
// too many rather than one too few.
func Scan(src string) (*Result, error) {
	toks, kws, lexErr := tokenize(src, true)
	res := &Result{Tokens: toks}
	p := &parser{text: src, all: toks, allKW: kws, res: res}
	p.idx = make([]int32, 0, len(toks))
	for i := range toks {
		if k := toks[i].Kind; k != Comment && k != Hint {
			p.idx = append(p.idx, int32(i))
		}
	}
	p.run()
	if lexErr != nil {
		return res, lexErr
	}
	if p.err != nil {
		return res, p.err
	}
	return res, nil
}

type parser struct {
	text    string
	all     []Token
	allKW   []kw
	idx     []int32 // indexes into all of the significant tokens
	i       int     // position in idx
	res     *Result
	visible []string       // CTE names in scope (lower case), innermost last
	inScope map[string]int // how many times each name is in visible
	depth   int
	err     *Error
}

// ctx describes the parenthesised construct the scanner is directly inside.
type ctx struct {
	fromIsKeyword bool // inside EXTRACT/TRIM/SUBSTRING/SUBSTR/OVERLAY arguments
	cast          bool // inside CAST/TRY_CAST arguments: AS is followed by a type
}

// --- token access ---

func (p *parser) src(start, end Pos) string { return p.text[start.Offset:end.Offset] }

func (p *parser) eof() bool { return p.i >= len(p.idx) }

func (p *parser) tok(k int) *Token {
	if j := p.i + k; j >= 0 && j < len(p.idx) {
		return &p.all[p.idx[j]]
	}
	return nil
}

func (p *parser) kw(k int) kw {
	if j := p.i + k; j >= 0 && j < len(p.idx) {
		return p.allKW[p.idx[j]]
	}
	return kwNone
}

func (p *parser) punct(k int, c byte) bool {
	t := p.tok(k)
	return t != nil && t.Kind == Punct && t.Text[0] == c
}

func (p *parser) op(k int, s string) bool {
	t := p.tok(k)
	return t != nil && t.Kind == Operator && t.Text == s
}

func (p *parser) word(k int) bool {
	t := p.tok(k)
	return t != nil && t.IsWord()
}

// --- keyword classes ---

// noName keywords never start a name or a function call in expressions.
func noName(k kw) bool {
	switch k {
	case kwAll, kwAnd, kwAnti, kwAs, kwAsc, kwBetween, kwBy, kwCase, kwCluster, kwCross,
		kwCube, kwDesc, kwDistinct, kwDistribute, kwDiv, kwElse, kwEnd, kwEscape, kwExcept,
		kwFor, kwFrom, kwFull, kwGroup, kwHaving, kwIgnore, kwIlike, kwIn, kwInner, kwInsert,
		kwIntersect, kwInterval, kwInto, kwIs, kwJoin, kwLateral, kwLike, kwLimit, kwMinus,
		kwNatural, kwNot, kwNulls, kwOf, kwOffset, kwOn, kwOr, kwOrder, kwOuter, kwOver,
		kwPartition, kwPivot, kwRecursive, kwRepeatable, kwRespect, kwRlike, kwRollup,
		kwSelect, kwSemi, kwSets, kwSort, kwStream, kwTable, kwTablesample, kwThen, kwUnion,
		kwUnpivot, kwUsing, kwValues, kwView, kwWatermark, kwWhen, kwWhere, kwWindow, kwWith,
		kwWithin:
		return true
	}
	return false
}

// strictNonReserved keywords cannot name a relation even in Spark's default
// (non-ANSI) keyword mode; every other word can.
func strictNonReserved(k kw) bool {
	switch k {
	case kwAnti, kwCross, kwExcept, kwFull, kwInner, kwIntersect, kwJoin, kwLateral, kwLeft,
		kwMinus, kwNatural, kwOn, kwRight, kwSemi, kwUnion, kwUsing:
		return true
	}
	return false
}

// clauseEnd keywords end a FROM clause.
func clauseEnd(k kw) bool {
	switch k {
	case kwWhere, kwGroup, kwHaving, kwOrder, kwSort, kwCluster, kwDistribute, kwLimit,
		kwOffset, kwWindow, kwUnion, kwIntersect, kwExcept, kwMinus, kwSelect, kwInsert,
		kwMap, kwReduce, kwFrom:
		return true
	}
	return false
}

// aliasStop keywords cannot be a table alias.
func aliasStop(k kw) bool {
	if clauseEnd(k) || strictNonReserved(k) {
		return true
	}
	switch k {
	case kwAs, kwOuter, kwPivot, kwUnpivot, kwTablesample, kwWith, kwFor, kwWatermark,
		kwVersion, kwTimestamp, kwSystemVersion, kwSystemTime, kwOn, kwUsing, kwJoin,
		kwRepeatable, kwValues, kwTable, kwSelect:
		return true
	}
	return false
}

var fileFormats = map[string]bool{
	"parquet": true, "orc": true, "json": true, "csv": true, "text": true, "avro": true,
	"binaryfile": true, "xml": true, "delta": true, "hudi": true, "iceberg": true,
	"jdbc": true, "libsvm": true, "image": true, "kafka": true, "hive": true,
	"textfile": true, "sequencefile": true, "rcfile": true, "noop": true, "console": true,
	"rate": true, "socket": true, "memory": true, "cloudfiles": true,
}

// --- driver ---

func (p *parser) run() {
	for !p.eof() {
		before := p.i
		if p.punct(0, ')') {
			p.i++ // unbalanced; the guard reports it
			continue
		}
		p.step(ctx{})
		if p.i == before {
			p.i++
		}
	}
}

// seq consumes the tokens of one nesting level, up to an unmatched ')' (not
// consumed) or the end.
func (p *parser) seq(c ctx) {
	for !p.eof() && !p.punct(0, ')') {
		before := p.i
		p.step(c)
		if p.i == before {
			p.i++
		}
	}
}

// step consumes one construct at the current position.
func (p *parser) step(c ctx) {
	t := p.tok(0)
	switch t.Kind {
	case Punct:
		if t.Text[0] == '(' {
			p.group()
			return
		}
		p.i++
		return
	case Operator:
		p.i++
		if t.Text == "::" {
			p.skipType()
		}
		return
	case Ident, Keyword, QuotedIdent, URIIdent:
	default:
		p.i++
		return
	}
	switch k := p.kw(0); k {
	case kwFrom:
		p.i++
		if c.fromIsKeyword || p.afterDistinct() {
			return
		}
		p.fromList()
		return
	case kwWith:
		if p.atQueryStart() {
			p.ctes()
			return
		}
	case kwTable:
		p.i++
		p.tableRef()
		return
	case kwLateral:
		if p.kw(1) == kwView {
			p.lateralView()
			return
		}
	case kwAs:
		if c.cast {
			p.i++
			p.skipType()
			return
		}
	}
	if n := p.joinAhead(); n > 0 {
		p.i += n
		p.relation()
		p.fromTail()
		return
	}
	p.nameOrCall()
}

// afterDistinct reports whether the previous tokens are IS [NOT|!] DISTINCT,
// so that the FROM at the current position belongs to IS DISTINCT FROM.
func (p *parser) afterDistinct() bool {
	// p.i has already moved past FROM.
	if p.kw(-2) != kwDistinct {
		return false
	}
	if p.kw(-3) == kwIs {
		return true
	}
	if p.kw(-3) == kwNot || p.op(-3, "!") {
		return p.kw(-4) == kwIs
	}
	return false
}

// atQueryStart reports whether a query may start at the current position.
func (p *parser) atQueryStart() bool {
	return p.i == 0 || p.punct(-1, '(') || p.punct(-1, ';')
}

// queryStart reports whether the current token starts a query.
func (p *parser) queryStart() bool {
	switch p.kw(0) {
	case kwSelect, kwWith, kwFrom, kwValues, kwTable:
		return true
	}
	return false
}

// queryAhead reports whether the tokens at offset k, after any '(' tokens,
// start a query.
func (p *parser) queryAhead(k int) bool {
	for p.punct(k, '(') {
		k++
	}
	switch p.kw(k) {
	case kwSelect, kwWith, kwFrom, kwValues, kwTable:
		return true
	}
	return false
}

// joinAhead returns the number of tokens in a join operator at the current
// position ([NATURAL] [INNER|CROSS|LEFT|RIGHT|FULL] [OUTER|SEMI|ANTI] JOIN
// [LATERAL is left to relation]), or 0.
func (p *parser) joinAhead() int {
	j := 0
	if p.kw(j) == kwNatural {
		j++
	}
	for n := 0; n < 3; n++ {
		switch p.kw(j) {
		case kwInner, kwCross, kwLeft, kwRight, kwFull, kwOuter, kwSemi, kwAnti:
			j++
			continue
		}
		break
	}
	if p.kw(j) == kwJoin {
		return j + 1
	}
	return 0
}

// group consumes a parenthesised group: a subquery, an expression list or
// any other group.
func (p *parser) group() {
	p.enter(func() { p.seq(ctx{}) })
}

// enter consumes '(' , runs body, and consumes the matching ')'. CTE names
// defined inside go out of scope at the ')'.
func (p *parser) enter(body func()) {
	p.i++ // '('
	if p.depth >= MaxDepth {
		if p.err == nil {
			t := p.tok(-1)
			p.err = &Error{Pos: t.Start, Rule: RuleTooDeep, Msg: "parentheses nested too deeply"}
		}
		p.i = len(p.idx)
		return
	}
	p.depth++
	mark := len(p.visible)
	body()
	p.popCTEs(mark)
	p.depth--
	if p.punct(0, ')') {
		p.i++
	}
}

// --- names and calls ---

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

// qualifiedName consumes word ('.' word)* and returns the parts and their tokens.
func (p *parser) qualifiedName() (parts []string, toks []*Token) {
	n := p.nameLen()
	parts = make([]string, 0, (n+1)/2)
	toks = make([]*Token, 0, (n+1)/2)
	for j := 0; j < n; j += 2 {
		t := p.tok(j)
		parts = append(parts, t.Name())
		toks = append(toks, t)
	}
	p.i += n
	return parts, toks
}

func (p *parser) nameOrCall() {
	k := p.kw(0)
	switch {
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
	parts, toks := p.qualifiedName()
	p.res.Functions = append(p.res.Functions, Function{Name: parts, Start: toks[0].Start, End: toks[len(toks)-1].End})
	c := ctx{}
	if len(parts) == 1 {
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
	name = strings.ToLower(name)
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
	return p.inScope[strings.ToLower(parts[0])] > 0
}

// --- FROM clause ---

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
	case k == kwStream && (p.punct(1, '(') || p.word(1) && !aliasStop(p.kw(1))):
		p.streamRelation()
		return
	case k == kwValues:
		p.i++
		p.valuesList()
		return
	case k == kwIdentifier && p.punct(1, '('):
		p.res.Functions = append(p.res.Functions, Function{Name: []string{t.Name()}, Start: t.Start, End: t.End})
		p.res.Relations = append(p.res.Relations, Relation{Dynamic: true, Start: t.Start, End: t.End})
		n := len(p.res.Relations) - 1
		p.i++
		p.group()
		if p.punct(0, '(') { // IDENTIFIER('f')(args): a table function with a computed name
			p.res.Relations[n].Function = "IDENTIFIER"
			p.group()
		}
		p.relationTail(n)
		return
	}
	if p.ambiguousKeywordName() {
		return
	}
	parts, toks := p.qualifiedName()
	start, end := toks[0].Start, toks[len(toks)-1].End
	if p.punct(0, '(') {
		fn := strings.Join(parts, ".")
		if fn == "" {
			fn = p.src(start, end) // an empty backquoted name: keep it visible
		}
		p.res.Relations = append(p.res.Relations, Relation{Function: fn, Start: start, End: end})
		n := len(p.res.Relations) - 1
		p.group()
		p.relationTail(n)
		return
	}
	n := -1
	if !p.isCTE(parts) {
		p.res.Relations = append(p.res.Relations, Relation{Parts: parts, Path: isPath(parts, toks), Start: start, End: end})
		n = len(p.res.Relations) - 1
	}
	p.relationTail(n)
}

// isPath reports whether a relation name reads files: the unquoted URI form,
// a part holding '/' or '\', or a two-part name whose first part is a data
// source, which Spark resolves as format.`path` while
// spark.sql.runSQLOnFiles is on.
func isPath(parts []string, toks []*Token) bool {
	for i, part := range parts {
		if toks[i].Kind == URIIdent || strings.ContainsAny(part, "/\\") {
			return true
		}
	}
	return len(parts) == 2 && isDataSource(parts[0])
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
			parts, toks := p.qualifiedName()
			if p.punct(0, ')') {
				p.i++
				p.res.Relations = append(p.res.Relations, Relation{Parts: parts, Stream: true, Path: isPath(parts, toks), Start: toks[0].Start, End: toks[len(toks)-1].End})
				p.relationTail(len(p.res.Relations) - 1)
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
	parts, toks := p.qualifiedName()
	p.res.Relations = append(p.res.Relations, Relation{Parts: parts, Stream: true, Path: isPath(parts, toks), Start: toks[0].Start, End: toks[len(toks)-1].End})
	p.relationTail(len(p.res.Relations) - 1)
}

// relationTail consumes what may follow a relation: a time-travel clause,
// WITH (options), TABLESAMPLE (...) [REPEATABLE (...)], WATERMARK ...,
// and an alias with optional column list. n indexes the relation in
// res.Relations, or is -1.
func (p *parser) relationTail(n int) {
	for !p.eof() {
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
		case k == kwTablesample:
			p.i++
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
			parts, toks := p.qualifiedName()
			if p.punct(0, ')') {
				p.i++
				p.addTable(parts, toks)
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
			p.res.Relations = append(p.res.Relations, Relation{Dynamic: true, Start: t.Start, End: t.End})
			p.i++
			p.group()
			return
		}
		parts, toks := p.qualifiedName()
		p.addTable(parts, toks)
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

func (p *parser) addTable(parts []string, toks []*Token) {
	if p.isCTE(parts) {
		return
	}
	p.res.Relations = append(p.res.Relations, Relation{Parts: parts, Path: isPath(parts, toks), Start: toks[0].Start, End: toks[len(toks)-1].End})
}
