package guardrails

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

var fuzzSeeds = []string{
	"SELECT * FROM spark_catalog.samples.orders",
	"WITH c AS (SELECT * FROM dev.s.a) SELECT * FROM c JOIN orders_clean o ON c.id = o.id",
	"SELECT * FROM prod.hr.salaries; DROP TABLE t",
	"SELECT reflect('java.lang.System', 'exit', 0)",
	"SELECT TRANSFORM(a) USING 'cat' FROM t",
	"SELECT * FROM parquet.`/etc/passwd`",
	"SELECT '${env:HOME}', :p, ?",
	"SELECT /*+ BROADCAST(t) */ * FROM t",
	"ſet x=1",
	"SELECT 1 -- c \\\n, 2",
	"SELECT * FROM STREAM(events_st) WATERMARK ts DELAY OF INTERVAL 1 MINUTE",
	"SELECT * FROM IDENTIFIER('prod.x.y')",
	"(((SELECT 1)",
	"SELECT 'unclosed",
}

// charRules depend on characters between tokens, which re-joining drops.
var charRules = []string{RuleNonASCII, RuleControlChar, RuleUTF8, RuleTooLarge}

func FuzzCheckBody(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	o := opts
	o.MaxBytes = 1 << 30
	f.Fuzz(func(t *testing.T, body string) {
		rep := Check(body, o)
		checkFindingShape(t, body, rep.Findings)

		// A ';' appended is always caught, unless the body leaves a
		// literal or comment open (then the ';' is inside it, and that is
		// caught instead).
		withSemi := CheckBody(body+";", o)
		if !HasRule(withSemi, RuleSemicolon) && !HasRule(withSemi, RuleUnclosedString) &&
			!HasRule(withSemi, RuleUnclosedComment) && !HasRule(withSemi, RuleUnclosedIdentifier) &&
			!HasRule(withSemi, RuleUnclosedHint) && !strings.Contains(body, "--") {
			t.Fatalf("appended ';' not reported: %s", Format(withSemi))
		}

		// Comments between tokens change nothing the guard decides.
		toks, err := sqlscan.Tokenize(body)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, tok := range toks {
			b.WriteString(tok.Text)
			b.WriteString(" /**/ ")
		}
		strip := func(fs []Finding) []string {
			return slices.DeleteFunc(rules(fs), func(r string) bool { return slices.Contains(charRules, r) })
		}
		again := CheckBody(b.String(), o)
		if diff := cmp.Diff(strip(rep.Findings), strip(again)); diff != "" {
			t.Fatalf("rules change when comments are inserted (-orig +new):\n%s\nbody %q", diff, body)
		}
	})
}
