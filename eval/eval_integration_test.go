//go:build integration

package eval_test

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/eval"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// build compiles a command of this module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestEvalReferenceWrongAndReplay runs the reference agent on the default
// suite (every task must pass), the wrong agent on two tasks (each must
// fail on its tables, and its refused call must be counted by rule id),
// replays the reference agent's session (no divergence) and a session
// under another policy (divergence).
func TestEvalReferenceWrongAndReplay(t *testing.T) {
	ctx := sparktest.Context(t, 10*time.Minute)
	inst := sparktest.Sandbox(t)
	bins := t.TempDir()
	sdp := build(t, bins, "github.com/sdp-mcp/sdp-mcp/cmd/sdp-mcp")
	agent := build(t, bins, "github.com/sdp-mcp/sdp-mcp/eval/refagent")
	suite, err := eval.LoadSuite(filepath.Join("suites", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	spark := eval.Spark{Port: inst.Port, Token: inst.Token}
	out := t.TempDir()
	if dir := os.Getenv("SDP_MCP_TEST_ARTIFACTS"); dir != "" {
		out = filepath.Join(dir, "eval")
	}

	ref := &eval.Runner{Bin: sdp, Agent: []string{agent}, Out: filepath.Join(out, "reference"), Spark: spark, Log: log}
	card, err := ref.Run(ctx, suite)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reference agent:\n%s", card.Markdown())
	if card.Passed != 5 || card.Total != 5 {
		t.Errorf("reference agent passed %d of %d tasks, want 5 of 5", card.Passed, card.Total)
	}
	for _, tc := range card.Tasks {
		if !tc.Pass || tc.Calls == 0 || tc.CallsToFirstValidate == 0 || tc.SecondsToGreen <= 0 || len(tc.Rules) != 0 {
			t.Errorf("reference %s: %+v", tc.Task, tc)
		}
	}
	for _, f := range []string{"scorecard.md", "scorecard.json", "clean_customers/scorecard.md", "clean_customers/scorecard.json"} {
		if _, err := os.Stat(filepath.Join(ref.Out, f)); err != nil {
			t.Errorf("scorecard file: %v", err)
		}
	}

	// A task on files registered for it.
	files, err := eval.LoadSuite(filepath.Join("testdata", "files-suite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fr := &eval.Runner{Bin: sdp, Agent: []string{agent}, Out: filepath.Join(out, "files"), Spark: spark, Log: log}
	fcard, err := fr.Run(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if fcard.Passed != 1 {
		t.Errorf("reference agent on a file source:\n%s", fcard.Markdown())
	}

	wrong := &eval.Runner{Bin: sdp, Agent: []string{agent, "-wrong"}, Out: filepath.Join(out, "wrong"), Spark: spark, Log: log,
		Tasks: []string{"clean_customers", "daily_revenue"}}
	wcard, err := wrong.Run(ctx, suite)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrong agent:\n%s", wcard.Markdown())
	if wcard.Passed != 0 || wcard.Total != 2 {
		t.Errorf("wrong agent passed %d of %d tasks, want 0 of 2", wcard.Passed, wcard.Total)
	}
	for _, tc := range wcard.Tasks {
		// Its pipelines validate and run: the tables are what is wrong.
		if tc.Pass || !tc.Validates || tc.Score != 0 || len(tc.Tables[0].Problems) == 0 || tc.Decisions["rejected"] != 1 || len(tc.Rules) == 0 {
			t.Errorf("wrong %s: %+v", tc.Task, tc)
		}
	}

	replay := func(name, auditLog, policy string) *eval.ReplayReport {
		t.Helper()
		r := &eval.Replayer{Bin: sdp, Spark: spark, Out: filepath.Join(out, name), Policy: policy, Log: log}
		rep, err := r.Replay(ctx, auditLog)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", name, rep.Markdown())
		return rep
	}
	task := filepath.Join(ref.Out, "daily_revenue")
	rep := replay("replay-reference", filepath.Join(task, "workspace", "audit", "audit.jsonl"), filepath.Join(task, "policy.yaml"))
	if rep.Calls != card.Tasks[1].Calls || len(rep.Divergences) != 0 {
		t.Errorf("replay of the reference session: %d calls (want %d), divergences %+v", rep.Calls, card.Tasks[1].Calls, rep.Divergences)
	}
	// The wrong agent's refused read of spark_catalog.default is allowed
	// by the built-in policy: the replay must say so.
	wtask := filepath.Join(wrong.Out, "clean_customers")
	rep = replay("replay-other-policy", filepath.Join(wtask, "workspace", "audit", "audit.jsonl"), "")
	if len(rep.Divergences) == 0 || rep.Divergences[0].Call != 1 {
		t.Errorf("replay under another policy: divergences %+v, want one at the first call", rep.Divergences)
	}
}
