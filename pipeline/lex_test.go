package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLexCheck(t *testing.T) {
	tests := []struct {
		name string
		s    string
		mode lexMode
		ok   bool
	}{
		{"plain", "SELECT a FROM t WHERE (b > 1)", lexQuery, true},
		{"parens in strings and identifiers", "SELECT ')' AS `(`, \"(\" FROM t", lexQuery, true},
		{"escaped quote", `SELECT 'it\'s )' FROM t`, lexQuery, true},
		{"raw string", `SELECT r'\' FROM t`, lexQuery, true},
		{"r inside a word is not raw", `SELECT bar'x\'' FROM t`, lexQuery, true},
		{"doubled backquote", "SELECT 1 AS `a``)`", lexQuery, true},
		{"nested comment", "SELECT 1 /* a /* ) */ ( */", lexQuery, true},
		{"line comment at end", "SELECT 1 -- trailing )", lexQuery, true},
		{"semicolon", "SELECT 1; SELECT 2", lexQuery, false},
		{"unbalanced close", "SELECT 1) UNION (SELECT 2", lexQuery, false},
		{"unbalanced open", "SELECT (1", lexQuery, false},
		{"unclosed string", "SELECT 'abc", lexQuery, false},
		{"unclosed string ending in backslash", `SELECT 'abc\`, lexQuery, false},
		{"unclosed identifier", "SELECT `abc", lexQuery, false},
		{"unclosed nested comment", "SELECT 1 /* /* */", lexQuery, false},
		{"hint", "SELECT /*+ BROADCAST(t) */ * FROM t", lexQuery, false},
		{"continued line comment", "SELECT 1 -- c \\\n) x", lexQuery, false},
		{"condition", "a > 0 AND b IN ('x', 'y')", lexCondition, true},
		{"condition with comment", "a > 0 /* c */", lexCondition, false},
		{"condition with line comment", "a > 0 -- c", lexCondition, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := lexCheck(tc.s, tc.mode)
			if (msg == "") != tc.ok {
				t.Errorf("lexCheck(%q) = %q, want ok=%v", tc.s, msg, tc.ok)
			}
		})
	}
}

func TestCheckSchema(t *testing.T) {
	tests := []struct {
		schema string
		ok     bool
		cols   []string
	}{
		{"id BIGINT", true, []string{"id"}},
		{"id BIGINT NOT NULL, amount DECIMAL(10, 2) COMMENT 'gross, in EUR', `order date` DATE", true,
			[]string{"id", "amount", "order date"}},
		{"tags ARRAY<STRING>, attrs MAP<STRING, STRUCT<a: INT, b: ARRAY<INT>>>, n INT", true,
			[]string{"tags", "attrs", "n"}},
		{"name STRING COLLATE UTF8_LCASE", true, []string{"name"}},
		{"`default` INT", true, []string{"default"}},
		{"a INT DEFAULT 0", false, nil},
		{"a INT, CONSTRAINT c CHECK (a > 0)", false, nil},
		{"a INT GENERATED ALWAYS AS (1)", false, nil},
		{"a DECIMAL(10, (2))", false, nil},
		{"a INT) AS SELECT 1", false, nil},
		{"a INT -- c", false, nil},
		{"a INT; DROP", false, nil},
		{"a ARRAY<INT", false, nil},
		{"a INT, b = 1", false, nil},
		{"", false, nil},
	}
	for _, tc := range tests {
		msg := checkSchema(tc.schema)
		if (msg == "") != tc.ok {
			t.Errorf("checkSchema(%q) = %q, want ok=%v", tc.schema, msg, tc.ok)
		}
		if tc.ok {
			if diff := cmp.Diff(tc.cols, schemaColumns(tc.schema), ignoreMemo); diff != "" {
				t.Errorf("schemaColumns(%q) (-want +got):\n%s", tc.schema, diff)
			}
		}
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct{ in, ident, str string }{
		{"plain", "`plain`", "'plain'"},
		{"a`b", "`a``b`", "'a`b'"},
		{"it's", "`it's`", `'it\'s'`},
		{`back\slash`, "`back\\slash`", `'back\\slash'`},
		{"two\nlines\tand\rcr", "`two\nlines\tand\rcr`", `'two\nlines\tand\rcr'`},
		{"semi;colon", "`semi;colon`", "'semi;colon'"},
		{"ünï", "`ünï`", "'ünï'"},
	}
	for _, tc := range tests {
		if got := quoteIdent(tc.in); got != tc.ident {
			t.Errorf("quoteIdent(%q) = %s, want %s", tc.in, got, tc.ident)
		}
		if got := quoteString(tc.in); got != tc.str {
			t.Errorf("quoteString(%q) = %s, want %s", tc.in, got, tc.str)
		}
		// A quoted literal must lex as exactly one string token.
		toks, msg := lexSQL(quoteString(tc.in))
		if msg != "" || len(toks) != 1 || toks[0].kind != lexString {
			t.Errorf("quoteString(%q) does not lex as one string: %v %q", tc.in, toks, msg)
		}
	}
	if got := quoteName("c", "", "t"); got != "`c`.`t`" {
		t.Errorf("quoteName skipping empty parts = %s", got)
	}
}

// TestCheckQueryLastLine checks a body as the wrapper writes it: followed by
// a line break, which a -- comment ending in \ would swallow.
func TestCheckQueryLastLine(t *testing.T) {
	for _, q := range []string{"--\\", "SELECT 1 -- note \\", "SELECT 1\n-- c\\"} {
		ps := checkQuery("dataset", "x", q)
		if len(ps) != 1 || ps[0].Field != "query" {
			t.Errorf("checkQuery(%q) = %v, want one problem on query", q, ps)
		}
	}
	if ps := checkQuery("dataset", "x", "SELECT 1 -- a \\ in the middle"); len(ps) != 0 {
		t.Errorf("a backslash inside a line comment is refused: %v", ps)
	}
}
