package eval

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/connect"
)

func TestLoadSuite(t *testing.T) {
	s, err := LoadSuite(filepath.Join("suites", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tasks) != 5 {
		t.Errorf("default suite: %d tasks, want 5", len(s.Tasks))
	}
	_, err = LoadSuite(filepath.Join("testdata", "bad-suite.yaml"))
	for _, want := range []string{"name must be lower case", "a second task of that name", "sources: name samples", "expected: at least one",
		"budget: calls and time", "sources.files[0]", "tolerance >= 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad suite: %v, want %q", err, want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(p, []byte("name: x\ntasks: []\nextra: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSuite(p); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("unknown key: %v", err)
	}
}

func result(cols []string, rows ...[]any) *connect.Result {
	r := &connect.Result{Rows: rows}
	for _, c := range cols {
		r.Columns = append(r.Columns, connect.Column{Name: c})
	}
	return r
}

func TestCompareTables(t *testing.T) {
	want := result([]string{"k", "v"}, []any{int32(1), 10.0}, []any{int32(2), 20.0})
	for _, tc := range []struct {
		name string
		exp  Expected
		got  *connect.Result
		ok   bool
		prob string
	}{
		{"exact any order", Expected{}, result([]string{"V", "k", "extra"}, []any{20.0, int64(2), "x"}, []any{10.0, int64(1), "y"}), true, ""},
		{"exact value differs", Expected{}, result([]string{"k", "v"}, []any{int32(1), 10.0}, []any{int32(2), 20.5}), false, "missing row"},
		{"exact extra row", Expected{}, result([]string{"k", "v"}, []any{int32(1), 10.0}, []any{int32(2), 20.0}, []any{int32(2), 20.0}), false, "unexpected row"},
		{"missing column", Expected{}, result([]string{"k"}, []any{int32(1)}), false, "column v is missing"},
		{"key within tolerance", Expected{Key: []string{"k"}, Tolerance: 0.01}, result([]string{"k", "v"}, []any{int32(2), 20.004}, []any{int32(1), 9.999}), true, ""},
		{"key beyond tolerance", Expected{Key: []string{"k"}, Tolerance: 0.01}, result([]string{"k", "v"}, []any{int32(2), 20.1}, []any{int32(1), 10.0}), false, "v = 20.1, want 20"},
		{"key missing", Expected{Key: []string{"k"}}, result([]string{"k", "v"}, []any{int32(1), 10.0}), false, "missing key (k=2)"},
		{"key duplicate", Expected{Key: []string{"k"}}, result([]string{"k", "v"}, []any{int32(1), 10.0}, []any{int32(1), 10.0}, []any{int32(2), 20.0}), false, "appears more than once"},
		{"decimal vs double", Expected{}, result([]string{"k", "v"}, []any{int32(1), connect.Decimal{Unscaled: mustBig(1000), Scale: 2}}, []any{int32(2), 20.0}), true, ""},
		{"null vs value", Expected{}, result([]string{"k", "v"}, []any{int32(1), nil}, []any{int32(2), 20.0}), false, "missing row"},
	} {
		r := compareTables(tc.exp, want, tc.got)
		if r.Matched != tc.ok || tc.prob != "" && !strings.Contains(strings.Join(r.Problems, "; "), tc.prob) {
			t.Errorf("%s: matched %v problems %v, want %v %q", tc.name, r.Matched, r.Problems, tc.ok, tc.prob)
		}
	}
}

func TestCallStats(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(sec int, tool string, d audit.Decision, summary string, rules ...string) audit.Record {
		args, _ := json.Marshal(map[string]string{"pipeline": "p"})
		return audit.Record{Time: start.Add(time.Duration(sec) * time.Second), Tool: tool, Decision: d, Summary: summary, Rules: rules, Arguments: args}
	}
	st := callStats([]audit.Record{
		rec(1, "preview", audit.Rejected, "", "guard.relation"),
		rec(2, "declare_table", audit.OK, ""),
		rec(3, "validate", audit.OK, "invalid: 1 problem(s)"),
		rec(4, "promote", audit.Denied, "", "mode.sandbox_only"),
		rec(7, "validate", audit.OK, "valid: abc"),
		rec(9, "run", audit.OK, ""),
	}, "p", start)
	if st.Calls != 6 || st.Decisions["ok"] != 4 || st.Rules["guard.relation"] != 1 || st.Rules["mode.sandbox_only"] != 1 ||
		st.CallsToFirstValidate != 5 || st.SecondsToGreen != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestDropSandboxTarget(t *testing.T) {
	out, err := dropSandboxTarget([]byte("version: 1\nenvironments:\n  sandbox:\n    sources: [a.b.*]\n    target: a.c\n"))
	if err != nil || strings.Contains(string(out), "target") || !strings.Contains(string(out), "a.b.*") {
		t.Errorf("%s %v", out, err)
	}
}

func mustBig(n int64) *big.Int { return big.NewInt(n) }
