package guardrails

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// maxPerRule caps how many findings of one rule are listed; the last one
// listed says how many more there were.
const maxPerRule = 10

// collector gathers findings, capping each rule.
type collector struct {
	body     string
	findings []Finding
	count    map[string]int
	last     map[string]int // index in findings of the last listed finding per rule
	pos      posTracker
}

func newCollector(body string) *collector {
	return &collector{body: body, count: map[string]int{}, last: map[string]int{}, pos: posTracker{src: body, at: sqlscan.Pos{Line: 1, Col: 1}}}
}

func (c *collector) add(rule string, start, end sqlscan.Pos, got, msg, hint string) {
	c.count[rule]++
	if c.count[rule] > maxPerRule {
		return
	}
	c.last[rule] = len(c.findings)
	c.findings = append(c.findings, Finding{Rule: rule, Start: start, End: end, Got: shorten(got), Message: msg, Hint: hint})
}

// room reports whether a finding of rule would still be listed. When it
// would not, it counts the finding, so that a body with thousands of the
// same problem costs no message formatting: build a finding and add it
// only when room says so.
func (c *collector) room(rule string) bool {
	if c.count[rule] < maxPerRule {
		return true
	}
	c.count[rule]++
	return false
}

// finish notes the findings left out and returns the findings in source order.
func (c *collector) finish() []Finding {
	for rule, n := range c.count {
		if n > maxPerRule {
			f := &c.findings[c.last[rule]]
			f.Message += fmt.Sprintf(" (%d more like this not listed)", n-maxPerRule)
		}
	}
	sortFindings(c.findings)
	return c.findings
}

func sortFindings(fs []Finding) {
	// insertion sort keeps equal positions in the order they were found
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Start.Offset < fs[j-1].Start.Offset; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// posTracker turns byte offsets, visited in increasing order, into positions.
type posTracker struct {
	src string
	at  sqlscan.Pos
}

func (t *posTracker) pos(off int) sqlscan.Pos {
	if off < int(t.at.Offset) {
		t.at = sqlscan.Pos{Line: 1, Col: 1}
	}
	for i := int(t.at.Offset); i < off && i < len(t.src); i++ {
		c := t.src[i]
		if c == '\n' {
			t.at.Line++
			t.at.Col = 1
		} else if c < 0x80 || c >= 0xC0 {
			t.at.Col++
		}
	}
	t.at.Offset = int32(off)
	return t.at
}

// checkSize reports a body over the size cap; nothing else is looked at then.
func checkSize(c *collector, body string, max int) bool {
	if len(body) <= max {
		return true
	}
	end := c.pos.pos(len(body))
	c.add(RuleTooLarge, sqlscan.Pos{Line: 1, Col: 1}, end, "",
		fmt.Sprintf("the query body is %d bytes; the limit is %d bytes", len(body), max),
		"shorten the query: split it into several datasets that read each other, and drop long comments")
	return false
}

// checkChars looks at every character: invalid UTF-8, control and invisible
// formatting characters anywhere, and non-ASCII outside string literals and
// backquoted identifiers. Runs of the same problem are one finding.
func checkChars(c *collector, body string, toks []sqlscan.Token) {
	lit := 0 // index of the next String/QuotedIdent token
	nextLit := func(off int) (int, int) {
		for lit < len(toks) {
			t := &toks[lit]
			if (t.Kind == sqlscan.String || t.Kind == sqlscan.QuotedIdent) && int(t.End.Offset) > off {
				return int(t.Start.Offset), int(t.End.Offset)
			}
			lit++
		}
		return len(body) + 1, len(body) + 1
	}
	litStart, litEnd := nextLit(0)
	runRule, runStart := "", 0
	flush := func(end int) {
		if runRule == "" {
			return
		}
		got := body[runStart:end]
		start, stop := c.pos.pos(runStart), c.pos.pos(end)
		switch runRule {
		case RuleUTF8:
			if c.room(RuleUTF8) {
				c.add(RuleUTF8, start, stop, fmt.Sprintf("%q", got),
					fmt.Sprintf("the query body is not valid UTF-8 (bytes %q at %d:%d)", got, start.Line, start.Col),
					"send the query as UTF-8 text")
			}
		case RuleControlChar:
			r, _ := utf8.DecodeRuneInString(got)
			if c.room(RuleControlChar) {
				c.add(RuleControlChar, start, stop, fmt.Sprintf("%q", got),
					fmt.Sprintf("%s %s at %d:%d is not allowed", charKind(r), runeName(r), start.Line, start.Col),
					"remove it; separate tokens with spaces, tabs and newlines only, and write special characters inside string literals as escapes such as '\\t' or with char(n)")
			}
		case RuleNonASCII:
			r, _ := utf8.DecodeRuneInString(got)
			if c.room(RuleNonASCII) {
				c.add(RuleNonASCII, start, stop, got,
					fmt.Sprintf("non-ASCII text %s (%s) at %d:%d is outside a string literal or quoted identifier", quote(got), runeName(r), start.Line, start.Col),
					nonASCIIHint(r))
			}
		}
		runRule = ""
	}
	for i := 0; i < len(body); {
		if plainByte[body[i]] {
			if runRule != "" {
				flush(i)
			}
			i++
			for i < len(body) && plainByte[body[i]] {
				i++
			}
			continue
		}
		for i >= litEnd {
			lit++
			litStart, litEnd = nextLit(i)
		}
		inLit := i >= litStart && i < litEnd
		r, w := utf8.DecodeRuneInString(body[i:])
		rule := ""
		switch {
		case r == utf8.RuneError && w == 1:
			rule = RuleUTF8
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || unicode.Is(unicode.Cf, r):
			rule = RuleControlChar
		case !inLit:
			rule = RuleNonASCII
		}
		if rule != runRule {
			flush(i)
			if rule != "" {
				runRule, runStart = rule, i
			}
		}
		i += w
	}
	flush(len(body))
}

// plainByte marks the bytes that need no look: printable ASCII, tab, line
// feed and carriage return.
var plainByte = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	return t
}()

func charKind(r rune) string {
	if unicode.Is(unicode.Cf, r) {
		return "invisible formatting character"
	}
	return "control character"
}

// runeName describes r as U+XXXX with a familiar name where one helps.
func runeName(r rune) string {
	names := map[rune]string{
		0x00: "NUL", 0x09: "TAB", 0x0B: "VERTICAL TAB", 0x0C: "FORM FEED", 0x1B: "ESCAPE", 0x7F: "DELETE",
		0x85: "NEXT LINE", 0xA0: "NO-BREAK SPACE", 0xAD: "SOFT HYPHEN", 0x17F: "LATIN SMALL LETTER LONG S",
		0x131: "LATIN SMALL LETTER DOTLESS I", 0x200B: "ZERO WIDTH SPACE", 0x200C: "ZERO WIDTH NON-JOINER",
		0x200D: "ZERO WIDTH JOINER", 0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK",
		0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR", 0x202A: "LEFT-TO-RIGHT EMBEDDING",
		0x202B: "RIGHT-TO-LEFT EMBEDDING", 0x202C: "POP DIRECTIONAL FORMATTING", 0x202D: "LEFT-TO-RIGHT OVERRIDE",
		0x202E: "RIGHT-TO-LEFT OVERRIDE", 0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE",
		0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE", 0xFEFF: "BYTE ORDER MARK",
		0x2018: "LEFT SINGLE QUOTATION MARK", 0x2019: "RIGHT SINGLE QUOTATION MARK",
		0x201C: "LEFT DOUBLE QUOTATION MARK", 0x201D: "RIGHT DOUBLE QUOTATION MARK", 0x3000: "IDEOGRAPHIC SPACE",
	}
	if n, ok := names[r]; ok {
		return fmt.Sprintf("U+%04X %s", r, n)
	}
	return fmt.Sprintf("U+%04X", r)
}

func nonASCIIHint(r rune) string {
	switch {
	case unicode.IsSpace(r) || r >= 0x2000 && r <= 0x200A:
		return "replace it with a plain ASCII space; non-ASCII text is allowed only inside '...' string literals and `...` quoted identifiers"
	case r == 0x2018 || r == 0x2019 || r == 0x201C || r == 0x201D:
		return "use the ASCII quote characters ' and ` instead of typographic quotes"
	case unicode.IsLetter(r):
		return "use ASCII letters in names and keywords (Spark reads some non-ASCII letters as ASCII ones, e.g. ſ as S); quote other names with backquotes, e.g. `naïve`, and put other text in '...' string literals"
	}
	return "remove it, or move the text into a '...' string literal; non-ASCII text is allowed only inside string literals and `...` quoted identifiers"
}

// checkTokens applies the token-level hygiene rules and the paren checks.
func checkTokens(c *collector, w *work, toks []sqlscan.Token, maxDepth int) {
	stack := w.parens[:0] // indexes of the open '(' tokens
	defer func() { w.parens = stack[:0] }()
	depthReported := false
	for i := range toks {
		t := &toks[i]
		switch t.Kind {
		case sqlscan.Punct:
			switch t.Text {
			case ";":
				if c.room(RuleSemicolon) {
					c.add(RuleSemicolon, t.Start, t.End, t.Text,
						fmt.Sprintf("';' at %d:%d ends a statement; a body must be exactly one query", t.Start.Line, t.Start.Col),
						"remove the ';' and anything after it; send one query per call")
				}
			case "(":
				stack = append(stack, int32(i))
				if len(stack) > maxDepth && !depthReported {
					depthReported = true
					c.add(RuleParenDepth, t.Start, t.End, t.Text,
						fmt.Sprintf("parentheses are nested more than %d deep at %d:%d", maxDepth, t.Start.Line, t.Start.Col),
						"flatten the query: move nested subqueries into CTEs (WITH name AS (...)) and reference them by name")
				}
			case ")":
				if len(stack) == 0 {
					if c.room(RuleParenUnbalanced) {
						c.add(RuleParenUnbalanced, t.Start, t.End, t.Text,
							fmt.Sprintf("')' at %d:%d has no matching '('", t.Start.Line, t.Start.Col),
							"remove the extra ')'; the body must be one complete query with balanced parentheses")
					}
					continue
				}
				stack = stack[:len(stack)-1]
			}
		case sqlscan.Hint:
			if c.room(RuleHint) {
				c.add(RuleHint, t.Start, t.End, t.Text,
					fmt.Sprintf("optimizer hint %s at %d:%d is not allowed", quote(t.Text), t.Start.Line, t.Start.Col),
					"remove the /*+ ... */ hint; the engine chooses join strategies and partitioning itself")
			}
		case sqlscan.Param:
			if c.room(RuleParameter) {
				c.add(RuleParameter, t.Start, t.End, t.Text,
					fmt.Sprintf("parameter marker %s at %d:%d is not allowed; bodies are not parameterized", quote(t.Text), t.Start.Line, t.Start.Col),
					"write the value as a literal instead of a marker; to read a field of a variant or JSON column write it right after the column (col:field) or use variant_get(col, '$.field')")
			}
		case sqlscan.Variable:
			reportVariable(c, t, 0)
		case sqlscan.String, sqlscan.Comment:
			if k := strings.Index(t.Text, "${"); k >= 0 {
				reportVariable(c, t, k)
			}
			if t.Kind == sqlscan.Comment && strings.HasPrefix(t.Text, "--") {
				checkContinuation(c, t)
			}
		case sqlscan.Invalid:
			if r, _ := utf8.DecodeRuneInString(t.Text); r > 0x20 && r < 0x7f {
				if c.room(RuleInvalidChar) {
					c.add(RuleInvalidChar, t.Start, t.End, t.Text,
						fmt.Sprintf("character %s at %d:%d is not valid in Spark SQL", quote(t.Text), t.Start.Line, t.Start.Col),
						"remove it, or put it inside a '...' string literal")
				}
			}
		}
	}
	for _, o := range stack {
		t := &toks[o]
		if c.room(RuleParenUnbalanced) {
			c.add(RuleParenUnbalanced, t.Start, t.End, "(",
				fmt.Sprintf("'(' at %d:%d is never closed", t.Start.Line, t.Start.Col),
				"add the missing ')'; the body must be one complete query with balanced parentheses")
		}
	}
}

// posIn returns the position of byte k of token t.
func posIn(t *sqlscan.Token, k int) sqlscan.Pos {
	p := t.Start
	for i := 0; i < k && i < len(t.Text); i++ {
		c := t.Text[i]
		if c == '\n' {
			p.Line++
			p.Col = 1
		} else if c < 0x80 || c >= 0xC0 {
			p.Col++
		}
	}
	p.Offset = t.Start.Offset + int32(k)
	return p
}

func reportVariable(c *collector, t *sqlscan.Token, k int) {
	start := posIn(t, k)
	end := posIn(t, k+2)
	got := t.Text[k:]
	if j := strings.IndexByte(got, '}'); j >= 0 {
		got = got[:j+1]
		end = posIn(t, k+j+1)
	}
	if c.room(RuleVariable) {
		c.add(RuleVariable, start, end, got,
			fmt.Sprintf("%s at %d:%d is a variable reference, which Spark substitutes into the text before parsing (even inside strings and comments)", quote(got), start.Line, start.Col),
			"remove '${...}'; write the value itself, or build the characters with concat('$', '{') if you need them in a string")
	}
}

// checkContinuation reports a "--" comment that a trailing backslash
// continues onto the next line.
func checkContinuation(c *collector, t *sqlscan.Token) {
	for k := 0; k+1 < len(t.Text); k++ {
		if t.Text[k] == '\\' && (t.Text[k+1] == '\n' || t.Text[k+1] == '\r') {
			start := posIn(t, k)
			if c.room(RuleCommentContinuation) {
				c.add(RuleCommentContinuation, start, posIn(t, k+1), "\\",
					fmt.Sprintf("the '--' comment at %d:%d ends with a backslash, which makes Spark continue the comment onto the next line", t.Start.Line, t.Start.Col),
					"remove the backslash at the end of the comment line, or write the comment as /* ... */")
			}
			return
		}
	}
}

// checkLexError turns a tokenizer error into a finding.
func checkLexError(c *collector, err error) {
	var e *sqlscan.Error
	if !errors.As(err, &e) {
		return
	}
	at := e.Pos
	end := c.pos.pos(len(c.body))
	switch e.Rule {
	case sqlscan.RuleUnclosedString:
		if c.room(RuleUnclosedString) {
			c.add(RuleUnclosedString, at, end, c.body[at.Offset:],
				fmt.Sprintf("the string literal starting at %d:%d is never closed", at.Line, at.Col),
				"close it with the same quote it starts with; inside '...' write a quote as \\' or ''")
		}
	case sqlscan.RuleUnclosedQuotedIdent:
		if c.room(RuleUnclosedIdentifier) {
			c.add(RuleUnclosedIdentifier, at, end, c.body[at.Offset:],
				fmt.Sprintf("the backquoted identifier starting at %d:%d is never closed", at.Line, at.Col),
				"close it with a backquote `; inside it write a backquote as ``")
		}
	case sqlscan.RuleUnclosedComment:
		if c.room(RuleUnclosedComment) {
			c.add(RuleUnclosedComment, at, end, c.body[at.Offset:],
				fmt.Sprintf("the /* comment starting at %d:%d is never closed (comments nest: every /* needs its own */)", at.Line, at.Col),
				"close the comment with */, one for each /* inside it")
		}
	case sqlscan.RuleUnclosedHint:
		if c.room(RuleUnclosedHint) {
			c.add(RuleUnclosedHint, at, end, c.body[at.Offset:],
				fmt.Sprintf("the /*+ hint starting at %d:%d is never closed", at.Line, at.Col),
				"remove the /*+ ... hint; hints are not allowed")
		}
	}
}
