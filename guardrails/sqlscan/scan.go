package sqlscan

// Relation is a relation read by the query: a catalog table or view, a
// streaming read, a path-based read or a table-valued function call.
type Relation struct {
	Parts    []string // name parts as written, unquoted (`a.b`.c -> ["a.b","c"]); case kept
	Stream   bool     // read via STREAM(x) or STREAM x
	Path     bool     // path-based read: fmt.`/path`, a name part holding '/', or the unquoted URI form
	Function string   // non-empty for a table-valued function call in FROM (e.g. "range"); Parts is then empty
	Start    Pos      // start of the name in the source
	End      Pos      // end of the name (just after its last byte)

	// Dynamic marks a relation named by IDENTIFIER(...). When the argument
	// is one string literal, Spark (4.1+) resolves it at parse time and Parts
	// holds the name it denotes; otherwise the name is computed and Parts is
	// empty.
	Dynamic bool
	// TimeTravel marks a VERSION/TIMESTAMP (or SYSTEM_VERSION/SYSTEM_TIME) AS OF clause.
	TimeTravel bool
	// Options marks a WITH (...) options clause after the name.
	Options bool
	// Changes marks a CHANGES FROM ... clause (Spark 4.3), which reads the
	// change feed of the table rather than its current content.
	Changes bool
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
	s := new(Scanner)
	return s.Scan(src)
}

// Scanner scans like Scan but keeps its memory from one call to the next,
// which saves allocating and clearing it for every body. The Result it
// returns, with its Tokens, Relations, Functions and their name parts, is
// only valid until its next Scan: copy what must outlive it. The zero value
// is ready to use; a Scanner must not be used by two goroutines at once.
type Scanner struct {
	toks  []Token
	idx   []int32
	kws   []kw
	names []string // backing store of every name's parts
	res   Result

	visible []string       // the parser's CTE scope stack, kept for its memory
	inScope map[string]int // likewise; emptied after every scan
}

// TokenCap is how many tokens the Scanner's memory holds without growing.
func (s *Scanner) TokenCap() int { return cap(s.toks) }

// Scan is the package-level Scan, reusing the Scanner's memory.
func (s *Scanner) Scan(src string) (*Result, error) {
	toks, lexErr := tokenize(src, s.toks)
	s.toks = toks
	res := &s.res
	*res = Result{Tokens: toks, Relations: res.Relations[:0], Functions: res.Functions[:0], CTEs: res.CTEs[:0]}
	if s.inScope == nil {
		s.inScope = map[string]int{}
	}
	p := &parser{text: src, all: toks, res: res, names: s.names[:0], visible: s.visible[:0], inScope: s.inScope}
	defer func() {
		s.names, s.visible = p.names[:0], p.visible[:0]
		clear(s.inScope) // its keys are slices of src
	}()
	if cap(s.idx) < len(toks) {
		s.idx = make([]int32, 0, len(toks))
		s.kws = make([]kw, 0, len(toks))
	}
	p.idx, p.kws = s.idx[:0], s.kws[:0]
	for i := range toks {
		if t := &toks[i]; t.Kind != Comment && t.Kind != Hint {
			p.idx = append(p.idx, int32(i))
			p.kws = append(p.kws, keywordList[t.key].k)
		}
	}
	s.idx, s.kws = p.idx, p.kws
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
	idx     []int32 // indexes into all of the significant tokens
	kws     []kw    // the kw of each significant token
	i       int     // position in idx
	res     *Result
	names   []string       // backing store of name parts (slices of it are handed out full, so appends never overlap)
	visible []string       // CTE names in scope (lower case), innermost last
	inScope map[string]int // how many times each name is in visible
	depth   int
	err     *Error
}

// ctx describes the parenthesised construct the scanner is directly inside.
type ctx struct {
	fromIsKeyword bool // inside EXTRACT/TRIM/SUBSTRING/SUBSTR/OVERLAY arguments
	cast          bool // inside CAST/TRY_CAST arguments: AS is followed by a type
	args          bool // inside the arguments of a function call
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
		return p.kws[j]
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
		kwMap, kwReduce, kwFrom, kwQualify:
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
		if p.tableIsColumn(c) {
			p.i++
			return
		}
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

// tableIsColumn reports whether the TABLE keyword at the current position
// names a column: in a select list (after SELECT or a top-level ',') and
// followed by something that cannot be a table name, as in SELECT table FROM t.
func (p *parser) tableIsColumn(c ctx) bool {
	if !(p.kw(-1) == kwSelect || p.punct(-1, ',') && !c.args) {
		return false
	}
	next := p.tok(1)
	return next == nil || !next.IsWord() || noName(p.kw(1))
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
