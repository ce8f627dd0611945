package pipeline

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds a small lexer that follows Spark's lexical rules closely
// enough to answer one question about agent-written SQL fragments: can the
// fragment escape the parentheses the server puts around it? It is not the
// guardrails' scanner (guardrails/sqlscan does the real analysis); it is the
// last check before the server embeds text in a statement it writes.

// lexKind classifies lexer tokens.
type lexKind int

const (
	lexSpace lexKind = iota
	lexComment
	lexHint
	lexIdent
	lexQuotedIdent
	lexString
	lexPunct
)

type lexToken struct {
	kind       lexKind
	text       string
	start, end int
}

// lexSQL splits s into tokens. It returns a message when a string, quoted
// identifier or comment is not closed.
func lexSQL(s string) ([]lexToken, string) {
	var toks []lexToken
	i := 0
	for i < len(s) {
		start := i
		c := s[i]
		var kind lexKind
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			for i < len(s) && strings.IndexByte(" \t\n\r\f\v", s[i]) >= 0 {
				i++
			}
			kind = lexSpace
		case strings.HasPrefix(s[i:], "--"):
			// Spark: '--' ('\\\n' | ~[\r\n])* — a backslash before the
			// newline continues the comment on the next line.
			i += 2
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\n' {
					i += 2
					continue
				}
				i++
			}
			kind = lexComment
		case strings.HasPrefix(s[i:], "/*+"):
			i += 3
			kind = lexHint
		case strings.HasPrefix(s[i:], "/*"):
			// Bracketed comments nest in Spark.
			depth := 0
			for i < len(s) {
				switch {
				case strings.HasPrefix(s[i:], "/*"):
					depth++
					i += 2
				case strings.HasPrefix(s[i:], "*/"):
					depth--
					i += 2
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
			if depth != 0 {
				return toks, "a /* comment is not closed"
			}
			kind = lexComment
		case (c == 'r' || c == 'R') && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"') && !identBefore(s, i):
			q := s[i+1]
			end := strings.IndexByte(s[i+2:], q)
			if end < 0 {
				return toks, "a raw string literal is not closed"
			}
			i += 2 + end + 1
			kind = lexString
		case c == '\'' || c == '"':
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' {
					i += 2
					continue
				}
				if s[i] == c {
					i++
					closed = true
					break
				}
				i++
			}
			if !closed {
				return toks, fmt.Sprintf("a %c-quoted string is not closed", c)
			}
			kind = lexString
		case c == '`':
			i++
			closed := false
			for i < len(s) {
				if s[i] == '`' {
					if i+1 < len(s) && s[i+1] == '`' {
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				i++
			}
			if !closed {
				return toks, "a `-quoted identifier is not closed"
			}
			kind = lexQuotedIdent
		case isIdentRune(s, i):
			for i < len(s) && isIdentRune(s, i) {
				_, n := utf8.DecodeRuneInString(s[i:])
				i += n
			}
			kind = lexIdent
		default:
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			kind = lexPunct
		}
		if i > len(s) {
			i = len(s)
		}
		toks = append(toks, lexToken{kind: kind, text: s[start:i], start: start, end: i})
	}
	return toks, ""
}

func isIdentRune(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// identBefore reports whether the byte before i continues an identifier, in
// which case an r or R at i is part of that identifier, not a raw-string prefix.
func identBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lexMode selects the rules of [lexCheck].
type lexMode int

const (
	// lexQuery is for query bodies: comments are fine.
	lexQuery lexMode = iota
	// lexCondition is for expectation conditions, which the server puts on
	// one line inside other expressions: no comments at all.
	lexCondition
)

// lexCheck returns a message when s could escape the parentheses around it
// or end the statement: an unclosed literal or comment, unbalanced
// parentheses, a ;, a hint, a comment continued onto the next line (or, for
// conditions, any comment).
func lexCheck(s string, mode lexMode) string {
	toks, msg := lexSQL(s)
	if msg != "" {
		return msg
	}
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case lexHint:
			return "hints (/*+ ... */) are not allowed"
		case lexComment:
			if mode == lexCondition {
				return "comments are not allowed in a condition"
			}
			if strings.HasPrefix(t.text, "--") && strings.Contains(t.text, "\\\n") {
				return "a -- comment ends with \\ and so continues onto the next line"
			}
		case lexPunct:
			switch t.text {
			case ";":
				return "a ; is not allowed (send one query, without a trailing semicolon)"
			case "(":
				depth++
			case ")":
				depth--
				if depth < 0 {
					return "a ) has no matching ("
				}
			}
		}
	}
	if depth > 0 {
		return "a ( is not closed"
	}
	return ""
}

// schemaDenied are keywords that would put an expression into a column list.
// Column names that collide with them can be written in backquotes.
func schemaDenied() map[string]bool {
	return map[string]bool{"DEFAULT": true, "GENERATED": true, "ALWAYS": true, "IDENTITY": true,
		"CONSTRAINT": true, "CHECK": true, "AS": true, "SELECT": true, "FROM": true}
}

// checkSchema returns a message when s is not a plain DDL column list:
// names, types (with numeric parameters), NOT NULL, COMMENT '...' and
// COLLATE. Expressions (DEFAULT, GENERATED, CHECK) are refused because
// nothing else checks them.
func checkSchema(s string) string {
	if len(s) > maxTextField {
		return fmt.Sprintf("the schema is longer than %d bytes", maxTextField)
	}
	if msg := badText(s, true); msg != "" {
		return msg
	}
	toks, msg := lexSQL(s)
	if msg != "" {
		return msg
	}
	denied := schemaDenied()
	depth, angle := 0, 0
	var inParens []lexToken
	for _, t := range toks {
		if depth > 0 && t.kind != lexSpace && t.text != ")" {
			inParens = append(inParens, t)
		}
		switch t.kind {
		case lexComment, lexHint:
			return "comments are not allowed in a schema"
		case lexIdent:
			if denied[strings.ToUpper(t.text)] {
				return t.text + " is not allowed: a schema lists columns, types, NOT NULL and COMMENT only (backquote a column named " + t.text + ")"
			}
			if !isASCII(t.text) {
				return "use backquotes for column names outside ASCII"
			}
		case lexPunct:
			switch t.text {
			case "(":
				if depth > 0 {
					return "nested parentheses are not allowed in a schema"
				}
				depth++
				inParens = inParens[:0]
			case ")":
				depth--
				if depth < 0 {
					return "a ) has no matching ("
				}
				for _, p := range inParens {
					if p.kind != lexIdent || !isDigits(p.text) {
						if p.text != "," {
							return "parentheses in a schema may hold only type parameters such as DECIMAL(10, 2)"
						}
					}
				}
			case "<":
				angle++
			case ">":
				angle--
				if angle < 0 {
					return "a > has no matching <"
				}
			case ",", ":":
			default:
				return fmt.Sprintf("%q is not allowed in a schema", t.text)
			}
		}
	}
	switch {
	case depth > 0:
		return "a ( is not closed"
	case angle > 0:
		return "a < is not closed"
	case len(schemaColumns(s)) == 0:
		return "the schema lists no columns"
	}
	return ""
}

// schemaColumns returns the column names of a DDL column list that passed
// checkSchema: the first token of each top-level, comma-separated item,
// unquoted.
func schemaColumns(s string) []string {
	toks, msg := lexSQL(s)
	if msg != "" {
		return nil
	}
	var cols []string
	depth, expectName := 0, true
	for _, t := range toks {
		switch {
		case t.kind == lexSpace:
		case t.text == "(" || t.text == "<":
			depth++
		case t.text == ")" || t.text == ">":
			depth--
		case t.text == "," && depth == 0:
			expectName = true
		case expectName && depth == 0:
			expectName = false
			switch t.kind {
			case lexIdent:
				cols = append(cols, t.text)
			case lexQuotedIdent:
				cols = append(cols, strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`"))
			}
		}
	}
	return cols
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
