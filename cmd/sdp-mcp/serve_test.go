package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
)

func TestServeRejectsBadConfigBeforeStarting(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "sdp-mcp.yaml")
	os.WriteFile(bad, []byte("limits:\n  preview_rows_max: lots\n"), 0o600)
	badPolicy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(badPolicy, []byte("version: 1\nlimits:\n  preview_rows_max: lots\n"), 0o600)
	withPolicy := filepath.Join(dir, "with-policy.yaml")
	os.WriteFile(withPolicy, []byte("policy: policy.yaml\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--config", bad}, "line 1: limits: no longer set here; fix: limits moved to the policy file"},
		{[]string{"serve", "--policy", badPolicy}, "line 3: limits.preview_rows_max: want a whole number"},
		{[]string{"serve", "--config", withPolicy}, "line 3: limits.preview_rows_max: want a whole number"},
		{[]string{"serve", "--policy", filepath.Join(dir, "nope.yaml")}, "policy: the policy file does not exist"},
		{[]string{"serve", "--config", filepath.Join(dir, "missing.yaml")}, "--config: the file does not exist"},
		{[]string{"serve", "--transport", "grpc"}, `--transport: unknown transport "grpc"; fix: use stdio or http`},
		{[]string{"serve", "--listen", "0.0.0.0:8080"}, "is not a loopback address and no bearer token is configured"},
		{[]string{"serve", "--listen", ":8080"}, "binds every network interface"},
	} {
		ws := t.TempDir()
		code, stdout, stderr := runCLI(t, append(tc.args, "--workspace", ws)...)
		if code != 1 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
		// Nothing was started: not even the audit log.
		if _, err := os.Stat(filepath.Join(ws, "audit")); err == nil {
			t.Errorf("%v: the audit log was created for a server that did not start", tc.args)
		}
	}
}

func TestServeStdioStopsAtEndOfInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin; r.Close() })

	ws := t.TempDir()
	code, stdout, stderr := runCLI(t, "serve", "--workspace", ws, "--sandbox-only", "--log-level", "error")
	if code != 0 || stdout != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	st, err := os.Stat(filepath.Join(ws, "audit", "audit.jsonl"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit log: %v %v", st, err)
	}
}

func TestAuditTail(t *testing.T) {
	ws := t.TempDir()
	code, _, stderr := runCLI(t, "audit", "tail", "--workspace", ws)
	if code != 1 || !strings.Contains(stderr, "no audit log yet") {
		t.Errorf("empty workspace: code %d, stderr %q", code, stderr)
	}
	os.MkdirAll(filepath.Join(ws, "audit"), 0o700)
	var lines []string
	for _, tool := range []string{"a", "b", "c", "d"} {
		lines = append(lines, `{"tool":"`+tool+`","decision":"ok"}`)
	}
	os.WriteFile(filepath.Join(ws, "audit", "audit.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	code, stdout, _ := runCLI(t, "audit", "tail", "-n", "2", "--workspace", ws)
	if code != 0 || stdout != lines[2]+"\n"+lines[3]+"\n" {
		t.Errorf("tail -n 2: code %d, %q", code, stdout)
	}
	if code, _, _ := runCLI(t, "audit", "tail", "-n", "0", "--workspace", ws); code != 1 {
		t.Error("tail -n 0 accepted")
	}
	// A configured audit path is honoured, without needing the secrets.
	cfg := filepath.Join(ws, "c.yaml")
	os.WriteFile(cfg, []byte("audit:\n  path: elsewhere.jsonl\nenvironments:\n  production:\n    token_env: NOT_SET_ANYWHERE\n"), 0o600)
	os.WriteFile(filepath.Join(ws, "elsewhere.jsonl"), []byte(lines[0]+"\n"), 0o600)
	code, stdout, stderr = runCLI(t, "audit", "tail", "--config", cfg, "--workspace", ws)
	if code != 0 || stdout != lines[0]+"\n" {
		t.Errorf("configured path: code %d, %q %q", code, stdout, stderr)
	}
}

func TestWithToken(t *testing.T) {
	for _, tc := range []struct{ url, token, want string }{
		{"sc://h:1", "t", "sc://h:1/;token=t"},
		{"sc://h:1/", "a;b%c", "sc://h:1/;token=a%3Bb%25c"},
		{"sc://h:1/;use_ssl=true", "t", "sc://h:1/;use_ssl=true;token=t"},
		{"sc://h:1/", "", "sc://h:1/"},
		{"", "t", ""},
	} {
		got := withToken(tc.url, tc.token)
		if got != tc.want {
			t.Errorf("withToken(%q, %q) = %q, want %q", tc.url, tc.token, got, tc.want)
			continue
		}
		if got != "" {
			ep, err := connect.ParseURL(got)
			if err != nil {
				t.Errorf("%q does not parse: %v", got, err)
			} else if ep.Token != tc.token {
				t.Errorf("%q parses to token %q", got, ep.Token)
			}
		}
	}
}

func TestEngineFactoryBuildsARemoteEngineWithoutDialling(t *testing.T) {
	st := config.Default()
	st.Workspace = t.TempDir()
	st.Environments.Production = &config.Environment{URL: "sc://127.0.0.1:1/", TokenEnv: "TOK",
		Catalog: "main", Schema: "gold", Storage: "s3://b/sdp", Sources: []string{"main.raw"}}
	if err := st.Validate(func(string) (string, bool) { return "secret", true }); err != nil {
		t.Fatal(err)
	}
	e, err := engineFactory(st, discardLogger())(context.Background(), *st.Environments.Production)
	if err != nil || e == nil {
		t.Fatalf("factory: %v", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
