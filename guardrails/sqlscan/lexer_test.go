package sqlscan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kt renders tokens compactly as "Kind:Text" for comparisons.
func kt(toks []Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Kind.String() + ":" + t.Text
	}
	return out
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{}},
		{"simple select", "SELECT a FROM t", []string{"Keyword:SELECT", "Ident:a", "Keyword:FROM", "Ident:t"}},
		{"keywords any case", "select From wHeRe", []string{"Keyword:select", "Keyword:From", "Keyword:wHeRe"}},
		{"long s is S", "ſet", []string{"Keyword:ſet"}},
		{"dotless i is I", "ınsert", []string{"Keyword:ınsert"}},
		{"long s in using", "uſing", []string{"Keyword:uſing"}},
		{"x is a keyword", "x", []string{"Keyword:x"}},
		{"identifier from digit", "1abc _x a_1", []string{"Ident:1abc", "Ident:_x", "Ident:a_1"}},
		{"unicode letters", "çà naïve", []string{"Ident:çà", "Ident:naïve"}},
		{"nbsp is whitespace", "a\u00a0b", []string{"Ident:a", "Ident:b"}},
		{"u2000 range whitespace", "a\u2003b\u200ab", []string{"Ident:a", "Ident:b", "Ident:b"}},
		{"u2029 not whitespace", "a\u2029b", []string{"Ident:a", "Invalid:\u2029", "Ident:b"}},
		{"u0085 not whitespace", "a\u0085b", []string{"Ident:a", "Invalid:\u0085", "Ident:b"}},
		{"zero width space invalid", "a\u200bb", []string{"Ident:a", "Invalid:\u200b", "Ident:b"}},
		{"nul invalid", "a\x00b", []string{"Ident:a", "Invalid:\x00", "Ident:b"}},
		{"vertical tab and form feed are whitespace", "a\v\fb", []string{"Ident:a", "Ident:b"}},
		{"invalid utf8", "a\xffb", []string{"Ident:a", "Invalid:\xff", "Ident:b"}},
		{"backquoted", "`a b`.`c``d`", []string{"QuotedIdent:`a b`", "Punct:.", "QuotedIdent:`c``d`"}},
		{"single string", `'a''b' 'c\'d'`, []string{`String:'a''b'`, `String:'c\'d'`}},
		{"double quoted string", `"a""b" "c\"d"`, []string{`String:"a""b"`, `String:"c\"d"`}},
		{"raw string ends at second quote", `r'\' FROM t`, []string{`String:r'\'`, "Keyword:FROM", "Ident:t"}},
		{"raw double", `R"a\" b`, []string{`String:R"a\"`, "Ident:b"}},
		{"r alone is identifier", "r + R", []string{"Ident:r", "Operator:+", "Ident:R"}},
		{"word ending in r then string", "bar'x'", []string{"Ident:bar", "String:'x'"}},
		{"hex literal", "X'4142'", []string{"Keyword:X", "String:'4142'"}},
		{"uri identifier", "text.file:///etc/passwd", []string{"Ident:text", "Punct:.", "URIIdent:file:///etc/passwd"}},
		{"uri with query chars", "s://a/b-c.d?e=f&g#h%20", []string{"URIIdent:s://a/b-c.d?e=f&g#h%20"}},
		{"digits before :// is not uri", "s3a://b", []string{"Ident:s3a", "Operator::", "Operator:/", "Operator:/", "Ident:b"}},
		{"uri needs a path char", "file:// x", []string{"Ident:file", "Operator::", "Operator:/", "Operator:/", "Keyword:x"}},
		{"integers and suffixes", "1 12L 3S 4Y 5D 6F 7BD", []string{"Number:1", "Number:12L", "Number:3S", "Number:4Y", "Number:5D", "Number:6F", "Number:7BD"}},
		{"exponents", "1E10 1e-3 2.5E+2 .5e3", []string{"Number:1E10", "Number:1e-3", "Number:2.5E+2", "Number:.5e3"}},
		{"decimals", "1.5 1. .5 1.5D 1.5bd", []string{"Number:1.5", "Number:1.", "Number:.5", "Number:1.5D", "Number:1.5bd"}},
		{"decimal followed by letter is split", "1.5x", []string{"Number:1", "Punct:.", "Ident:5x"}},
		{"decimal followed by underscore is split", "2.3_", []string{"Number:2", "Punct:.", "Ident:3_"}},
		{"exponent then letter is identifier", "1e5x", []string{"Ident:1e5x"}},
		{"suffix then letter is identifier", "12La", []string{"Ident:12La"}},
		{"dot number after name", "a.1 a.b", []string{"Ident:a", "Number:.1", "Ident:a", "Punct:.", "Ident:b"}},
		{"dot then digit-identifier", "db.1tbl", []string{"Ident:db", "Punct:.", "Ident:1tbl"}},
		{"line comment", "a -- c\nb", []string{"Ident:a", "Comment:-- c\n", "Ident:b"}},
		{"line comment crlf", "a -- c\r\nb", []string{"Ident:a", "Comment:-- c\r\n", "Ident:b"}},
		{"line comment continues over backslash newline", "a -- c \\\n, 2\nb", []string{"Ident:a", "Comment:-- c \\\n, 2\n", "Ident:b"}},
		{"backslash crlf does not continue", "a -- c \\\r\nb", []string{"Ident:a", "Comment:-- c \\\r\n", "Ident:b"}},
		{"comment at end", "a --", []string{"Ident:a", "Comment:--"}},
		{"block comment", "a /* b */ c", []string{"Ident:a", "Comment:/* b */", "Ident:c"}},
		{"nested block comment", "/* a /* b */ reflect('x') */ 1", []string{"Comment:/* a /* b */ reflect('x') */", "Number:1"}},
		{"hint inside comment does not nest", "/* a /*+ b */ c", []string{"Comment:/* a /*+ b */", "Ident:c"}},
		{"empty comment", "/**/x", []string{"Comment:/**/", "Keyword:x"}},
		{"hint", "SELECT /*+ REPARTITION(100) */ *", []string{"Keyword:SELECT", "Hint:/*+ REPARTITION(100) */", "Operator:*"}},
		{"hint end inside string", "/*+ X('*/') */ a", []string{"Hint:/*+ X('*/') */", "Ident:a"}},
		{"hint with comment", "/*+ a /* c */ b */ d", []string{"Hint:/*+ a /* c */ b */", "Ident:d"}},
		{"star slash outside hint", "a */ b", []string{"Ident:a", "Operator:*/", "Ident:b"}},
		{"operators", "= == <=> <> != < <= !> > >= !< << >> >>> + - * / % ~ & | || |> ^ :: -> => !",
			[]string{"Operator:=", "Operator:==", "Operator:<=>", "Operator:<>", "Operator:!=", "Operator:<", "Operator:<=", "Operator:!>", "Operator:>", "Operator:>=", "Operator:!<", "Operator:<<", "Operator:>>", "Operator:>>>", "Operator:+", "Operator:-", "Operator:*", "Operator:/", "Operator:%", "Operator:~", "Operator:&", "Operator:|", "Operator:||", "Operator:|>", "Operator:^", "Operator:::", "Operator:->", "Operator:=>", "Operator:!"}},
		{"punctuation", "( ) , . ; [ ]", []string{"Punct:(", "Punct:)", "Punct:,", "Punct:.", "Punct:;", "Punct:[", "Punct:]"}},
		{"shift inside complex type is two tokens", "MAP<INT, ARRAY<INT>>", []string{"Keyword:MAP", "Operator:<", "Keyword:INT", "Punct:,", "Keyword:ARRAY", "Operator:<", "Keyword:INT", "Operator:>", "Operator:>"}},
		{"shift after complex type closes", "ARRAY<INT> , 1 >> 2", []string{"Keyword:ARRAY", "Operator:<", "Keyword:INT", "Operator:>", "Punct:,", "Number:1", "Operator:>>", "Number:2"}},
		{"positional parameter", "a = ?", []string{"Ident:a", "Operator:=", "Param:?"}},
		{"named parameter", "WHERE a = :p AND :q", []string{"Keyword:WHERE", "Ident:a", "Operator:=", "Param::p", "Keyword:AND", "Param::q"}},
		{"named parameter backquoted", "= :`p q`", []string{"Operator:=", "Param::`p q`"}},
		{"variant path is not a parameter", "v:a.b", []string{"Ident:v", "Operator::", "Ident:a", "Punct:.", "Ident:b"}},
		{"struct field colon", "STRUCT<a:INT, date:STRING>", []string{"Keyword:STRUCT", "Operator:<", "Ident:a", "Operator::", "Keyword:INT", "Punct:,", "Keyword:date", "Operator::", "Keyword:STRING", "Operator:>"}},
		{"variable", "'x' ${env:HOME} y", []string{"String:'x'", "Variable:${env:HOME}", "Ident:y"}},
		{"variable inside string stays string", "'${env:HOME}'", []string{"String:'${env:HOME}'"}},
		{"unclosed variable", "${env", []string{"Variable:${", "Ident:env"}},
		{"lone dollar", "$a", []string{"Invalid:$", "Ident:a"}},
		{"invalid ascii", "# \\ { }", []string{"Invalid:#", "Invalid:\\", "Invalid:{", "Invalid:}"}},
		{"time travel shorthand", "d@v1, e@2024, g@va", []string{"Ident:d", "Operator:@v", "Number:1", "Punct:,", "Ident:e", "Operator:@", "Number:2024", "Punct:,", "Ident:g", "Operator:@v", "Ident:a"}},
		{"dollar quoted", "$$a$b$$, $x$ y $X$ $x$", []string{"String:$$a$b$$", "Punct:,", "String:$x$ y $X$ $x$"}},
		{"dollar tag upper-cased", "$ſ$q$ſ$", []string{"String:$ſ$q$ſ$"}},
		{"dollar digits is no tag", "$1$", []string{"Invalid:$", "Number:1", "Invalid:$"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := Tokenize(tc.src)
			if err != nil {
				t.Fatalf("Tokenize(%q) error: %v", tc.src, err)
			}
			if diff := cmp.Diff(tc.want, kt(toks)); diff != "" {
				t.Errorf("Tokenize(%q) mismatch (-want +got):\n%s", tc.src, diff)
			}
			// Text is always the exact source span.
			for _, tok := range toks {
				if got := tc.src[tok.Start.Offset:tok.End.Offset]; got != tok.Text {
					t.Errorf("token %q spans %q", tok.Text, got)
				}
			}
		})
	}
}

func TestTokenValues(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`'a''b'`, "a'b"},
		{`'c\'d'`, "c'd"},
		{`"a""b"`, `a"b`},
		{`'\n\t\\\u0041\101\%\_\Z\q'`, "\n\t\\AA\\%\\_\x1aq"},
		{`r'\n'`, `\n`},
		{"`a``b`", "a`b"},
		{"`x`", "x"},
		{"/*+ BROADCAST(t) */", " BROADCAST(t) "},
		{"${env:X}", "env:X"},
		{":name", "name"},
		{"abc", "abc"},
	}
	for _, tc := range tests {
		toks, err := Tokenize(tc.src)
		if err != nil || len(toks) != 1 {
			t.Errorf("Tokenize(%q) = %v, %v; want one token", tc.src, kt(toks), err)
			continue
		}
		if toks[0].Value != tc.want {
			t.Errorf("Tokenize(%q) value = %q, want %q", tc.src, toks[0].Value, tc.want)
		}
	}
}

func TestTokenPositions(t *testing.T) {
	src := "SELECT\n  é, `ä`\r\n  x -- c\n y"
	toks, err := Tokenize(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tok := range toks {
		got = append(got, fmt.Sprintf("%s@%v-%v", tok.Text, tok.Start, tok.End))
	}
	want := []string{
		"SELECT@1:1-1:7",
		"é@2:3-2:4",
		",@2:4-2:5",
		"`ä`@2:6-2:9",
		"x@3:3-3:4",
		"-- c\n@3:5-4:1",
		"y@4:2-4:3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	if int(toks[3].Start.Offset) != strings.Index(src, "`ä`") {
		t.Errorf("offset of `ä` = %d", toks[3].Start.Offset)
	}
}

func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		src      string
		rule     string
		pos      string
		lastKind Kind
	}{
		{"SELECT 'abc", RuleUnclosedString, "1:8", String},
		{"SELECT 'abc\\'", RuleUnclosedString, "1:8", String},
		{"SELECT \"abc", RuleUnclosedString, "1:8", String},
		{"SELECT 'it''s", RuleUnclosedString, "1:8", String},
		{"SELECT `abc", RuleUnclosedQuotedIdent, "1:8", QuotedIdent},
		{"SELECT `a``", RuleUnclosedQuotedIdent, "1:8", QuotedIdent},
		{"SELECT 1 /* unclosed", RuleUnclosedComment, "1:10", Comment},
		{"SELECT 1 /* a /* b */", RuleUnclosedComment, "1:10", Comment},
		{"SELECT\n /*+ x", RuleUnclosedHint, "2:2", Hint},
	}
	for _, tc := range tests {
		toks, err := Tokenize(tc.src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Tokenize(%q) error = %v, want *Error", tc.src, err)
			continue
		}
		if e.Rule != tc.rule || e.Pos.String() != tc.pos {
			t.Errorf("Tokenize(%q) error = %s at %s, want %s at %s", tc.src, e.Rule, e.Pos, tc.rule, tc.pos)
		}
		if len(toks) == 0 || toks[len(toks)-1].Kind != tc.lastKind || int(toks[len(toks)-1].End.Offset) != len(tc.src) {
			t.Errorf("Tokenize(%q) tokens = %v; want a final %v running to the end", tc.src, kt(toks), tc.lastKind)
		}
		if !strings.Contains(e.Error(), tc.pos) {
			t.Errorf("Error() = %q lacks position", e.Error())
		}
	}
}

func TestStructuralKeywordsAreKeywords(t *testing.T) {
	all := map[string]bool{}
	for _, w := range strings.Fields(sparkKeywords) {
		all[w] = true
	}
	for w := range structuralKeywords {
		if !all[w] {
			t.Errorf("structural keyword %s is not in the Spark keyword list", w)
		}
	}
	for _, w := range []string{"select", "ſelect", "TEMP", "regexp", "IDENTIFIER"} {
		if !IsKeyword(w) {
			t.Errorf("IsKeyword(%q) = false", w)
		}
	}
	for w := range all {
		if !IsKeyword(w) || !IsKeyword(strings.ToLower(w)) || lookupASCIIKeyword(strings.ToLower(w)) == 0 {
			t.Errorf("IsKeyword(%q) = false", w)
		}
	}
	for _, w := range []string{"reflect", "selects", "", "SELECT1", "_select", "1select", strings.Repeat("A", 40)} {
		if IsKeyword(w) || lookupASCIIKeyword(w) != 0 {
			t.Errorf("IsKeyword(%q) = true", w)
		}
	}
}

func TestKindString(t *testing.T) {
	if Variable.String() != "Variable" || Kind(99).String() != "Kind(99)" {
		t.Errorf("Kind.String: %v %v", Variable, Kind(99))
	}
}

func TestTokenIs(t *testing.T) {
	toks, _ := Tokenize("select ſet Using abc")
	if toks[0].Keyword() != "SELECT" || toks[1].Keyword() != "SET" || toks[3].Keyword() != "" {
		t.Errorf("Token.Keyword wrong: %q %q %q", toks[0].Keyword(), toks[1].Keyword(), toks[3].Keyword())
	}
	if !toks[0].Is("SELECT") || !toks[1].Is("SET") || !toks[2].Is("USING") || toks[3].Is("ABC") || toks[0].Is("SET") || toks[1].Is("SE") {
		t.Errorf("Token.Is wrong: %v", kt(toks))
	}
}
