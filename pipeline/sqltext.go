package pipeline

import (
	"strings"
)

// quoteIdent renders one identifier part in backquotes, doubling any
// backquote inside it, so that no name can change the statement around it.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteName renders a multi-part name, each part backquoted.
func quoteName(parts ...string) string {
	q := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			q = append(q, quoteIdent(p))
		}
	}
	return strings.Join(q, ".")
}

// quoteString renders s as a Spark SQL string literal. Spark's lexer takes
// '...' with backslash escapes and has no ” escape (two adjacent literals
// are concatenated instead, so a doubled quote would silently vanish), hence
// the quote is written \'. Line breaks and tabs are written as escapes so
// every literal stays on one line.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
