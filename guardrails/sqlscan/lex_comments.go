package sqlscan

import "strings"

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
	l.emit(Comment, j, "", 0)
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
				l.emit(Comment, j, "", 0)
				return
			}
			continue
		}
		j++
	}
	l.fail(l.pos(), RuleUnclosedComment, "unclosed /* comment")
	l.emit(Comment, len(src), "", 0)
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
}
