package sqlscan

import "fmt"

// Pos is a position in the scanned source.
//
// The fields are 32-bit to keep tokens small (a 64 KiB body has about
// 15,000); bodies are limited far below 2 GiB long before they are scanned.
type Pos struct {
	Offset int32 // byte offset, 0-based
	Line   int32 // 1-based line number; lines end at '\n'
	Col    int32 // 1-based column, counted in code points (bytes that are not UTF-8 continuation bytes)
}

// String formats p as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Kind classifies a token.
type Kind uint8

// Token kinds. Whitespace is never returned as a token; comments are.
const (
	// Invalid is a character Spark's lexer does not recognise (its UNRECOGNIZED
	// token): control characters, '#', '\', '{', '}', a '$' that starts
	// neither a dollar-quoted string nor "${", and any non-ASCII rune that is
	// neither a letter nor Spark whitespace.
	Invalid Kind = iota
	// Ident is an unquoted identifier that is not a keyword, e.g. orders or 1abc.
	Ident
	// Keyword is a word in Spark's keyword list (matched after Spark's
	// upper-casing, so ſet is the keyword SET). Most keywords are non-reserved
	// and may still name a table or column.
	Keyword
	// QuotedIdent is a backquoted identifier; Value holds the name with the
	// quotes removed and doubled backquotes collapsed.
	QuotedIdent
	// URIIdent is Spark's unquoted URI identifier form, letters "://" path,
	// e.g. file:///etc/passwd. Spark accepts it wherever an identifier may stand.
	URIIdent
	// String is a string literal: '…', "…" (a string while
	// spark.sql.ansi.doubleQuotedIdentifiers is off), R'…', R"…" or the
	// dollar-quoted $tag$…$tag$. Value holds the unescaped content.
	String
	// Number is a numeric literal: 1, 1L, 1S, 1Y, 1.5, .5, 1E10, 1.5D, 1F, 1BD.
	Number
	// Operator is an operator such as = <=> != || |> :: -> => * , the
	// time-travel "@" and "@v", and the lone "*/" (Spark's hint-end token
	// outside a hint).
	Operator
	// Punct is one of ( ) , . ; [ ].
	Punct
	// Comment is a "--" line comment (including any backslash-newline
	// continuation and its line end) or a nested "/* … */" block comment.
	Comment
	// Hint is a whole optimizer hint "/*+ … */"; Value holds the text between
	// the markers.
	Hint
	// Param is a parameter marker: "?" (Value "") or ":name" (Value "name").
	Param
	// Variable is a "${…}" variable reference, which Spark substitutes into the
	// SQL text before parsing when spark.sql.variable.substitute is on. Value
	// holds the text between the braces. "${" inside a string literal is part
	// of the string token.
	Variable
)

var kindNames = [...]string{
	Invalid:     "Invalid",
	Ident:       "Ident",
	Keyword:     "Keyword",
	QuotedIdent: "QuotedIdent",
	URIIdent:    "URIIdent",
	String:      "String",
	Number:      "Number",
	Operator:    "Operator",
	Punct:       "Punct",
	Comment:     "Comment",
	Hint:        "Hint",
	Param:       "Param",
	Variable:    "Variable",
}

// String returns the kind's name, e.g. "QuotedIdent".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Token is one lexical token. Text is exactly src[Start.Offset:End.Offset].
type Token struct {
	Kind  Kind
	key   uint16 // index in keywordList of a Keyword token; 0 otherwise
	Text  string // the source text of the token
	Value string // unquoted value for strings and backquoted identifiers; otherwise see Kind
	Start Pos    // position of the first byte
	End   Pos    // position just after the last byte
}

// IsWord reports whether t can stand as one part of a name: an unquoted or
// backquoted identifier, a keyword (Spark accepts most keywords as names), or
// the unquoted URI form.
func (t Token) IsWord() bool {
	switch t.Kind {
	case Ident, Keyword, QuotedIdent, URIIdent:
		return true
	}
	return false
}

// Name returns the identifier a word token stands for: Value for a backquoted
// identifier, Text otherwise.
func (t Token) Name() string {
	if t.Kind == QuotedIdent {
		return t.Value
	}
	return t.Text
}

// Error rules reported by Tokenize and Scan.
const (
	RuleUnclosedString      = "unclosed_string"
	RuleUnclosedComment     = "unclosed_comment"
	RuleUnclosedQuotedIdent = "unclosed_quoted_identifier"
	RuleUnclosedHint        = "unclosed_hint"
	RuleTooDeep             = "nesting_too_deep"
	RuleTooLarge            = "source_too_large" // longer than MaxSource; nothing is scanned
)

// MaxSource is the longest source Tokenize and Scan accept, well within the
// 32-bit positions.
const MaxSource = 1 << 30

// Error is a lexical or structural error with its position.
type Error struct {
	Pos  Pos
	Rule string // one of the Rule* constants
	Msg  string
}

// Error implements error as "line:col: msg".
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// Keyword returns the keyword t stands for, upper-cased the way Spark does
// (so "ſet" gives "SET"), or "" when t is not a keyword token. It does not
// allocate.
func (t *Token) Keyword() string {
	if t.Kind != Keyword {
		return ""
	}
	if t.key == 0 { // a Token not made by the lexer
		return keywordList[lookupKeyword(t.Text)].word
	}
	return keywordList[t.key].word
}

// Is reports whether t is the keyword kw (given in upper case), compared the
// way Spark does: after upper-casing every code point.
func (t *Token) Is(kw string) bool {
	if t.Kind != Keyword || len(t.Text) < len(kw) {
		return false
	}
	if len(t.Text) == len(kw) {
		// ASCII fast path
		ascii := true
		for i := 0; i < len(kw); i++ {
			c := t.Text[i]
			if c >= 0x80 {
				ascii = false
				break
			}
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != kw[i] {
				return false
			}
		}
		if ascii {
			return true
		}
	}
	i := 0
	for _, r := range t.Text {
		u := upper(r)
		if i >= len(kw) || u != rune(kw[i]) {
			return false
		}
		i++
	}
	return i == len(kw)
}

// KeywordID returns a small number that identifies the keyword t stands for,
// or 0 when t is not a keyword token; it is below KeywordCount(), so that
// callers can keep tables indexed by keyword. The numbering may change from
// one version of this package to the next: build tables with KeywordIDOf.
func (t *Token) KeywordID() int {
	if t.Kind != Keyword {
		return 0
	}
	if t.key == 0 { // a Token not made by the lexer
		return int(lookupKeyword(t.Text))
	}
	return int(t.key)
}

// KeywordIDOf returns the KeywordID of word (matched like Spark does, after
// upper-casing), or 0 when word is not a keyword.
func KeywordIDOf(word string) int { return int(lookupKeyword(word)) }

// KeywordCount is one more than the largest KeywordID.
func KeywordCount() int { return len(keywordList) }

// Keywords returns Spark's SQL keywords, upper case, in KeywordID order
// (the first has KeywordID 1).
func Keywords() []string {
	out := make([]string, 0, len(keywordList)-1)
	for _, e := range keywordList[1:] {
		out = append(out, e.word)
	}
	return out
}
