package sqlscan

import (
	"strings"
	"unicode/utf8"
)

func (l *lexer) quotedIdent() {
	src := l.src
	s := l.i
	j := s + 1
	doubled := false
	for {
		k := strings.IndexByte(src[j:], '`')
		if k < 0 {
			l.fail(l.pos(), RuleUnclosedQuotedIdent, "unclosed backquoted identifier")
			l.emit(QuotedIdent, len(src), src[s+1:], 0)
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
	l.emit(QuotedIdent, j+1, v, 0)
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
			l.emit(String, j+1, v, 0)
			return
		}
		j++
	}
	l.fail(l.pos(), RuleUnclosedString, "unclosed string literal")
	l.emit(String, len(src), src[s+1:], 0)
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

// dollarQuoted lexes a dollar-quoted string $tag$…$tag$ (Spark 4.2+): the
// tag is letters only (after upper-casing, so it may be empty), and the
// string ends at the first byte-for-byte repetition of the opening tag. It
// reports false, consuming nothing, when no tag starts here.
func (l *lexer) dollarQuoted() bool {
	src := l.src
	j := l.i + 1
	for j < len(src) && src[j] != '$' {
		c := src[j]
		if c < utf8.RuneSelf {
			if !isASCIILetter(c) {
				return false
			}
			j++
			continue
		}
		r, w := utf8.DecodeRuneInString(src[j:])
		if u := upper(r); u < 'A' || u > 'Z' {
			return false
		}
		j += w
	}
	if j >= len(src) {
		return false
	}
	tag := src[l.i : j+1]
	body := j + 1
	if k := strings.Index(src[body:], tag); k >= 0 {
		end := body + k + len(tag)
		l.emit(String, end, src[body:body+k], 0)
		return true
	}
	l.fail(l.pos(), RuleUnclosedString, "unclosed dollar-quoted string "+tag)
	l.emit(String, len(src), src[body:], 0)
	return true
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
			l.emit(Variable, end, src[l.i+2:end-1], 0)
			return
		}
		l.emit(Variable, l.i+2, "", 0)
		return
	}
	l.emit(Invalid, l.i+1, "", 0)
}

// colon lexes "::", a named parameter marker ":name", or a lone ':'. Spark's
// lexer only has COLON; its parser reads COLON name as a parameter where a
// literal may stand and as the semi-structured path operator (v:a.b) or a
// struct field separator after an expression. We call it a parameter when
// the ':' is directly followed by an identifier or backquoted identifier (as
// Spark lexes it) and the previous token cannot end an operand.
func (l *lexer) colon(next byte) {
	if next == ':' {
		l.emit(Operator, l.i+2, "", 0)
		return
	}
	src := l.src
	param := l.i+1 < len(src) && (next == '`' || l.startsName(l.i+1)) && !l.prevEndsOperand()
	colon := len(l.toks)
	l.emit(Operator, l.i+1, "", 0)
	if !param {
		return
	}
	errBefore := l.err
	if next == '`' {
		l.quotedIdent()
	} else {
		l.word()
	}
	if l.err != errBefore || len(l.toks) != colon+2 {
		return
	}
	switch name := l.toks[colon+1]; name.Kind {
	case Ident, Keyword, QuotedIdent:
		l.toks[colon] = Token{Kind: Param, Text: src[l.toks[colon].Start.Offset:name.End.Offset], Value: name.Name(), Start: l.toks[colon].Start, End: name.End}
		l.toks = l.toks[:colon+1]
		l.prevSig = colon
	}
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
		switch keywordList[t.key].k {
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
