package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, "v9.9.9-test")
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || out != "sdp-mcp v9.9.9-test\n" {
		t.Errorf("--version: code %d, output %q", code, out)
	}
	if v := buildVersion("v1.2.3"); v != "v1.2.3" {
		t.Errorf("buildVersion(linked) = %q", v)
	}
	if v := buildVersion(""); v == "" {
		t.Error("buildVersion without ldflags is empty")
	}
}

func TestSparkVersion(t *testing.T) {
	code, out, _ := runCLI(t, "sandbox", "spark-version")
	if code != 0 || out != sandbox.SparkVersion+"\n" {
		t.Errorf("code %d, output %q", code, out)
	}
}

func TestErrorsAreOneLineWithExitCode1(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"--log-level", "loud", "sandbox", "status"},
		{"sandbox", "start", "--memory", "2 gigs", "--workspace", t.TempDir()},
		{"sandbox", "start", "--port", "70000", "--workspace", t.TempDir()},
		{"sandbox", "status", "extra-arg"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 1 {
			t.Errorf("%v: exit code %d, want 1", args, code)
		}
		if !strings.HasPrefix(stderr, "sdp-mcp: ") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: stderr not one line: %q", args, stderr)
		}
	}
}

func TestStatusAndStopOnEmptyWorkspace(t *testing.T) {
	ws := t.TempDir()
	code, out, stderr := runCLI(t, "--workspace", ws, "sandbox", "status", "--json")
	if code != 0 {
		t.Fatalf("status: %d %s", code, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("status --json output is not JSON: %v\n%s", err, out)
	}
	if v["status"] != sandbox.StateStopped || v["workspace"] != ws {
		t.Errorf("status = %v", v)
	}
	code, out, _ = runCLI(t, "--workspace", ws, "sandbox", "status")
	if code != 0 || !strings.Contains(out, "stopped") {
		t.Errorf("status: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "--workspace", ws, "sandbox", "stop")
	if code != 0 || !strings.Contains(out, "not running") {
		t.Errorf("stop: %d %q", code, out)
	}
}

func TestStatusRedactsToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	inst := &sandbox.Instance{Workspace: "/w", Port: 15002, PID: 10, PGID: 10, Token: token, StartedAt: time.Now()}
	for _, asJSON := range []bool{false, true} {
		var buf bytes.Buffer
		v := statusView{Status: sandbox.StateRunning, Workspace: "/w"}
		v.fill(inst, false)
		if err := v.write(&buf, asJSON); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), token) {
			t.Errorf("token shown without --show-token (json=%v):\n%s", asJSON, buf.String())
		}
		if !strings.Contains(buf.String(), "sc://127.0.0.1:15002/;token=<redacted>") {
			t.Errorf("redacted URL missing (json=%v):\n%s", asJSON, buf.String())
		}
	}
	var buf bytes.Buffer
	v := statusView{Status: sandbox.StateRunning, Workspace: "/w"}
	v.fill(inst, true)
	if err := v.write(&buf, true); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["url"] != inst.URL() || m["pyspark_url"] != inst.PyURL() || m["token"] != token {
		t.Errorf("--show-token JSON = %v", m)
	}
}

// The binary must answer --version in well under 100 ms.
func TestVersionStartsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sdp-mcp")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = os.Environ()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	best := time.Hour
	for i := 0; i < 5; i++ {
		begin := time.Now()
		out, err := exec.Command(bin, "--version").Output()
		d := time.Since(begin)
		if err != nil || !strings.HasPrefix(string(out), "sdp-mcp ") {
			t.Fatalf("--version: %v %q", err, out)
		}
		best = min(best, d)
	}
	t.Logf("--version took %s", best)
	if best > 100*time.Millisecond {
		t.Errorf("--version took %s, want well under 100ms", best)
	}
}
