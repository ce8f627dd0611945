package sqlscan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenize splits src into tokens the way Spark's SQL lexer does (Spark 4.1,
// default settings: double-quoted text is a string, ANSI keywords are not
// enforced). Whitespace is dropped; comments and hints are kept as tokens.
//
// Characters Spark's lexer does not recognise become Invalid tokens rather
// than errors, as in Spark. The error, when not nil, is an *Error for an
// unclosed string literal, backquoted identifier, block comment or hint; the
// unclosed token then runs to the end of src and is still returned.
func Tokenize(src string) ([]Token, error) {
	toks, _, err := tokenize(src, false)
	if err != nil {
		return toks, err
	}
	return toks, nil
}

// tokenize is Tokenize, optionally also returning the kw of every token
// (kwNone for non-keywords) for the scanner.
func tokenize(src string, wantKW bool) ([]Token, []kw, *Error) {
	l := &lexer{src: src, line: 1, col: 1, wantKW: wantKW, prevSig: -1, noBraceFrom: len(src) + 1}
	n := len(src)/4 + 16 // typical SQL has about one token per four bytes
	l.toks = make([]Token, 0, n)
	if wantKW {
		l.kws = make([]kw, 0, n)
	}
	l.run(false)
	return l.toks, l.kws, l.err
}

type lexer struct {
	src       string
	i         int // byte offset of the next unread byte
	line, col int // position of src[i]
	toks      []Token
	kws       []kw
	wantKW    bool
	err       *Error
	prevSig   int // index in toks of the last token that is not a comment, or -1
	// complexLevel mirrors Spark's complex-type counter: ARRAY, MAP and STRUCT
	// raise it, '>' lowers it, and while it is above zero ">>" and ">>>" are
	// lexed as separate '>' tokens.
	complexLevel int
	noBraceFrom  int // no '}' at or after this offset (len(src)+1 until known)
}

func (l *lexer) pos() Pos { return Pos{Offset: l.i, Line: l.line, Col: l.col} }

// advance moves to byte offset j, keeping line and column up to date. The
// column counts code points: every byte that is not a UTF-8 continuation
// byte.
func (l *lexer) advance(j int) {
	src := l.src[:j]
	line, col := l.line, l.col
	for i := l.i; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line++
			col = 1
		} else if c < 0x80 || c >= 0xC0 {
			col++
		}
	}
	l.i, l.line, l.col = j, line, col
}

// emit appends the token src[l.i:j] and moves past it.
func (l *lexer) emit(kind Kind, j int, value string, k kw) {
	start := l.pos()
	text := l.src[l.i:j]
	l.advance(j)
	if kind != Comment && kind != Hint {
		l.prevSig = len(l.toks)
	}
	if kind == Ident || kind == Keyword || kind == Number || kind == Operator || kind == Punct || kind == URIIdent || kind == Invalid {
		value = text
	}
	l.toks = append(l.toks, Token{Kind: kind, Text: text, Value: value, Start: start, End: l.pos()})
	if l.wantKW {
		l.kws = append(l.kws, k)
	}
}

func (l *lexer) fail(at Pos, rule, msg string) {
	if l.err == nil {
		l.err = &Error{Pos: at, Rule: rule, Msg: msg}
	}
}

// run lexes until the end of the source or, when hint is set, until just
// after the "*/" that ends a hint. It reports whether it stopped at "*/".
func (l *lexer) run(hint bool) bool {
	src := l.src
	for l.i < len(src) {
		c := src[l.i]
		var next byte
		if l.i+1 < len(src) {
			next = src[l.i+1]
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(l.i + 1)
		case c >= utf8.RuneSelf:
			r, w := utf8.DecodeRuneInString(src[l.i:])
			switch {
			case r == utf8.RuneError && w == 1:
				l.emit(Invalid, l.i+1, "", kwNone)
			case isSparkSpace(r):
				l.advance(l.i + w)
			case isLetterRune(r):
				l.word()
			default:
				l.emit(Invalid, l.i+w, "", kwNone)
			}
		case isASCIILetter(c) || c == '_' || isDigit(c):
			l.word()
		case c == '`':
			l.quotedIdent()
		case c == '\'' || c == '"':
			l.quoted(l.i, c)
		case c == '-':
			switch next {
			case '-':
				l.lineComment()
			case '>':
				l.emit(Operator, l.i+2, "", kwNone)
			default:
				l.emit(Operator, l.i+1, "", kwNone)
			}
		case c == '/':
			if next == '*' {
				if l.i+2 < len(src) && src[l.i+2] == '+' {
					if hint {
						// Spark's hint-start token inside a hint; no nesting.
						l.emit(Operator, l.i+3, "", kwNone)
						break
					}
					l.hint()
				} else {
					l.blockComment()
				}
			} else {
				l.emit(Operator, l.i+1, "", kwNone)
			}
		case c == '.':
			if isDigit(next) {
				if e := numberEnd(src, l.i); e > l.i {
					l.emit(Number, e, "", kwNone)
					break
				}
			}
			l.emit(Punct, l.i+1, "", kwNone)
		case c == '(' || c == ')' || c == ',' || c == ';' || c == '[' || c == ']':
			l.emit(Punct, l.i+1, "", kwNone)
		case c == '$':
			l.variable()
		case c == '?':
			l.emit(Param, l.i+1, "", kwNone)
		case c == ':':
			l.colon(next)
		case c == '*':
			if next == '/' {
				l.emit(Operator, l.i+2, "", kwNone)
				if hint {
					return true
				}
			} else {
				l.emit(Operator, l.i+1, "", kwNone)
			}
		default:
			if n := operatorLen(src[l.i:], l.complexLevel); n > 0 {
				if c == '>' && n == 1 && l.complexLevel > 0 {
					l.complexLevel--
				}
				l.emit(Operator, l.i+n, "", kwNone)
			} else {
				l.emit(Invalid, l.i+1, "", kwNone)
			}
		}
	}
	return false
}

// operatorLen returns the length of the operator at the start of s (one of
// = == => <=> <= <> << < >>> >> >= > != !> !< ! || |> | + % ~ & ^), or 0.
func operatorLen(s string, complexLevel int) int {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	switch s[0] {
	case '=':
		if at(1) == '=' || at(1) == '>' {
			return 2
		}
		return 1
	case '<':
		if at(1) == '=' && at(2) == '>' {
			return 3
		}
		if at(1) == '=' || at(1) == '>' || at(1) == '<' {
			return 2
		}
		return 1
	case '>':
		if complexLevel == 0 && at(1) == '>' {
			if at(2) == '>' {
				return 3
			}
			return 2
		}
		if at(1) == '=' {
			return 2
		}
		return 1
	case '!':
		if at(1) == '=' || at(1) == '>' || at(1) == '<' {
			return 2
		}
		return 1
	case '|':
		if at(1) == '|' || at(1) == '>' {
			return 2
		}
		return 1
	case '+', '%', '~', '&', '^':
		return 1
	}
	return 0
}

// word lexes an unquoted identifier, keyword, number, URI identifier or raw
// string, whichever of Spark's rules gives the longest match.
func (l *lexer) word() {
	src := l.src
	s := l.i
	j := s
	lettersOnly := true
	for j < len(src) {
		c := src[j]
		if c < utf8.RuneSelf {
			if isASCIILetter(c) {
				j++
				continue
			}
			if isDigit(c) || c == '_' {
				lettersOnly = false
				j++
				continue
			}
			break
		}
		r, w := utf8.DecodeRuneInString(src[j:])
		if (r == utf8.RuneError && w == 1) || !isLetterRune(r) {
			break
		}
		j += w
	}
	first := src[s]
	if isDigit(first) {
		if e := numberEnd(src, s); e >= j {
			l.emit(Number, e, "", kwNone)
			return
		}
		l.emit(Ident, j, "", kwNone)
		return
	}
	// URI form: letters "://" followed by at least one URI character.
	if lettersOnly && first != '_' && strings.HasPrefix(src[j:], "://") {
		m := j + 3
		for m < len(src) {
			c := src[m]
			if c < utf8.RuneSelf {
				if isASCIILetter(c) || isDigit(c) || strings.IndexByte("_/-.?=&#%", c) >= 0 {
					m++
					continue
				}
				break
			}
			r, w := utf8.DecodeRuneInString(src[m:])
			if (r == utf8.RuneError && w == 1) || !isLetterRune(r) {
				break
			}
			m += w
		}
		if m > j+3 {
			l.emit(URIIdent, m, "", kwNone)
			return
		}
	}
	// Raw string: R'…' or R"…" (no escapes; ends at the next matching quote).
	if j < len(src) && (src[j] == '\'' || src[j] == '"') {
		if r, w := utf8.DecodeRuneInString(src[s:]); s+w == j && upper(r) == 'R' {
			q := src[j]
			if k := strings.IndexByte(src[j+1:], q); k >= 0 {
				end := j + 1 + k + 1
				l.emit(String, end, src[j+1:end-1], kwNone)
				return
			}
		}
	}
	text := src[s:j]
	k := lookupKeyword(text)
	if k == kwNone {
		l.emit(Ident, j, "", kwNone)
		return
	}
	if k == kwArray || k == kwMap || k == kwStruct {
		l.complexLevel++
	}
	l.emit(Keyword, j, "", k)
}

// numberEnd returns the end of the longest numeric literal Spark would lex at
// src[s:] (s at a digit or at '.'), or -1. Decimal forms (those with a '.')
// are only valid when not followed by a letter, digit or '_', as in Spark.
func numberEnd(src string, s int) int {
	best := -1
	d := s
	for d < len(src) && isDigit(src[d]) {
		d++
	}
	intPart := d > s
	if intPart {
		best = d
		switch upperAt(src, d) {
		case 'L', 'S', 'Y':
			best = d + 1
		}
		if e := suffixEnd(src, d); e > best {
			best = e
		}
		if e := exponentEnd(src, d); e > 0 {
			if e > best {
				best = e
			}
			if f := suffixEnd(src, e); f > best {
				best = f
			}
		}
	}
	if d < len(src) && src[d] == '.' {
		f := d + 1
		for f < len(src) && isDigit(src[f]) {
			f++
		}
		if intPart || f > d+1 {
			try := func(e int) {
				if e > best && validDecimalEnd(src, e) {
					best = e
				}
			}
			try(f)
			if e := suffixEnd(src, f); e > 0 {
				try(e)
			}
			if e := exponentEnd(src, f); e > 0 {
				try(e)
				if g := suffixEnd(src, e); g > 0 {
					try(g)
				}
			}
		}
	}
	return best
}

// exponentEnd returns the end of E[+-]digits at src[p:], or -1.
func exponentEnd(src string, p int) int {
	if upperAt(src, p) != 'E' {
		return -1
	}
	p++
	if p < len(src) && (src[p] == '+' || src[p] == '-') {
		p++
	}
	q := p
	for q < len(src) && isDigit(src[q]) {
		q++
	}
	if q == p {
		return -1
	}
	return q
}

// suffixEnd returns the end of a F, D or BD suffix at src[p:], or -1.
func suffixEnd(src string, p int) int {
	switch upperAt(src, p) {
	case 'F', 'D':
		return p + 1
	case 'B':
		if upperAt(src, p+1) == 'D' {
			return p + 2
		}
	}
	return -1
}

// validDecimalEnd mirrors Spark's isValidDecimal: a decimal literal must not
// be followed by a letter A-Z (after upper-casing), a digit or '_'.
func validDecimalEnd(src string, p int) bool {
	switch c := upperAt(src, p); {
	case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		return false
	}
	return true
}

// upperAt returns the upper-cased code point at src[p:], or 0 at the end.
func upperAt(src string, p int) rune {
	if p >= len(src) {
		return 0
	}
	c := src[p]
	if c < utf8.RuneSelf {
		if c >= 'a' && c <= 'z' {
			return rune(c - ('a' - 'A'))
		}
		return rune(c)
	}
	r, _ := utf8.DecodeRuneInString(src[p:])
	return upper(r)
}

func (l *lexer) quotedIdent() {
	src := l.src
	s := l.i
	j := s + 1
	doubled := false
	for {
		k := strings.IndexByte(src[j:], '`')
		if k < 0 {
			l.fail(l.pos(), RuleUnclosedQuotedIdent, "unclosed backquoted identifier")
			l.emit(QuotedIdent, len(src), src[s+1:], kwNone)
			return
		}
		j += k
		if j+1 < len(src) && src[j+1] == '`' {
			doubled = true
			j += 2
			continue
		}
		break
	}
	v := src[s+1 : j]
	if doubled {
		v = strings.ReplaceAll(v, "``", "`")
	}
	l.emit(QuotedIdent, j+1, v, kwNone)
}

// quoted lexes a '…' or "…" string starting at s: backslash escapes any
// character and a doubled quote stands for one quote.
func (l *lexer) quoted(s int, q byte) {
	src := l.src
	j := s + 1
	simple := true
	for j < len(src) {
		c := src[j]
		if c == '\\' {
			simple = false
			j += 2
			continue
		}
		if c == q {
			if j+1 < len(src) && src[j+1] == q {
				simple = false
				j += 2
				continue
			}
			v := src[s+1 : j]
			if !simple {
				v = unescape(v, q)
			}
			l.emit(String, j+1, v, kwNone)
			return
		}
		j++
	}
	l.fail(l.pos(), RuleUnclosedString, "unclosed string literal")
	l.emit(String, len(src), src[s+1:], kwNone)
}

// unescape decodes the body of a '…' or "…" literal the way Spark does:
// backslash escapes (\n \t \r \b \0 \Z \uXXXX, octal \ooo, \% and \_ kept with
// their backslash, any other \c is c) and doubled quotes.
func unescape(s string, q byte) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == q && i+1 < len(s) && s[i+1] == q {
			b.WriteByte(q)
			i++
			continue
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		e := s[i]
		switch {
		case e == 'u' && i+4 < len(s) && isHex(s[i+1:i+5]):
			b.WriteRune(rune(hexVal(s[i+1 : i+5])))
			i += 4
		case e >= '0' && e <= '3' && i+2 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]):
			b.WriteByte((e-'0')<<6 | (s[i+1]-'0')<<3 | (s[i+2] - '0'))
			i += 2
		case e == '0':
			b.WriteByte(0)
		case e == 'b':
			b.WriteByte('\b')
		case e == 'n':
			b.WriteByte('\n')
		case e == 'r':
			b.WriteByte('\r')
		case e == 't':
			b.WriteByte('\t')
		case e == 'Z':
			b.WriteByte(0x1A)
		case e == '%' || e == '_':
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			v = v*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a') + 10
		default:
			v = v*16 + int(c-'A') + 10
		}
	}
	return v
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// lineComment lexes "--" to the end of the line. A backslash immediately
// before '\n' continues the comment onto the next line, as in Spark. The line
// end ("\n", "\r" or "\r\n") belongs to the comment.
func (l *lexer) lineComment() {
	src := l.src
	j := l.i + 2
	for j < len(src) {
		c := src[j]
		if c == '\\' && j+1 < len(src) && src[j+1] == '\n' {
			j += 2
			continue
		}
		if c == '\n' || c == '\r' {
			break
		}
		j++
	}
	if j < len(src) && src[j] == '\r' {
		j++
	}
	if j < len(src) && src[j] == '\n' {
		j++
	}
	l.emit(Comment, j, "", kwNone)
}

// blockComment lexes a "/* … */" comment. Comments nest; "/*+" inside a
// comment does not open a nested one.
func (l *lexer) blockComment() {
	src := l.src
	j := l.i + 2
	depth := 1
	for j < len(src) {
		c := src[j]
		if c == '/' && j+1 < len(src) && src[j+1] == '*' && !(j+2 < len(src) && src[j+2] == '+') {
			depth++
			j += 2
			continue
		}
		if c == '*' && j+1 < len(src) && src[j+1] == '/' {
			depth--
			j += 2
			if depth == 0 {
				l.emit(Comment, j, "", kwNone)
				return
			}
			continue
		}
		j++
	}
	l.fail(l.pos(), RuleUnclosedComment, "unclosed /* comment")
	l.emit(Comment, len(src), "", kwNone)
}

// hint lexes "/*+ … */" as one Hint token. Inside a hint Spark lexes ordinary
// tokens up to the "*/" token, so strings and comments inside are honoured.
func (l *lexer) hint() {
	start := l.pos()
	mark := len(l.toks)
	prev := l.prevSig
	level := l.complexLevel
	l.advance(l.i + 3)
	closed := l.run(true)
	end := l.pos()
	l.toks = l.toks[:mark]
	if l.wantKW {
		l.kws = l.kws[:mark]
	}
	l.prevSig = prev
	l.complexLevel = level
	text := l.src[start.Offset:end.Offset]
	value := text[3:]
	if closed && strings.HasSuffix(value, "*/") {
		value = value[:len(value)-2]
	}
	if !closed {
		l.fail(start, RuleUnclosedHint, "unclosed /*+ hint")
	}
	l.toks = append(l.toks, Token{Kind: Hint, Text: text, Value: value, Start: start, End: end})
	if l.wantKW {
		l.kws = append(l.kws, kwNone)
	}
}

// variable lexes "${…}" (up to the first '}') as a Variable; a lone '$' or an
// unclosed "${" is Invalid text to Spark, but "${" is kept as a Variable so
// that it is never missed.
func (l *lexer) variable() {
	src := l.src
	if l.i+1 < len(src) && src[l.i+1] == '{' {
		k := -1
		if l.i >= l.noBraceFrom {
			// Known: no '}' from here on (keeps "${${${…" linear).
		} else if k = strings.IndexByte(src[l.i+2:], '}'); k < 0 {
			l.noBraceFrom = l.i
		}
		if k >= 0 {
			end := l.i + 2 + k + 1
			l.emit(Variable, end, src[l.i+2:end-1], kwNone)
			return
		}
		l.emit(Variable, l.i+2, "", kwNone)
		return
	}
	l.emit(Invalid, l.i+1, "", kwNone)
}

// colon lexes "::", a named parameter marker ":name", or a lone ':'. Spark's
// lexer only has COLON; its parser reads COLON name as a parameter where a
// literal may stand and as the semi-structured path operator (v:a.b) or a
// struct field separator after an expression. We call it a parameter unless
// the previous token can end an expression or a field name.
func (l *lexer) colon(next byte) {
	if next == ':' {
		l.emit(Operator, l.i+2, "", kwNone)
		return
	}
	src := l.src
	if next == '`' && !l.prevEndsOperand() {
		j := l.i + 2
		for {
			k := strings.IndexByte(src[j:], '`')
			if k < 0 {
				break
			}
			j += k
			if j+1 < len(src) && src[j+1] == '`' {
				j += 2
				continue
			}
			l.emit(Param, j+1, strings.ReplaceAll(src[l.i+2:j], "``", "`"), kwNone)
			return
		}
	}
	if l.i+1 < len(src) && l.startsName(l.i+1) && !l.prevEndsOperand() {
		j := l.i + 1
		for j < len(src) {
			c := src[j]
			if c < utf8.RuneSelf {
				if isASCIILetter(c) || isDigit(c) || c == '_' {
					j++
					continue
				}
				break
			}
			r, w := utf8.DecodeRuneInString(src[j:])
			if (r == utf8.RuneError && w == 1) || !isLetterRune(r) {
				break
			}
			j += w
		}
		if j > l.i+1 {
			l.emit(Param, j, src[l.i+1:j], kwNone)
			return
		}
	}
	l.emit(Operator, l.i+1, "", kwNone)
}

func (l *lexer) startsName(p int) bool {
	c := l.src[p]
	if c < utf8.RuneSelf {
		return isASCIILetter(c) || isDigit(c) || c == '_'
	}
	r, w := utf8.DecodeRuneInString(l.src[p:])
	return !(r == utf8.RuneError && w == 1) && isLetterRune(r)
}

// prevEndsOperand reports whether the previous significant token can end an
// operand or name a struct field, so that a following ':' is an operator.
func (l *lexer) prevEndsOperand() bool {
	if l.prevSig < 0 {
		return false
	}
	t := l.toks[l.prevSig]
	switch t.Kind {
	case Ident, QuotedIdent, URIIdent, String, Number:
		return true
	case Punct:
		return t.Text == ")" || t.Text == "]"
	case Keyword:
		switch lookupKeyword(t.Text) {
		case kwSelect, kwWhere, kwAnd, kwOr, kwNot, kwOn, kwWhen, kwThen, kwElse, kwCase,
			kwBy, kwHaving, kwIn, kwBetween, kwLike, kwIlike, kwRlike, kwIs, kwLimit,
			kwOffset, kwDistinct, kwAll, kwValues, kwInterval, kwEscape, kwDiv, kwOf,
			kwExists, kwFrom, kwAs, kwAny, kwSome:
			return false
		}
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool       { return c >= '0' && c <= '9' }

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

// upper mirrors Java's Character.toUpperCase, which Spark applies to every
// code point before matching (so U+017F ſ is S and U+0131 ı is I).
func upper(r rune) rune {
	if r < utf8.RuneSelf {
		if r >= 'a' && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	return unicode.ToUpper(r)
}

// isLetterRune mirrors Spark's UNICODE_LETTER ([\p{L}]) tested on the
// upper-cased code point.
func isLetterRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(upper(r))
}

// isSparkSpace reports whether r is in Spark's WS rule. It differs from
// unicode.IsSpace: U+0085 and U+2029 are not whitespace to Spark.
func isSparkSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r', '\v', 0x00A0, 0x1680, 0x2028, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}
