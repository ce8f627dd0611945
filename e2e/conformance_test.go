//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// mustPass are the conformance scenarios that apply to sdp-mcp: each must
// run with at least one passed check and no failure or warning. The
// baseline must never list them.
var mustPass = []string{"server-initialize", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"}

// mayBeEmpty apply but may have no passed check: server-sse-polling only
// has checks when the server answers with SSE streams, and sdp-mcp answers
// with JSON.
var mayBeEmpty = []string{"server-sse-polling"}

// httpConfig writes a configuration for `serve --transport http` with the
// sandbox environment on the shared test server.
func httpConfig(t *testing.T, dir, extra string) (path string, env []string) {
	t.Helper()
	shared := sparktest.Sandbox(t)
	path = writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: ws
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: E2E_SANDBOX_TOKEN
    storage: file://%s
policy: policy.yaml
%s`, shared.Port, filepath.Join(dir, "storage"), extra))
	writeFile(t, dir, "policy.yaml", "version: 1\nenvironments:\n  sandbox:\n    sources: [spark_catalog.default.*]\n")
	return path, []string{"E2E_SANDBOX_TOKEN=" + shared.Token}
}

// TestConformance runs every server scenario of the MCP conformance suite
// against `sdp-mcp serve --transport http`, with the expected failures in
// conformance-baseline.yml: the run fails on an unexpected failure and on
// a stale baseline entry.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	cfg, env := httpConfig(t, dir, "")
	srv := startHTTPServer(t, cfg, env...)
	baseline, err := filepath.Abs("conformance-baseline.yml")
	if err != nil {
		t.Fatal(err)
	}
	checkBaseline(t, baseline)

	out := filepath.Join(dir, "results")
	r := runTool(t, 10*time.Minute, dir, "conformance", "server", "--url", srv.url, "--suite", "all",
		"--expected-failures", baseline, "-o", out)
	summary := r.stdout[max(0, strings.Index(r.stdout, "=== SUMMARY ===")):]
	t.Logf("conformance summary:\n%s", summary)
	if r.code != 0 {
		t.Fatalf("conformance: exit code %d\n%s\nstderr:\n%s\nserver log:\n%s", r.code, summary, tail(r.stderr, 30), tail(srv.log(), 30))
	}

	// The applicable scenarios ran and passed (the baseline check alone
	// would also accept a scenario that did not run).
	results := scenarioResults(t, out)
	for _, s := range append(append([]string(nil), mustPass...), mayBeEmpty...) {
		res, ok := results[s]
		switch {
		case !ok:
			t.Errorf("scenario %s did not run", s)
		case res.failed > 0 || res.warnings > 0:
			t.Errorf("scenario %s: %d failed, %d warnings", s, res.failed, res.warnings)
		case res.passed == 0 && !contains(mayBeEmpty, s):
			t.Errorf("scenario %s: no check passed", s)
		}
	}
}

// TestInspectorHTTP drives the HTTP transport with the Inspector CLI: a
// bearer token is required when configured (exit 3 without it), and
// tools/list works with it.
func TestInspectorHTTP(t *testing.T) {
	dir := t.TempDir()
	const token = "e2e-http-token-0123456789abcdef0123456789"
	cfg, env := httpConfig(t, dir, "mode:\n  sandbox_only: true\nhttp:\n  token_env: E2E_HTTP_TOKEN\n")
	srv := startHTTPServer(t, cfg, append(env, "E2E_HTTP_TOKEN="+token)...)

	r := runTool(t, 2*time.Minute, dir, "mcp-inspector", "--cli", srv.url, "--transport", "http",
		"--method", "tools/list", "--format", "json", "--stored-auth-only")
	if r.code != 3 {
		t.Errorf("tools/list without the token: exit code %d, want 3 (auth)\nstdout: %s\nstderr: %s", r.code, r.stdout, tail(r.stderr, 10))
	}
	r = runTool(t, 2*time.Minute, dir, "mcp-inspector", "--cli", srv.url, "--transport", "http",
		"--method", "tools/list", "--format", "json", "--header", "Authorization: Bearer "+token)
	if r.code != 0 {
		t.Fatalf("tools/list with the token: exit code %d\nstdout: %s\nstderr: %s", r.code, r.stdout, tail(r.stderr, 10))
	}
	var list struct {
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Result.Tools {
		names = append(names, tl.Name)
	}
	if len(names) != 10 || contains(names, "promote") {
		t.Errorf("sandbox-only tools over HTTP: %v, want the 10 tools without promote", names)
	}
}

type scenarioResult struct{ passed, failed, warnings int }

var timestampSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}T[\d-]+Z$`)

// scenarioResults reads the checks.json of every scenario the suite wrote.
func scenarioResults(t *testing.T, dir string) map[string]scenarioResult {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no results in %s (%v)", dir, err)
	}
	out := map[string]scenarioResult{}
	for _, f := range files {
		name := strings.TrimPrefix(timestampSuffix.ReplaceAllString(filepath.Base(filepath.Dir(f)), ""), "server-")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var checks []struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(b, &checks); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var r scenarioResult
		for _, c := range checks {
			switch c.Status {
			case "SUCCESS":
				r.passed++
			case "FAILURE":
				r.failed++
			case "WARNING":
				r.warnings++
			}
		}
		out[name] = r
	}
	return out
}

// checkBaseline makes sure the baseline lists no scenario that applies.
func checkBaseline(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "- ")
		if ok && (contains(mustPass, strings.TrimSpace(name)) || contains(mayBeEmpty, strings.TrimSpace(name))) {
			t.Errorf("%s lists %s, which applies to sdp-mcp and must pass", filepath.Base(path), name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
