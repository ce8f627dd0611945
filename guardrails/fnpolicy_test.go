package guardrails

import (
	"strings"
	"testing"
)

func TestFunctionPolicy(t *testing.T) {
	deny, err := NewFunctionPolicy(nil, []string{"rand", "UUID"})
	if err != nil {
		t.Fatal(err)
	}
	allow, err := NewFunctionPolicy([]string{"upper", "sum", "count"}, []string{"count"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fp   *FunctionPolicy
		body string
		want string // rule of the first finding; "" = accepted
		hint string
	}{
		{"no policy", nil, "SELECT rand() AS r", "", ""},
		{"denied", deny, "SELECT id, rand() AS r FROM t", RuleFunctionPolicy, "the policy denies it (functions.deny)"},
		{"denied any case", deny, "SELECT Uuid() AS u FROM t", RuleFunctionPolicy, "functions.deny"},
		{"not denied", deny, "SELECT upper(name) FROM t", "", ""},
		{"allowed", allow, "SELECT upper(name), sum(x) FROM t", "", ""},
		{"not in the allow-list", allow, "SELECT lower(name) FROM t", RuleFunctionPolicy, "allows only these functions: count, sum, upper"},
		{"denied beats allowed", allow, "SELECT count(*) FROM t", RuleFunctionPolicy, "functions.deny"},
		{"always denied stays denied", allow, "SELECT reflect('a', 'b') FROM t", RuleFunctionDenied, ""},
		{"unknown stays unknown", allow, "SELECT my_udf(x) FROM t", RuleFunctionUnknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := CheckBody(tc.body, CheckOptions{AllowedSources: []string{"*.*.*"}, DefaultCatalog: "c", DefaultSchema: "s", Functions: tc.fp})
			if tc.want == "" {
				if len(fs) > 0 {
					t.Fatalf("rejected: %v", fs)
				}
				return
			}
			if len(fs) == 0 || fs[0].Rule != tc.want {
				t.Fatalf("findings %v, want %s first", fs, tc.want)
			}
			if !strings.Contains(fs[0].Hint, tc.hint) {
				t.Errorf("hint %q does not contain %q", fs[0].Hint, tc.hint)
			}
			if fs[0].Start.Line != 1 || fs[0].Start.Col < 8 {
				t.Errorf("finding at %v, want the call's position", fs[0].Start)
			}
		})
	}
}

func TestNewFunctionPolicyErrors(t *testing.T) {
	_, err := NewFunctionPolicy([]string{"java_method", "uper"}, []string{"rnd"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"functions.deny: \"rnd\" is not a Spark built-in function", "functions.allow: java_method is always denied",
		"functions.allow: \"uper\" is not a Spark built-in"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
