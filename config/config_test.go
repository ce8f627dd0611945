package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func noEnv(string) (string, bool) { return "", false }

func TestNoConfigWorksWithDefaults(t *testing.T) {
	ws := t.TempDir()
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(Flags{Workspace: &ws})
	if err := c.Validate(noEnv); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.Transport != TransportStdio {
		t.Errorf("transport = %q, want stdio", c.Transport)
	}
	sb := c.Environments.Sandbox
	if !sb.Local() || sb.Catalog != DefaultSandboxCatalog || sb.Schema != DefaultSandboxSchema {
		t.Errorf("sandbox = %+v", sb)
	}
	paths, _ := sandbox.WorkspacePaths(ws)
	if want := "file://" + filepath.ToSlash(paths.ForFormat(sandbox.DefaultProfile().Format).PipelineStorage); sb.Storage != want {
		t.Errorf("sandbox storage = %q, want %q", sb.Storage, want)
	}
	if c.Environments.Production != nil || c.PromoteAvailable() {
		t.Error("promote available without a production environment")
	}
	if c.Limits.CallsPerMinute != 120 || c.Limits.MaxConcurrentSparkOperations != 4 {
		t.Errorf("rate/concurrency limits = %+v", c.Limits)
	}
	if c.Limits.PreviewRowsDefault != 100 || c.Limits.PreviewRowsMax != 1000 {
		t.Errorf("limits = %+v", c.Limits)
	}
	if c.Audit.Path != filepath.Join(ws, "audit", "audit.jsonl") {
		t.Errorf("audit path = %q", c.Audit.Path)
	}
	if c.PipelinesDir() != filepath.Join(ws, "pipelines") {
		t.Errorf("pipelines dir = %q", c.PipelinesDir())
	}
}

const full = `# a full configuration
workspace: ws
transport: http
mode:
  sandbox_only: false
  read_only: false
environments:
  sandbox:
    catalog: spark_catalog
    schema: dev
  production:
    url: sc://spark.example.com:15002/;use_ssl=true
    token_env: SDP_PROD_TOKEN
    catalog: main
    schema: analytics
    storage: s3://bucket/sdp
policy: policy.yaml
http:
  listen: 127.0.0.1:9000
  allowed_hosts: [mcp.internal]
  allowed_origins: ["https://app.example.com"]
  max_body_bytes: 65536
audit:
  path: logs/audit.jsonl
`

func TestFullConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sdp-mcp.yaml")
	if err := os.WriteFile(path, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(env(map[string]string{"SDP_PROD_TOKEN": "secret-token"})); err != nil {
		t.Fatal(err)
	}
	if c.Workspace != filepath.Join(dir, "ws") {
		t.Errorf("workspace = %q, want it relative to the file", c.Workspace)
	}
	p := c.Environments.Production
	if p == nil || p.Token() != "secret-token" || p.Catalog != "main" || p.Name != Production {
		t.Fatalf("production = %+v", p)
	}
	if !c.PromoteAvailable() {
		t.Error("promote not available")
	}
	if c.PolicyPath() != filepath.Join(dir, "policy.yaml") {
		t.Errorf("policy path = %q, want it relative to the file", c.PolicyPath())
	}
	if c.Audit.Path != filepath.Join(dir, "ws", "logs", "audit.jsonl") {
		t.Errorf("audit path = %q", c.Audit.Path)
	}
	if c.Environments.Sandbox.Schema != "dev" || c.HTTP.MaxBodyBytes != 65536 {
		t.Errorf("not decoded: %+v %+v", c.Environments.Sandbox, c.HTTP)
	}
}

// TestBadFiles checks that every mistake is reported with its line, key and
// fix, all at once.
func TestBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error, in order
	}{
		{"unknown key with suggestion", "polcy: p.yaml\n",
			[]string{"line 1: polcy: unknown key; fix: did you mean policy?"}},
		{"limits moved to the policy", "limits:\n  call_timeout: 1m\n",
			[]string{"line 1: limits: no longer set here; fix: limits moved to the policy file"}},
		{"sources moved to the policy", "environments:\n  sandbox:\n    sources: [a.b]\n",
			[]string{"line 3: environments.sandbox.sources: no longer set here; fix: sources moved to the policy file"}},
		{"unknown nested key", "environments:\n  production:\n    urll: sc://x\n",
			[]string{"line 3: environments.production.urll: unknown key; fix: did you mean url?"}},
		{"wrong type bool", "mode:\n  read_only: yes please\n",
			[]string{`line 2: mode.read_only: want true or false`}},
		{"wrong type string", "environments:\n  production:\n    catalog: 12\n",
			[]string{`line 3: environments.production.catalog: want a string, got the number "12"`}},
		{"mapping expected", "mode: strict\n", []string{"line 1: mode: want a mapping of keys"}},
		{"duplicate", "transport: stdio\ntransport: http\n", []string{"line 2: transport: duplicate key"}},
		{"syntax", "mode:\n  read_only: [true\n", []string{"not valid YAML"}},
		{"several at once", "limts: {}\nmode:\n  read_onyl: true\n",
			[]string{"2 problems", "line 1: limts", "line 3: mode.read_onyl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tc.yaml))
			assertErr(t, err, tc.want)
		})
	}
}

func assertErr(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not *config.Error: %v", err, err)
	}
	msg := err.Error()
	rest := msg
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("error:\n%s\ndoes not contain (in order) %q", msg, w)
		}
		rest = rest[i+len(w):]
	}
}

func TestBadValues(t *testing.T) {
	prod := "environments:\n  production:\n    url: sc://spark.example.com:15002/\n    token_env: PROD_TOK\n    catalog: main\n    schema: analytics\n    storage: s3://b/p\n"
	for _, tc := range []struct {
		name, yaml string
		flags      Flags
		env        map[string]string
		want       []string
	}{
		{"token in url", strings.Replace(prod, "15002/", "15002/;token=abc123", 1), Flags{}, map[string]string{"PROD_TOK": "x"},
			[]string{"line 3: environments.production.url: contains a token", "set token_env"}},
		{"token env unset", prod, Flags{}, nil,
			[]string{"line 4: environments.production.token_env: environment variable PROD_TOK is not set; fix: export PROD_TOK"}},
		{"token env unset is fine in sandbox-only", prod, Flags{SandboxOnly: ptr(true)}, nil, nil},
		{"missing production keys", "environments:\n  production:\n    token_env: X\n", Flags{}, map[string]string{"X": "y"},
			[]string{"environments.production.url: missing", "environments.production.catalog: missing",
				"environments.production.schema: missing", "environments.production.storage: missing"}},
		{"bad url", strings.Replace(prod, "sc://spark.example.com:15002/", "http://x", 1), Flags{}, map[string]string{"PROD_TOK": "x"},
			[]string{"environments.production.url: invalid Spark Connect URL"}},
		{"bad catalog", strings.Replace(prod, "catalog: main", "catalog: main.x", 1), Flags{}, map[string]string{"PROD_TOK": "x"},
			[]string{`line 5: environments.production.catalog: "main.x" is not a plain identifier`}},
		{"http all interfaces", "transport: http\nhttp:\n  listen: :8080\n", Flags{}, nil,
			[]string{`line 3: http.listen: ":8080" binds every network interface; fix: name the host: 127.0.0.1:8080`}},
		{"http non-loopback without token", "", Flags{Transport: ptr("http"), Listen: ptr("0.0.0.0:8080")}, nil,
			[]string{`--listen: "0.0.0.0:8080" is not a loopback address and no bearer token is configured`}},
		{"http non-loopback with short token", "transport: http\nhttp:\n  listen: 10.0.0.1:80\n  token_env: TOK\n", Flags{}, map[string]string{"TOK": "short"},
			[]string{"http.token_env: the token in TOK is shorter than 32 characters"}},
		{"http non-loopback with token", "transport: http\nhttp:\n  listen: 10.0.0.1:80\n  token_env: TOK\n", Flags{},
			map[string]string{"TOK": strings.Repeat("k", 32)}, nil},
		{"bad transport flag", "", Flags{Transport: ptr("grpc")}, nil, []string{`--transport: unknown transport "grpc"; fix: use stdio or http`}},
		{"bad storage", "environments:\n  sandbox:\n    storage: not a uri\n", Flags{}, nil,
			[]string{`environments.sandbox.storage: "not a uri" is not a storage URI`}},
		{"remote sandbox needs storage", "environments:\n  sandbox:\n    url: sc://10.1.2.3:15002/\n", Flags{}, nil,
			[]string{"environments.sandbox.storage: missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			ws := t.TempDir()
			tc.flags.Workspace = &ws
			c.Apply(tc.flags)
			err = c.Validate(env(tc.env))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			assertErr(t, err, tc.want)
			if strings.Contains(err.Error(), "abc123") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestFlagsOnlyTighten(t *testing.T) {
	c, err := Parse("t.yaml", []byte("mode:\n  sandbox_only: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(Flags{SandboxOnly: ptr(false), ReadOnly: ptr(true)})
	if !c.Mode.SandboxOnly || !c.Mode.ReadOnly {
		t.Errorf("mode = %+v", c.Mode)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	assertErr(t, err, []string{"--config: the file does not exist"})
}

func ptr[T any](v T) *T { return &v }
