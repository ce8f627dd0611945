package sqlscan

import (
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
	toks, err := tokenize(src, nil)
	if err != nil {
		return toks, err
	}
	return toks, nil
}

// tokenize is Tokenize appending to toks (which may be nil), so that a
// Scanner can reuse its memory.
func tokenize(src string, toks []Token) ([]Token, *Error) {
	if len(src) > MaxSource {
		return toks[:0], &Error{Pos: Pos{Line: 1, Col: 1}, Rule: RuleTooLarge, Msg: "the source is longer than 1 GiB"}
	}
	l := &lexer{src: src, line: 1, col: 1, prevSig: -1, noBraceFrom: len(src) + 1}
	n := len(src)/4 + 16 // typical SQL has about one token per four bytes
	if cap(toks) < n {
		toks = make([]Token, 0, n)
	}
	l.toks = toks[:0]
	l.run(false)
	return l.toks, l.err
}

type lexer struct {
	src       string
	i         int // byte offset of the next unread byte
	line, col int // position of src[i]
	toks      []Token
	err       *Error
	prevSig   int // index in toks of the last token that is not a comment, or -1
	// complexLevel mirrors Spark's complex-type counter: ARRAY, MAP and STRUCT
	// raise it, '>' lowers it, and while it is above zero ">>" and ">>>" are
	// lexed as separate '>' tokens.
	complexLevel int
	noBraceFrom  int // no '}' at or after this offset (len(src)+1 until known)
}

func (l *lexer) pos() Pos { return Pos{Offset: int32(l.i), Line: int32(l.line), Col: int32(l.col)} }

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
func (l *lexer) emit(kind Kind, j int, value string, key uint16) {
	start := l.pos()
	text := l.src[l.i:j]
	l.advance(j)
	l.push(kind, start, text, value, key)
}

// emitASCII is emit for a token known to be ASCII without a newline.
func (l *lexer) emitASCII(kind Kind, j int, key uint16) {
	start := l.pos()
	text := l.src[l.i:j]
	l.col += j - l.i
	l.i = j
	l.push(kind, start, text, "", key)
}

// push appends a token; key is its index in keywordList (0 for a token that
// is not a keyword).
func (l *lexer) push(kind Kind, start Pos, text, value string, key uint16) {
	if kind != Comment && kind != Hint {
		l.prevSig = len(l.toks)
	}
	if kind == Ident || kind == Keyword || kind == Number || kind == Operator || kind == Punct || kind == URIIdent || kind == Invalid {
		value = text
	}
	// Fill the new slot field by field: building a Token and copying it in
	// costs a store-forwarding stall per token, a third of the lexer's time.
	n := len(l.toks)
	if n < cap(l.toks) {
		l.toks = l.toks[:n+1]
	} else {
		// The estimate was short: grow once to the most tokens the source
		// can hold (every token is at least one byte).
		grown := make([]Token, n+1, max(2*n, len(l.src)+1))
		copy(grown, l.toks)
		l.toks = grown
	}
	t := &l.toks[n]
	t.Kind, t.key, t.Text, t.Value, t.Start, t.End = kind, key, text, value, start, l.pos()
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
		switch cl := byteClass[c]; {
		case cl&classSpace != 0:
			l.spaces()
		case cl&classWord != 0:
			l.word()
		case c >= utf8.RuneSelf:
			r, w := utf8.DecodeRuneInString(src[l.i:])
			switch {
			case r == utf8.RuneError && w == 1:
				l.emit(Invalid, l.i+1, "", 0)
			case isSparkSpace(r):
				l.advance(l.i + w)
			case isLetterRune(r):
				l.word()
			default:
				l.emit(Invalid, l.i+w, "", 0)
			}
		case c == '`':
			l.quotedIdent()
		case c == '\'' || c == '"':
			l.quoted(l.i, c)
		case c == '-':
			switch next {
			case '-':
				l.lineComment()
			case '>':
				l.emit(Operator, l.i+2, "", 0)
			default:
				l.emit(Operator, l.i+1, "", 0)
			}
		case c == '/':
			if next == '*' {
				if l.i+2 < len(src) && src[l.i+2] == '+' {
					if hint {
						// Spark's hint-start token inside a hint; no nesting.
						l.emit(Operator, l.i+3, "", 0)
						break
					}
					l.hint()
				} else {
					l.blockComment()
				}
			} else {
				l.emit(Operator, l.i+1, "", 0)
			}
		case c == '.':
			if isDigit(next) {
				if e := numberEnd(src, l.i); e > l.i {
					l.emit(Number, e, "", 0)
					break
				}
			}
			l.emit(Punct, l.i+1, "", 0)
		case c == '(' || c == ')' || c == ',' || c == ';' || c == '[' || c == ']':
			l.emitASCII(Punct, l.i+1, 0)
		case c == '$':
			if !l.dollarQuoted() {
				l.variable()
			}
		case c == '@':
			// Spark 4.3's time-travel shorthand: AT_VERSION "@v" (t@v12) and
			// AT_SIGN "@" (t@20240101000000000).
			if next == 'v' || next == 'V' {
				l.emit(Operator, l.i+2, "", 0)
			} else {
				l.emit(Operator, l.i+1, "", 0)
			}
		case c == '?':
			l.emit(Param, l.i+1, "", 0)
		case c == ':':
			l.colon(next)
		case c == '*':
			if next == '/' {
				l.emit(Operator, l.i+2, "", 0)
				if hint {
					return true
				}
			} else {
				l.emit(Operator, l.i+1, "", 0)
			}
		default:
			if n := operatorLen(src[l.i:], l.complexLevel); n > 0 {
				if c == '>' && n == 1 && l.complexLevel > 0 {
					l.complexLevel--
				}
				l.emitASCII(Operator, l.i+n, 0)
			} else {
				l.emit(Invalid, l.i+1, "", 0)
			}
		}
	}
	return false
}

// spaces skips a run of ASCII whitespace.
func (l *lexer) spaces() {
	src := l.src
	for ; l.i < len(src); l.i++ {
		switch src[l.i] {
		case ' ', '\t', '\r', '\f', '\v':
			l.col++
		case '\n':
			l.line++
			l.col = 1
		default:
			return
		}
	}
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

func isASCIILetter(c byte) bool { return byteClass[c]&classLetter != 0 }
func isDigit(c byte) bool       { return c >= '0' && c <= '9' }

// Byte classes of ASCII bytes, for the lexer's hot loops.
const (
	classSpace  = 1 << iota // ' ', \t, \n, \r, \f, \v
	classLetter             // A-Z a-z
	classWord               // a letter, a digit or '_': continues an identifier
)

// byteClass maps each byte to its classes; bytes from 0x80 have none.
var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f\v") {
		t[c] |= classSpace
	}
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] |= classLetter | classWord
		case c >= '0' && c <= '9' || c == '_':
			t[c] |= classWord
		}
	}
	return t
}()

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
