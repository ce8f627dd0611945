package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCaptured reads every plan captured from the pinned Spark and compares
// what Parse and Check make of it with testdata/plans/<name>.golden
// (-update rewrites them).
func TestCaptured(t *testing.T) {
	for _, tc := range captureCases {
		t.Run(tc.name, func(t *testing.T) {
			query, explain := readCase(t, tc.name)
			if query != tc.query {
				t.Fatalf("%s.txt holds query %q, the case is %q: recapture with -tags integration -run TestCapture -update", tc.name, query, tc.query)
			}
			var b strings.Builder
			p, err := Parse(explain)
			if err != nil {
				fmt.Fprintf(&b, "parse error: %v\n", err)
			} else {
				b.WriteString(summary(p))
			}
			b.WriteString("findings:\n")
			for _, f := range Check(p, testOptions(query)) {
				fmt.Fprintf(&b, "  %s %q: %s\n", f.Rule, f.Got, f.Message)
			}
			checkGolden(t, filepath.Join("testdata", "plans", tc.name+".golden"), b.String())
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test ./guardrails/plan -update writes it): %v", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got; -update rewrites it):\n%s", path, d)
	}
}

// TestLeaves pins the leaf operators the check accepts: the ones the
// captured plans show, nothing more.
func TestLeaves(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range captureCases {
		_, explain := readCase(t, tc.name)
		p, err := Parse(explain)
		if err != nil {
			continue
		}
		for _, n := range p.Nodes {
			if n.Leaf() {
				seen[n.Name] = true
			}
		}
	}
	for _, l := range KnownLeaves() {
		if !seen[l] {
			t.Errorf("leaf %s is accepted but no captured plan shows it", l)
		}
	}
	want := []string{"CTERelationRef", "HiveTableRelation", "LocalRelation", "OneRowRelation", "Range", "Relation",
		"RelationV2", "ResolvedInlineTable", "StreamingRelation"}
	if d := cmp.Diff(want, KnownLeaves()); d != "" {
		t.Errorf("known leaves (-want +got):\n%s", d)
	}
}

// TestTruncated cuts every captured plan at every line: a text that ends
// before the analyzed section is complete must be refused, and no cut may
// panic or read as a different plan.
func TestTruncated(t *testing.T) {
	for _, tc := range captureCases {
		_, explain := readCase(t, tc.name)
		full, fullErr := Parse(explain)
		lines := strings.Split(explain, "\n")
		optimized := -1
		for i, l := range lines {
			if l == sections[2] {
				optimized = i
			}
		}
		for k := range lines {
			cut := strings.Join(lines[:k], "\n")
			p, err := Parse(cut)
			if k <= optimized+1 && err == nil {
				t.Errorf("%s cut after %d lines: parsed, want an error", tc.name, k)
			}
			if err == nil && fullErr == nil && summary(p) != summary(full) {
				t.Errorf("%s cut after %d lines reads as another plan", tc.name, k)
			}
		}
		for _, n := range []int{1, 7, 50, len(explain) / 2, len(explain) - 1} {
			if n < len(explain) {
				_, _ = Parse(explain[:n]) // must not panic
			}
		}
	}
}

// TestMalformed feeds texts that are almost plans: each must be refused.
func TestMalformed(t *testing.T) {
	_, base := readCase(t, "subquery_scalar")
	if _, err := Parse(base); err != nil {
		t.Fatalf("base plan: %v", err)
	}
	analyzed := func(body string) string {
		return sections[0] + "\nx\n\n" + sections[1] + "\n" + body + "\n\n" + sections[2] + "\nx\n\n" + sections[3] + "\nx\n"
	}
	tests := []struct{ name, text, want string }{
		{"empty", "", "missing"},
		{"no analyzed section", strings.Replace(base, sections[1], "== Analysed ==", 1), "missing"},
		{"header twice", strings.Replace(base, sections[2], sections[1], 1), "second time"},
		{"sections out of order", analyzed("a: int\nOneRowRelation") + sections[0], "second time"},
		{"crlf", strings.ReplaceAll(base, "\n", "\r\n"), "missing"},
		{"no schema line", analyzed("\nOneRowRelation"), "no schema line"},
		{"no operators", analyzed("a: int"), "not a schema line"},
		{"unresolved", analyzed("a: int\n'Project [*]\n+- OneRowRelation"), "unresolved"},
		{"missing inputs", analyzed("a: int\n!Project [x#1]\n+- OneRowRelation"), "missing inputs"},
		{"not an operator", analyzed("a: int\nProject [a#1]\n+- 123"), "does not name an operator"},
		{"operator name runs on", analyzed("a: int\nProject, [a#1]\n+- OneRowRelation"), "runs into"},
		{"no connector", analyzed("a: int\nProject [a#1]\n   OneRowRelation"), "tree connector"},
		{"two roots", analyzed("a: int\nProject [a#1]\n+- OneRowRelation\nOneRowRelation"), "second top-level"},
		{"too deep", analyzed("a: int\nProject [a#1]\n   :  +- OneRowRelation"), "deeper"},
		{"last not last", analyzed("a: int\nUnion\n+- OneRowRelation\n+- OneRowRelation"), "siblings"},
		{"more never ends", analyzed("a: int\nUnion\n:- OneRowRelation\n:- OneRowRelation"), "siblings"},
		{"bar under last", analyzed("a: int\nUnion\n:- Project [a#1]\n:  +- OneRowRelation\n+- Project [a#1]\n:  +- OneRowRelation"), "line up"},
		{"subquery bar without children", analyzed("a: int\nProject [a#1]\n:  +- OneRowRelation"), "subqueries of Project"},
		{"relation without alias", analyzed("a: int\nProject [a#1]\n+- Relation spark_catalog.s.t[a#1] parquet"), "SubqueryAlias"},
		{"relation under another alias", analyzed("a: int\nProject [a#1]\n+- SubqueryAlias spark_catalog.s.u\n   +- Relation spark_catalog.s.t[a#1] parquet"), "names another relation"},
		{"relation name with quotes", analyzed("a: int\nSubqueryAlias spark_catalog.s.t\n+- Relation spark_catalog.s.`t`[a#1] parquet"), "read back"},
		{"hive name unquoted junk", analyzed("a: int\nSubqueryAlias spark_catalog.s.t\n+- HiveTableRelation [`spark_catalog`.`s`.`t`]"), "read back"},
		{"v2 without name", analyzed("a: int\nSubqueryAlias c.s.t\n+- RelationV2[a#1]"), "expected [columns]"},
		{"v2 name with junk", analyzed("a: int\nSubqueryAlias c.s.t\n+- RelationV2[a#1] c.s.t extra"), "read back"},
		{"view without name", analyzed("a: int\nSubqueryAlias v\n+- View ([a#1])\n   +- OneRowRelation"), "read back"},
		{"view under another alias", analyzed("a: int\nSubqueryAlias spark_catalog.s.v\n+- View (`spark_catalog`.`s`.`w`, [a#1])\n   +- OneRowRelation"), "names another relation"},
		{"unclosed backquote", analyzed("a: int\nSubqueryAlias `v\n+- View (`v, [a#1])\n   +- OneRowRelation"), "read back"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.text)
			if err == nil {
				t.Fatalf("parsed:\n%s", summary(p))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one mentioning %q", err, tc.want)
			}
			if fs := Check(nil, Options{SQL: "SELECT 1"}); len(fs) != 1 || fs[0].Rule != RuleUnreadable {
				t.Errorf("Check(nil) = %v, want one %s", fs, RuleUnreadable)
			}
			if f := Unreadable(err); f.Rule != RuleUnreadable || !strings.Contains(f.Message, err.Error()) {
				t.Errorf("Unreadable(%v) = %+v", err, f)
			}
		})
	}
}

func TestReadName(t *testing.T) {
	tests := []struct {
		in, rest string
		parts    []string
		ok       bool
	}{
		{"spark_catalog.S.t[a#1]", "[a#1]", []string{"spark_catalog", "s", "t"}, true},
		{"`spark_catalog`.`s`.`t`, serde", ", serde", []string{"spark_catalog", "s", "t"}, true},
		{"`a``b`.`c.d` x", " x", []string{"a`b", "c.d"}, true},
		{"`a", "`a", nil, false},
		{".a", ".a", nil, false},
		{"a.", "", nil, false},
	}
	for _, tc := range tests {
		parts, rest, ok := readName(tc.in)
		if ok != tc.ok || ok && (rest != tc.rest || !cmp.Equal(parts, tc.parts)) {
			t.Errorf("readName(%q) = %q, %q, %v; want %q, %q, %v", tc.in, parts, rest, ok, tc.parts, tc.rest, tc.ok)
		}
		if ok && JoinName(parts) == "" {
			t.Errorf("JoinName(%q) is empty", parts)
		}
	}
	if got := JoinName([]string{"a`b", "c.d", "e_1"}); got != "`a``b`.`c.d`.e_1" {
		t.Errorf("JoinName = %s", got)
	}
}
