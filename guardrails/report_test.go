package guardrails

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageForAgent(t *testing.T) {
	o := CheckOptions{AllowedSources: []string{"spark_catalog.samples.*"}, DefaultCatalog: "dev", DefaultSchema: "s"}
	fs := CheckBody("SELECT *\nFROM prod.hr.salaries", o)
	if len(fs) != 1 {
		t.Fatalf("got %d findings: %s", len(fs), Format(fs))
	}
	f := fs[0]
	want := "source prod.hr.salaries is not an allowed source (allowed: spark_catalog.samples.*); read one of those instead"
	if f.Message != want {
		t.Errorf("message = %q, want %q", f.Message, want)
	}
	if f.Rule != RuleScopeRead || f.Start.Line != 2 || f.Start.Col != 6 || f.Got != "prod.hr.salaries" {
		t.Errorf("finding = %+v", f)
	}
	if got := f.String(); !strings.HasPrefix(got, "2:6 scope.read: source prod.hr.salaries") || !strings.Contains(got, "(hint: ") {
		t.Errorf("String() = %q", got)
	}
}

func TestAllFindingsAtOnce(t *testing.T) {
	body := "SELECT reflect('a', 'b'), my_udf(x), '${env:X}' FROM prod.a.b /*+ x */ JOIN parquet.`/p` ON true;\n" +
		"SELECT 1 -- c \\\n"
	got := rules(CheckBody(body, opts))
	want := []string{RuleCommentContinuation, RuleFunctionUnknown, RuleFunctionDenied, RuleHint, RulePathRead, RuleScopeRead, RuleSemicolon, RuleVariable}
	cmpSorted(t, want, got)
}

func cmpSorted(t *testing.T, want, got []string) {
	t.Helper()
	w := append([]string(nil), want...)
	g := append([]string(nil), got...)
	sortStrings(w)
	sortStrings(g)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestFindingCap(t *testing.T) {
	body := "SELECT " + strings.Repeat("a = ?, ", 30) + "1"
	fs := CheckBody(body, opts)
	if len(fs) != maxPerRule {
		t.Fatalf("got %d findings, want %d", len(fs), maxPerRule)
	}
	if !strings.Contains(fs[len(fs)-1].Message, "20 more like this not listed") {
		t.Errorf("last message = %q", fs[len(fs)-1].Message)
	}
}

func TestRunsAreOneFinding(t *testing.T) {
	fs := CheckBody("SELECT 1 AS ñandú FROM t", opts)
	if len(fs) != 2 || fs[0].Got != "ñ" || fs[1].Got != "ú" {
		t.Errorf("got %s", Format(fs))
	}
	fs = CheckBody("SELECT 1 AS `ñandú`, 'ñandú' FROM t", opts)
	if len(fs) != 0 {
		t.Errorf("quoted non-ASCII refused: %s", Format(fs))
	}
}

func TestSources(t *testing.T) {
	rep := Check("SELECT * FROM orders_clean JOIN s.t ON true, spark_catalog.samples.o, STREAM(events_st), range(3), prod.x.y", opts)
	var got []string
	for _, s := range rep.Sources {
		g := s.Name()
		if s.Dataset != "" {
			g += " dataset=" + s.Dataset
		}
		if s.Stream {
			g += " stream"
		}
		if s.Function {
			g += " function"
		}
		got = append(got, g)
	}
	want := []string{
		"dev.s.orders_clean dataset=orders_clean",
		"dev.s.t",
		"spark_catalog.samples.o",
		"dev.s.events_st dataset=events_st stream",
		"range function",
		"prod.x.y",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{RuleScopeRead, RuleStream}, rules(rep.Findings)); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	rep = Check("SELECT upper(a), UPPER(b), count(*), builtin.abs(1) FROM t", opts)
	if diff := cmp.Diff([]string{"upper", "UPPER", "count", "builtin.abs"}, rep.Functions); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
}

func TestQualification(t *testing.T) {
	noDefaults := CheckOptions{AllowedSources: []string{"c.s.*"}}
	if fs := CheckBody("SELECT * FROM t", noDefaults); !HasRule(fs, RuleScopeName) {
		t.Errorf("one-part name without defaults: %s", Format(fs))
	}
	if fs := CheckBody("SELECT * FROM c.s.t", noDefaults); len(fs) != 0 {
		t.Errorf("three-part name: %s", Format(fs))
	}
	if fs := CheckBody("SELECT * FROM `C`.S.`T`", noDefaults); len(fs) != 0 {
		t.Errorf("case-insensitive match: %s", Format(fs))
	}
	if fs := CheckBody("SELECT * FROM c.`s.t`.x", noDefaults); !HasRule(fs, RuleScopeRead) {
		t.Errorf("a dotted part is one part: %s", Format(fs))
	}
	o := CheckOptions{DefaultCatalog: "dev", DefaultSchema: "s", Datasets: []string{"ds"}}
	if fs := CheckBody("SELECT * FROM ds JOIN DEV.S.DS ON true", o); len(fs) != 0 {
		t.Errorf("datasets need no glob: %s", Format(fs))
	}
	if fs := CheckBody("SELECT * FROM other.ds", o); !HasRule(fs, RuleScopeRead) {
		t.Errorf("a dataset name in another schema is not the dataset: %s", Format(fs))
	}
}

func TestGlobs(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.*", "a.b.anything", true},
		{"a.*.c", "a.x.c", true},
		{"*.*.*", "x.y.z", true},
		{"a.b.ord*", "a.b.orders", true},
		{"a.b.*_raw", "a.b.events_raw", true},
		{"a.b.*_raw", "a.b.events_raw2", false},
		{"a.b.*s*s", "a.b.sss", true},
		{"A.B.C", "a.b.c", true},
		{"a.b.*", "a.c.x", false},
		{"a.b", "a.b", true},
		{"a.b.c", "a.b.c.d", false},
	}
	for _, tc := range tests {
		if got := matchGlob(tc.glob, strings.Split(tc.name, ".")); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.glob, tc.name, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := opts.Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	bad := CheckOptions{AllowedSources: []string{"a.b", "a..c", "a.b.c"}, MaxBytes: -1, MaxDepth: -2, Datasets: []string{"x.y", ""}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid options accepted")
	}
	for _, want := range []string{`"a.b" must have three parts`, `"a..c" has an empty part`, "max bytes -1", "max depth -2", `"x.y"`, `""`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestLimits(t *testing.T) {
	o := opts
	o.MaxBytes = 10
	if fs := CheckBody("SELECT * FROM t", o); len(fs) != 1 || fs[0].Rule != RuleTooLarge {
		t.Errorf("size cap: %s", Format(fs))
	}
	o = opts
	o.MaxDepth = 2
	if fs := CheckBody("SELECT ((1))", o); len(fs) != 0 {
		t.Errorf("depth 2 refused: %s", Format(fs))
	}
	if fs := CheckBody("SELECT (((1)))", o); len(fs) != 1 || fs[0].Rule != RuleParenDepth {
		t.Errorf("depth 3 accepted: %s", Format(fs))
	}
}

func TestDisplayName(t *testing.T) {
	if got := displayName([]string{"cat", "a.b", "we`ird", "ok_1"}); got != "cat.`a.b`.`we``ird`.ok_1" {
		t.Errorf("displayName = %s", got)
	}
}

func TestBuiltinList(t *testing.T) {
	for _, f := range []string{"upper", "COUNT", "try_cast", "timestampadd", "window", "transform", "explode"} {
		if !IsBuiltinFunction(f) {
			t.Errorf("%s is not a built-in", f)
		}
	}
	for f := range deniedFunctions {
		if IsBuiltinFunction(f) {
			t.Errorf("denied function %s is on the allow-list", f)
		}
	}
}

// TestRepeatedNames checks that a name written again is listed once in the
// report but refused at every place it stands, and that nothing a check
// remembers about names carries over to the next check.
func TestRepeatedNames(t *testing.T) {
	body := "SELECT COUNT(*), count(1), my_udf(a), my_udf(b) FROM prod.x.y JOIN prod.x.y ON true, spark_catalog.samples.o, STREAM spark_catalog.samples.o, spark_catalog.samples.o"
	stream := opts
	stream.AllowStream = true
	rep := Check(body, stream)
	var srcs []string
	for _, s := range rep.Sources {
		n := s.Name()
		if s.Stream {
			n += " stream"
		}
		srcs = append(srcs, n)
	}
	if diff := cmp.Diff([]string{"prod.x.y", "spark_catalog.samples.o", "spark_catalog.samples.o stream"}, srcs); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"COUNT", "count", "my_udf"}, rep.Functions); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	var at []string
	for _, f := range rep.Findings {
		at = append(at, f.Rule+"@"+f.Start.String())
	}
	want := []string{"fn.unknown@1:28", "fn.unknown@1:39", "scope.read@1:54", "scope.read@1:68"}
	if diff := cmp.Diff(want, at); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// The same body under a policy that allows prod.x.*: the verdicts of the
	// first check must not be reused.
	open := stream
	open.AllowedSources = append(slices.Clone(open.AllowedSources), "prod.x.*")
	for range 3 {
		if fs := Check(body, open).Findings; len(fs) != 2 || fs[0].Rule != RuleFunctionUnknown {
			t.Fatalf("with prod.x.* allowed: %s", Format(fs))
		}
	}
}
