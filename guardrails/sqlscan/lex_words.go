package sqlscan

import (
	"strings"
	"unicode/utf8"
)

// word lexes an unquoted identifier, keyword, number, URI identifier or raw
// string, whichever of Spark's rules gives the longest match.
func (l *lexer) word() {
	src := l.src
	s := l.i
	j := s
	lettersOnly := true
	ascii := true
	for j < len(src) {
		c := src[j]
		if c < utf8.RuneSelf {
			cl := byteClass[c]
			if cl&classWord == 0 {
				break
			}
			if cl&classLetter == 0 {
				lettersOnly = false
			}
			j++
			continue
		}
		r, w := utf8.DecodeRuneInString(src[j:])
		if (r == utf8.RuneError && w == 1) || !isLetterRune(r) {
			break
		}
		ascii = false
		j += w
	}
	first := src[s]
	if isDigit(first) {
		if e := numberEnd(src, s); e >= j {
			l.emit(Number, e, "", 0)
			return
		}
		l.emit(Ident, j, "", 0)
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
			l.emit(URIIdent, m, "", 0)
			return
		}
	}
	// Raw string: R'…' or R"…" (no escapes; ends at the next matching quote).
	if j < len(src) && (src[j] == '\'' || src[j] == '"') {
		if r, w := utf8.DecodeRuneInString(src[s:]); s+w == j && upper(r) == 'R' {
			q := src[j]
			if k := strings.IndexByte(src[j+1:], q); k >= 0 {
				end := j + 1 + k + 1
				l.emit(String, end, src[j+1:end-1], 0)
				return
			}
		}
	}
	text := src[s:j]
	var key uint16
	if ascii {
		key = lookupASCIIKeyword(text)
	} else {
		key = lookupKeyword(text)
	}
	kind := Keyword
	if key == 0 {
		kind = Ident
	} else if k := keywordList[key].k; k == kwArray || k == kwMap || k == kwStruct {
		l.complexLevel++
	}
	if ascii {
		l.emitASCII(kind, j, key)
	} else {
		l.emit(kind, j, "", key)
	}
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
