package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

func TestAuditVerify(t *testing.T) {
	ws := t.TempDir()
	code, _, stderr := runCLI(t, "audit", "verify", "--workspace", ws)
	if code != 1 || !strings.Contains(stderr, "no audit log at") {
		t.Errorf("empty workspace: code %d, stderr %q", code, stderr)
	}
	path := filepath.Join(ws, "audit", "audit.jsonl")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"a", "b", "c"} {
		if err := l.Write(audit.Record{Tool: tool, Decision: audit.OK}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	code, stdout, stderr := runCLI(t, "audit", "verify", "--workspace", ws)
	if code != 0 || !strings.Contains(stdout, "audit log verified: 3 record(s), seq 1 to 3, in 1 file(s)\n  "+path+"\nlast record: seq 3, sha256 ") {
		t.Errorf("verify: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"tool":"b"`, `"tool":"B"`, 1)), 0o600)
	code, _, stderr = runCLI(t, "audit", "verify", "--path", path)
	if code != 1 || !strings.HasPrefix(stderr, "sdp-mcp: the audit log does not verify: "+path+" line 2: altered: seq 2 hashes to ") {
		t.Errorf("altered: code %d, stderr %q", code, stderr)
	}
}
