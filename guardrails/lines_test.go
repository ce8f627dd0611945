package guardrails

import (
	"slices"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// The guard has a function list for exactly the lines the sandbox installs.
func TestFunctionListPerSandboxLine(t *testing.T) {
	var want []string
	for _, l := range sandbox.Lines {
		want = append(want, l.Line)
	}
	if got := SparkLines(); !slices.Equal(got, want) {
		t.Errorf("guard lines %v, sandbox lines %v: add the line to lineLists (go run ./cmd/genfunctions)", got, want)
	}
}

// The scanner gives structure to keywords; every keyword of every line must
// be one it knows, or it could read a keyword as a name.
func TestScannerKnowsEveryLinesKeywords(t *testing.T) {
	for line, l := range lineLists {
		for _, k := range strings.Fields(l[1]) {
			if !sqlscan.IsKeyword(k) {
				t.Errorf("Spark %s keyword %s is unknown to the scanner (guardrails/sqlscan/keywords.go)", line, k)
			}
		}
	}
}

func TestBuiltinsFollowTheSparkLine(t *testing.T) {
	only43 := ""
	for f := range lines["4.3"].builtins {
		if !lines["4.2"].builtins[f] {
			only43 = f
			break
		}
	}
	if only43 == "" {
		t.Fatal("no function is new in 4.3")
	}
	body := "SELECT " + only43 + "(x) FROM t"
	for _, tc := range []struct {
		line string
		ok   bool
	}{{"4.3", true}, {"4.2", false}, {"", false}} {
		rep := Check(body, CheckOptions{DefaultCatalog: "c", DefaultSchema: "s", Datasets: []string{"t"}, SparkLine: tc.line})
		unknown := slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Rule == RuleFunctionUnknown })
		if unknown == tc.ok {
			t.Errorf("Spark %q: %s unknown = %v, want %v (%v)", tc.line, only43, unknown, !tc.ok, rep.Findings)
		}
	}
	// UNNEST is a relation from 4.3 on.
	for _, tc := range []struct {
		line string
		ok   bool
	}{{"4.3", true}, {"4.2", false}} {
		rep := Check("SELECT * FROM unnest(array(1, 2))", CheckOptions{DefaultCatalog: "c", DefaultSchema: "s", SparkLine: tc.line})
		refused := slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Rule == RuleTableFunction })
		if refused == tc.ok {
			t.Errorf("Spark %s: unnest refused = %v, want %v", tc.line, refused, !tc.ok)
		}
	}
	for _, f := range []string{"try_cast", "timestampadd", "upper", "explode"} {
		for line, l := range lines {
			if !l.builtins[f] {
				t.Errorf("Spark %s lacks %s", line, f)
			}
		}
	}
	for _, f := range []string{"reflect", "range", "case", "java_method"} {
		if builtinSet[f] {
			t.Errorf("%s is callable", f)
		}
	}
}
