//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

var (
	pythonOnce sync.Once
	pythonBin  string
	pythonErr  error
)

// pythonMCP is the interpreter of the pinned Python MCP SDK, installed by
// the project's own script; a failure fails the test.
func pythonMCP(t *testing.T) string {
	t.Helper()
	pythonOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "python-mcp.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		pythonBin, pythonErr = strings.TrimSpace(string(out)), err
	})
	if pythonErr != nil || pythonBin == "" {
		t.Fatalf("scripts/python-mcp.sh failed (the identity tests need Python 3.10+ with venv and pip): %v", pythonErr)
	}
	return pythonBin
}

// pyResult is one call as the Python agent saw it.
type pyResult struct {
	Tool       string         `json:"tool"`
	IsError    bool           `json:"is_error"`
	Text       string         `json:"text"`
	Structured map[string]any `json:"structured"`
	Protocol   string         `json:"protocol"`
	Asked      []string       `json:"asked"`
}

type pyCall struct {
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
	Meta map[string]any `json:"meta,omitempty"`
}

// pyAgent runs the Python SDK agent (e2e/pyagent) with one token, protocol
// mode and elicitation behaviour over a list of calls.
func pyAgent(t *testing.T, url, token, mode, elicit string, calls ...pyCall) []pyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonMCP(t), filepath.Join(repoRoot, "e2e", "pyagent", "agent.py"),
		url, token, mode, elicit, mustJSON(t, calls))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python agent (%s, %s): %v\nstdout: %s\nstderr: %s", mode, elicit, err, stdout.String(), tail(stderr.String(), 30))
	}
	var out []pyResult
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r pyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("python agent output: %v\n%s", err, sc.Text())
		}
		out = append(out, r)
	}
	if len(out) != len(calls) {
		t.Fatalf("python agent answered %d of %d calls\nstderr: %s", len(out), len(calls), tail(stderr.String(), 30))
	}
	return out
}

// TestIdentityAndApprovalsWithPythonSDK drives one HTTP server with two
// named clients through the Python MCP SDK on both protocol versions, with
// and without an elicitation callback, and promotes into a private second
// Spark Connect server only with a person's approval.
func TestIdentityAndApprovalsWithPythonSDK(t *testing.T) {
	ctx := sparktest.Context(t, 20*time.Minute)
	shared := sparktest.Sandbox(t)
	prod := startPrivateSandbox(t, ctx)
	suffix := time.Now().UnixNano() % 1e9
	dev := fmt.Sprintf("e2e_id_dev_%d", suffix)
	const prodSchema = "approved"
	sb := sparkSession(t, ctx, shared.URL())
	execSQL(t, ctx, sb, "CREATE SCHEMA "+dev)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		execSQL(t, cctx, sb, "DROP SCHEMA IF EXISTS "+dev+" CASCADE")
	})
	execSQL(t, ctx, sparkSession(t, ctx, prod.URL()), "CREATE SCHEMA "+prodSchema)

	dir := t.TempDir()
	cfg := writeFile(t, dir, "sdp-mcp.yaml", fmt.Sprintf(`workspace: ws
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: E2E_SANDBOX_TOKEN
    schema: %s
    storage: file://%s
  production:
    url: sc://127.0.0.1:%d/
    token_env: E2E_PROD_TOKEN
    catalog: spark_catalog
    schema: %s
    storage: file://%s
http:
  clients:
    - {name: alice, token_env: E2E_ALICE}
    - {name: bob, token_env: E2E_BOB}
`, shared.Port, dev, filepath.Join(dir, "sandbox-storage"), prod.Port, prodSchema, filepath.Join(dir, "prod-storage")))
	alice, bob := strings.Repeat("a7", 20), strings.Repeat("b9", 20)
	srv := startHTTPServer(t, cfg, "E2E_SANDBOX_TOKEN="+shared.Token, "E2E_PROD_TOKEN="+prod.Token,
		"E2E_ALICE="+alice, "E2E_BOB="+bob)

	declareValidate := func(pipe, query string) []pyCall {
		return []pyCall{
			{Tool: "declare_table", Args: map[string]any{"pipeline": pipe, "name": "t", "kind": "materialized_view", "query": query}},
			{Tool: "validate", Args: map[string]any{"pipeline": pipe}},
		}
	}
	hashOf := func(rs []pyResult) string {
		v := rs[len(rs)-1]
		if v.IsError || v.Structured["pipeline_hash"] == nil {
			t.Fatalf("validate: %s", v.Text)
		}
		return v.Structured["pipeline_hash"].(string)
	}
	promoteCall := func(pipe, hash string) pyCall {
		return pyCall{Tool: "promote", Args: map[string]any{"pipeline": pipe, "pipeline_hash": hash}}
	}

	// 1. Alice on 2026-07-28 without elicitation: approval_required, then
	// a person approves on the server's machine and her next promote runs.
	rs := pyAgent(t, srv.url, alice, "auto", "none", declareValidate("p_oob", "SELECT 1 AS one")...)
	h1 := hashOf(rs)
	if rs[0].Protocol != "2026-07-28" {
		t.Errorf("mode auto negotiated %q", rs[0].Protocol)
	}
	rs = pyAgent(t, srv.url, alice, "auto", "none", promoteCall("p_oob", h1))
	id := regexp.MustCompile(`Approval id: (ap_[0-9a-f]{20})`).FindStringSubmatch(rs[0].Text)
	if !rs[0].IsError || !strings.Contains(rs[0].Text, "approval_required") || id == nil {
		t.Fatalf("promote without approval: %+v", rs[0])
	}
	// Bob cannot use Alice's approval: approvals bind to the principal.
	out, err := exec.Command(sdpBin, "approve", id[1], "--config", cfg, "--by", "release-manager").CombinedOutput()
	if err != nil {
		t.Fatalf("sdp-mcp approve: %v\n%s", err, out)
	}
	rs = pyAgent(t, srv.url, bob, "auto", "none", promoteCall("p_oob", h1))
	if !rs[0].IsError || !strings.Contains(rs[0].Text, "approval_required") {
		t.Fatalf("bob promoted under alice's approval: %+v", rs[0])
	}
	rs = pyAgent(t, srv.url, alice, "auto", "none", promoteCall("p_oob", h1))
	if rs[0].IsError || rs[0].Structured["ok"] != true {
		t.Fatalf("promote after approval: %+v", rs[0])
	}
	checkRows(t, ctx, prod.URL(), "SELECT one FROM spark_catalog."+prodSchema+".t", [][]any{{int32(1)}})

	// 2. Alice on 2025-11-25 with a callback that accepts: the server asks
	// through elicitation/create and promotes.
	rs = pyAgent(t, srv.url, alice, "legacy", "accept",
		append(declareValidate("p_legacy", "SELECT 2 AS two"), pyCall{Tool: "list_pipelines", Args: map[string]any{}})...)
	h2 := hashOf(rs[:2])
	if rs[0].Protocol != "2025-11-25" {
		t.Errorf("mode legacy negotiated %q", rs[0].Protocol)
	}
	rs = pyAgent(t, srv.url, alice, "legacy", "accept", promoteCall("p_legacy", h2))
	if rs[0].IsError || rs[0].Structured["ok"] != true || len(rs[0].Asked) != 1 || !strings.Contains(rs[0].Asked[0], h2) {
		t.Fatalf("legacy promote with an accepting person: %+v", rs[0])
	}
	// The table's definition was replaced by one with another column.
	checkRows(t, ctx, prod.URL(), "SELECT * FROM spark_catalog."+prodSchema+".t", [][]any{{int32(2)}})

	// 3. Bob on 2026-07-28 with a callback: a decline refuses; accepting
	// a fresh question (an input-required round) promotes.
	rs = pyAgent(t, srv.url, bob, "auto", "decline", declareValidate("p_bob", "SELECT 3 AS three")...)
	h3 := hashOf(rs)
	rs = pyAgent(t, srv.url, bob, "auto", "decline", promoteCall("p_bob", h3))
	if !rs[0].IsError || !strings.Contains(rs[0].Text, "declined") || len(rs[0].Asked) != 1 {
		t.Fatalf("a declined promotion: %+v", rs[0])
	}
	rs = pyAgent(t, srv.url, bob, "auto", "accept", promoteCall("p_bob", h3),
		pyCall{Tool: "list_pipelines", Args: map[string]any{}, Meta: map[string]any{"sdp-mcp/conversation": "bob-chat-2"}})
	if rs[0].IsError || rs[0].Structured["ok"] != true || len(rs[0].Asked) != 1 {
		t.Fatalf("an accepted promotion on 2026-07-28: %+v", rs[0])
	}
	checkRows(t, ctx, prod.URL(), "SELECT three FROM spark_catalog."+prodSchema+".t", [][]any{{int32(3)}})

	// 4. Legacy without elicitation: the out-of-band path too.
	rs = pyAgent(t, srv.url, bob, "legacy", "none", declareValidate("p_bob", "SELECT 4 AS four")...)
	rs = pyAgent(t, srv.url, bob, "legacy", "none", promoteCall("p_bob", hashOf(rs)))
	if !rs[0].IsError || !strings.Contains(rs[0].Text, "approval_required") {
		t.Fatalf("legacy promote without elicitation: %+v", rs[0])
	}

	auditPath := filepath.Join(dir, "ws", "audit", "audit.jsonl")
	checkIdentityAudit(t, auditPath, id[1])
	// SDP_MCP_E2E_KEEP_AUDIT=FILE keeps a copy of the audit log to read.
	if keep := os.Getenv("SDP_MCP_E2E_KEEP_AUDIT"); keep != "" {
		if b, err := os.ReadFile(auditPath); err == nil {
			_ = os.WriteFile(keep, b, 0o600)
		}
	}
}

// checkIdentityAudit reads the audit log back: every call names its
// principal and protocol version, both principals and both protocol
// versions appear, and the out-of-band approval's life is recorded.
func checkIdentityAudit(t *testing.T, path, approvalID string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Event           string                 `json:"event"`
		Tool            string                 `json:"tool"`
		Decision        string                 `json:"decision"`
		Principal       string                 `json:"principal"`
		Conversation    string                 `json:"conversation"`
		ProtocolVersion string                 `json:"protocol_version"`
		Transport       string                 `json:"transport"`
		Client          *struct{ Name string } `json:"client"`
		Fields          json.RawMessage        `json:"fields"`
		Rules           []string               `json:"rules"`
	}
	principals, protocols, events, conversations := map[string]int{}, map[string]int{}, []string{}, map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line: %v\n%s", err, line)
		}
		if r.Event != "" {
			if strings.HasPrefix(r.Event, "approval.") && strings.Contains(string(r.Fields), approvalID) {
				events = append(events, r.Event+"/"+r.Transport+"/"+r.Principal)
			}
			continue
		}
		if r.Principal == "" || r.ProtocolVersion == "" || r.Client == nil || r.Client.Name != "python-agent" {
			t.Errorf("call record without principal, protocol version or client: %s", line)
		}
		principals[r.Principal]++
		protocols[r.ProtocolVersion]++
		conversations[r.Conversation] = true
	}
	if principals["alice"] == 0 || principals["bob"] == 0 || len(principals) != 2 {
		t.Errorf("principals in the audit log: %v", principals)
	}
	if protocols["2026-07-28"] == 0 || protocols["2025-11-25"] == 0 {
		t.Errorf("protocol versions in the audit log: %v", protocols)
	}
	if !conversations["bob-chat-2"] {
		t.Errorf("the _meta conversation is not recorded: %v", conversations)
	}
	want := []string{"approval.requested/http/alice", "approval.approved/cli/alice", "approval.used/http/alice"}
	if !slices.Equal(events, want) {
		t.Errorf("approval %s in the audit log: %v, want %v", approvalID, events, want)
	}
}
