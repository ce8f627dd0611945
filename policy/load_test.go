package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/config"
)

func assertErr(t *testing.T, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not *config.Error: %v", err, err)
	}
	msg, rest := err.Error(), err.Error()
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("error:\n%s\ndoes not contain (in order) %q", msg, w)
		}
		rest = rest[i+len(w):]
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := Default()
	if p.Version != 1 || len(p.SHA256()) != 64 {
		t.Fatalf("default policy: version %d sha %q", p.Version, p.SHA256())
	}
	if got := p.Environments.Sandbox.Sources; len(got) != 3 || got[0] != "spark_catalog.default.*" || got[1] != "spark_catalog.samples.*" || got[2] != "spark_catalog.files.*" {
		t.Errorf("sandbox sources = %v", got)
	}
	if len(p.Environments.Production.Sources) != 0 {
		t.Errorf("production sources = %v, want none by default", p.Environments.Production.Sources)
	}
	l := p.Limits
	if l.PreviewRowsDefault != config.DefaultPreviewRows || l.PreviewRowsMax != config.MaxPreviewRows ||
		l.CallsPerMinute != config.DefaultCallsPerMinute || l.MaxConcurrentSparkOperations != config.DefaultSparkOperations ||
		l.MaxQueryBytes != config.DefaultQueryBytes || l.MaxDatasetsPerPipeline != config.DefaultDatasets ||
		l.CallTimeout.D() != config.DefaultCallTimeout || l.RunTimeout.D() != config.DefaultRunTimeout ||
		l.PreviewMaxBytes != config.DefaultPreviewMaxBytes {
		t.Errorf("the default policy's limits %+v differ from the config package's defaults", l)
	}
	for _, n := range ToolNames() {
		if !p.ToolEnabled(n) {
			t.Errorf("tool %s is off in the default policy", n)
		}
	}
	if p.RuleSet() == nil || len(p.Rules) == 0 {
		t.Error("the default policy has no rules")
	}
	if Default().SHA256() != p.SHA256() {
		t.Error("the default policy's hash is not stable")
	}
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: 1\nlimits:\n  preview_rows_max: 50\n  preview_rows_default: 10\ntools:\n  promote: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Limits.PreviewRowsMax != 50 || p.Limits.CallsPerMinute != config.DefaultCallsPerMinute {
		t.Errorf("limits = %+v", p.Limits)
	}
	if p.ToolEnabled("promote") || !p.ToolEnabled("run") {
		t.Error("tool switches not applied")
	}
	if len(p.Environments.Sandbox.Sources) != len(Default().Environments.Sandbox.Sources) {
		t.Errorf("sandbox sources = %v, want the default", p.Environments.Sandbox.Sources)
	}
	if p.SHA256() == Default().SHA256() {
		t.Error("a different file has the default's hash")
	}
}

func TestBadPolicies(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error, in order
	}{
		{"wrong type calls_per_minute", "version: 1\nlimits:\n  calls_per_minute: fast\n",
			[]string{`line 3: limits.calls_per_minute: want a whole number, got the string "fast"`, "fix: write a number"}},
		{"wrong type max_concurrent_spark_operations", "version: 1\nlimits:\n  max_concurrent_spark_operations: [4]\n",
			[]string{"line 3: limits.max_concurrent_spark_operations: want a whole number"}},
		{"wrong type int", "version: 1\nlimits:\n  preview_rows_max: lots\n",
			[]string{`line 3: limits.preview_rows_max: want a whole number, got the string "lots"`, "fix: write a number"}},
		{"bad duration", "version: 1\nlimits:\n  call_timeout: 10 minutes\n",
			[]string{`line 3: limits.call_timeout: "10 minutes" is not a duration; fix: write a duration such as 30s`}},
		{"duration as number", "version: 1\nlimits:\n  call_timeout: 10\n",
			[]string{`line 3: limits.call_timeout: want a duration`}},
		{"preview max too big", "version: 1\nlimits:\n  preview_rows_max: 5000\n",
			[]string{"line 3: limits.preview_rows_max: 5000 is out of range; fix: use a value from 1 to 1000"}},
		{"default above max", "version: 1\nlimits:\n  preview_rows_max: 10\n  preview_rows_default: 20\n",
			[]string{"line 4: limits.preview_rows_default: 20 is out of range"}},
		{"calls per minute zero", "version: 1\nlimits:\n  calls_per_minute: 0\n",
			[]string{"line 3: limits.calls_per_minute: 0 is out of range; fix: use a value from 1 to 10000"}},
		{"calls per minute too big", "version: 1\nlimits:\n  calls_per_minute: 10001\n",
			[]string{"line 3: limits.calls_per_minute: 10001 is out of range; fix: use a value from 1 to 10000"}},
		{"calls per minute at bounds", "version: 1\nlimits:\n  calls_per_minute: 10000\n  max_concurrent_spark_operations: 256\n", nil},
		{"calls per minute at lower bounds", "version: 1\nlimits:\n  calls_per_minute: 1\n  max_concurrent_spark_operations: 1\n", nil},
		{"spark operations zero", "version: 1\nlimits:\n  max_concurrent_spark_operations: 0\n",
			[]string{"line 3: limits.max_concurrent_spark_operations: 0 is out of range; fix: use a value from 1 to 256"}},
		{"spark operations too many", "version: 1\nlimits:\n  max_concurrent_spark_operations: 257\n",
			[]string{"line 3: limits.max_concurrent_spark_operations: 257 is out of range; fix: use a value from 1 to 256"}},
		{"timeout too long", "version: 1\nlimits:\n  call_timeout: 48h\n",
			[]string{"limits.call_timeout: 48h0m0s is out of range"}},
		{"no version", "limits:\n  calls_per_minute: 5\n", []string{"version: missing; fix: start the file with version: 1"}},
		{"future version", "version: 2\n", []string{"line 1: version: version 2 is not supported"}},
		{"unknown key", "version: 1\nfunctons:\n  deny: [rand]\n", []string{"line 2: functons: unknown key; fix: did you mean functions?"}},
		{"unknown tool", "version: 1\ntools:\n  previw: false\n", []string{"line 3: tools.previw: unknown key; fix: did you mean preview?"}},
		{"tool switch not a bool", "version: 1\ntools:\n  run: maybe\n", []string{"line 3: tools.run: want true or false"}},
		{"two-part source", "version: 1\nenvironments:\n  sandbox:\n    sources: [spark_catalog.raw]\n",
			[]string{`line 4: environments.sandbox.sources[0]: "spark_catalog.raw" does not have three parts`, "spark_catalog.raw.*"}},
		{"wildcard schema", "version: 1\nenvironments:\n  production:\n    sources: [main.*.orders]\n",
			[]string{`environments.production.sources[0]: "main.*.orders": the catalog and schema must be plain names`}},
		{"bad table glob", "version: 1\nenvironments:\n  sandbox:\n    sources: [\"a.b.c?\"]\n",
			[]string{`the table part may hold only letters, digits, _ and *`}},
		{"bad target", "version: 1\nenvironments:\n  production:\n    target: main\n",
			[]string{`line 4: environments.production.target: "main" is not catalog.schema`}},
		{"unknown function", "version: 1\nfunctions:\n  deny: [rnd]\n", []string{`line 3: functions.deny: "rnd" is not a Spark built-in function`}},
		{"allow an always-denied function", "version: 1\nfunctions:\n  allow: [upper, reflect]\n",
			[]string{"functions.allow: reflect is always denied"}},
		{"bad protected glob", "version: 1\nfull_refresh_protected: [orders]\n",
			[]string{`line 2: full_refresh_protected[0]: "orders" is not a pipeline.dataset glob`}},
		{"new limits out of range", "version: 1\nlimits:\n  max_query_bytes: 10\n  max_datasets_per_pipeline: 0\n",
			[]string{"line 3: limits.max_query_bytes: 10 is out of range", "line 4: limits.max_datasets_per_pipeline: 0 is out of range"}},
		{"bad rule", "version: 1\nrules:\n  - name: r1\n    when: tol == \"run\"\n    action: deny\n    message: no\n",
			[]string{"line 3: rules[0] (r1): ", "did you mean tool"}},
		{"several at once", "version: 1\nlimits:\n  calls_per_minute: 0\ntools:\n  run: 1\n",
			[]string{"line 5: tools.run: want true or false"}},
		{"aliases", "version: 1\nx: &a [1]\nfull_refresh_protected: *a\n", []string{"unknown key"}},
		{"not yaml", "version: [1\n", []string{"not valid YAML"}},
		{"good", "version: 1\nenvironments:\n  sandbox:\n    sources: [spark_catalog.raw.*, spark_catalog.ref.country_*]\n    target: spark_catalog.dev\nfunctions:\n  deny: [rand, UUID]\nfull_refresh_protected: [sales.orders_history, \"*.scd_*\"]\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tc.yaml))
			assertErr(t, err, tc.want)
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "nope.yaml"))
	assertErr(t, err, []string{"policy: the policy file does not exist", "sdp-mcp policy show"})

	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, DefaultYAML, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.SHA256() != Default().SHA256() || p.File() != path {
		t.Errorf("the default policy written to a file loads as %s from %s", p.SHA256(), p.File())
	}
	if p, err := Load(""); err != nil || p.SHA256() != Default().SHA256() {
		t.Errorf("Load(\"\") = %v, %v; want the default", p, err)
	}
}

func TestProtected(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: 1\nfull_refresh_protected: [sales.orders_history, \"*.scd_*\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pipeline, dataset, want string
	}{
		{"sales", "orders_history", "sales.orders_history"},
		{"sales", "orders", ""},
		{"crm", "scd_customers", "*.scd_*"},
		{"crm", "customers", ""},
	} {
		if got := p.Protected(tc.pipeline, tc.dataset); got != tc.want {
			t.Errorf("Protected(%s, %s) = %q, want %q", tc.pipeline, tc.dataset, got, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: 1\nenvironments:\n  sandbox:\n    sources: [spark_catalog.raw.*]\n  production:\n    sources: [main.raw.orders]\n    target: main.analytics\nlimits:\n  calls_per_minute: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Environments.Production = &config.Environment{Catalog: "main", Schema: "analytics"}
	if err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.CallsPerMinute != 7 || cfg.Environments.Sandbox.Sources[0] != "spark_catalog.raw.*" ||
		cfg.Environments.Production.Sources[0] != "main.raw.orders" {
		t.Errorf("not applied: %+v %+v %+v", cfg.Limits, cfg.Environments.Sandbox, cfg.Environments.Production)
	}
	cfg.Environments.Production.Schema = "other"
	assertErr(t, p.Apply(cfg), []string{"line 7: environments.production.target: the configuration writes production datasets to main.other, but the policy allows only main.analytics"})
}
