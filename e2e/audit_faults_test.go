//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/internal/smallfs"
)

// stdioServer is `sdp-mcp serve` over stdio, driven by mcp-go's client.
type stdioServer struct {
	c   *client.Client
	cmd *exec.Cmd
}

// startStdio starts the binary under test on a workspace (no Spark: the
// tools used here never need the engine) and initializes a session.
func startStdio(t *testing.T, ws string, args ...string) *stdioServer {
	t.Helper()
	s := &stdioServer{}
	argv := append([]string{"--workspace", ws, "--log-level", "warn", "serve"}, args...)
	c, err := client.NewStdioMCPClientWithOptions(sdpBin, nil, argv,
		transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			s.cmd = exec.CommandContext(ctx, command, args...)
			s.cmd.Env = append(os.Environ(), env...)
			return s.cmd, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "audit-faults", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		s.kill()
		t.Fatalf("initialize: %v", err)
	}
	return s
}

// kill sends SIGKILL to the server and releases the client.
func (s *stdioServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
	}
	_ = s.c.Close()
}

// call makes a tool call; isErr is a tool error result, err a protocol or
// transport error.
func (s *stdioServer) call(ctx context.Context, tool string, args map[string]any) (out map[string]any, isErr bool, err error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, false, err
	}
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &out)
	if res.IsError {
		var text []string
		for _, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				text = append(text, tc.Text)
			}
		}
		out = map[string]any{"error": strings.Join(text, "\n")}
	}
	return out, res.IsError, nil
}

// declareArgs declares dataset name of pipeline p; n is in its query and
// pad makes the audit records span several pages.
func declareArgs(name string, n int, pad int) map[string]any {
	return map[string]any{"pipeline": "p", "name": name, "kind": "materialized_view",
		"query": fmt.Sprintf("SELECT %d AS n, '%s' AS pad", n, strings.Repeat("x", pad))}
}

// auditVerify runs `sdp-mcp audit verify` on the workspace's log.
func auditVerify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(sdpBin, append([]string{"audit", "verify"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestKill9MidDeclareKeepsTheDraftAndTheAuditChain kills the server with
// SIGKILL, again and again, while four clients declare datasets with large
// queries. After each kill a new server starts on the same workspace: the
// draft loads, every acknowledged declaration is in it, every
// acknowledged call has its audit record, and `audit verify` passes. The
// log rotates at 256 KiB, so kills also land around rotations.
func TestKill9MidDeclareKeepsTheDraftAndTheAuditChain(t *testing.T) {
	ws := t.TempDir()
	logPath := filepath.Join(ws, "audit", "audit.jsonl")
	cfg := filepath.Join(ws, "config.yaml")
	if err := os.WriteFile(cfg, []byte("audit:\n  max_bytes: 262144\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 4, 12
	// acked[w] is the highest n of worker w's declarations the server
	// acknowledged.
	acked := make([]int, workers)
	ackedCalls, tornSeen := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range rounds {
		// Before each restart: a torn tail left by the kill is counted
		// (the kill rarely lands inside a write); every third round one
		// is made by hand, as a kill inside write(2) leaves it.
		if round > 0 {
			data, err := os.ReadFile(logPath)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if len(data) > 0 && data[len(data)-1] != '\n' {
				tornSeen++
			} else if round%3 == 1 {
				f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(bytes.Repeat([]byte(`{"seq":9,"prev":"`), 200)[:3000])
				f.Close()
			}
		}
		s := startStdio(t, ws, "--config", cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// The draft written before the last kill loads.
		if round > 0 {
			out, isErr, err := s.call(ctx, "show_pipeline", map[string]any{"pipeline": "p"})
			if err != nil || isErr {
				s.kill()
				cancel()
				t.Fatalf("round %d: show_pipeline after kill -9: %v %v", round, err, out)
			}
			checkDraft(t, round, out, acked)
			if out, isErr, err := s.call(ctx, "list_pipelines", map[string]any{}); err != nil || isErr {
				t.Fatalf("round %d: list_pipelines after kill -9: %v %v", round, err, out)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 1; i <= 25; i++ {
					n := round*1000 + i
					_, isErr, err := s.call(ctx, "declare_table", declareArgs(fmt.Sprintf("d%d", w), n, 20000+w*3000))
					if err != nil {
						return // the server was killed
					}
					if !isErr {
						mu.Lock()
						acked[w], ackedCalls = n, ackedCalls+1
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(50+rng.IntN(550)) * time.Millisecond)
		s.kill()
		wg.Wait()
		cancel()
	}
	// A last server: the draft and the audit log after the last kill.
	s := startStdio(t, ws, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, isErr, err := s.call(ctx, "show_pipeline", map[string]any{"pipeline": "p"})
	if err != nil || isErr {
		t.Fatalf("show_pipeline after the last kill: %v %v", err, out)
	}
	checkDraft(t, rounds, out, acked)
	s.kill()

	report, err := auditVerify(t, "--workspace", ws)
	if err != nil {
		t.Fatalf("audit verify after %d kills: %v\n%s", rounds, err, report)
	}
	files, _ := filepath.Glob(filepath.Join(ws, "audit", "audit*.jsonl"))
	if len(files) < 3 {
		t.Errorf("%d audit files: the log did not rotate", len(files))
	}
	okRecords, repairs := 0, 0
	for _, f := range files {
		o, r := countAudit(t, f)
		okRecords, repairs = okRecords+o, repairs+r
	}
	if okRecords < ackedCalls {
		t.Errorf("%d acknowledged declare_table calls but %d ok records: records were lost", ackedCalls, okRecords)
	}
	if repairs < rounds/3 {
		t.Errorf("%d audit.repaired events, want at least %d", repairs, rounds/3)
	}
	t.Logf("%d kill -9 rounds: %d declarations acknowledged, %d ok records in %d files, %d torn tails left by kills, %d repairs recorded\n%s",
		rounds, ackedCalls, okRecords, len(files), tornSeen, repairs, lastLines(report, 8))
}

// checkDraft checks every acknowledged declaration is in the draft shown.
func checkDraft(t *testing.T, round int, out map[string]any, acked []int) {
	t.Helper()
	found := map[string]string{}
	ds, _ := out["datasets"].([]any)
	for _, d := range ds {
		m, _ := d.(map[string]any)
		name, _ := m["name"].(string)
		query, _ := m["query"].(string)
		found[name] = query
	}
	for w, n := range acked {
		if n == 0 {
			continue
		}
		q, ok := found[fmt.Sprintf("d%d", w)]
		var got int
		if ok {
			fmt.Sscanf(q, "SELECT %d AS n", &got)
		}
		if got < n {
			t.Errorf("round %d: dataset d%d has n=%d in the draft, but n=%d was acknowledged", round, w, got, n)
		}
	}
}

// countAudit counts the ok declare_table records and the repair events of
// one file of the log.
func countAudit(t *testing.T, path string) (ok, repairs int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Tool, Decision, Event string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		if r.Tool == "declare_table" && r.Decision == "ok" {
			ok++
		}
		if r.Event == "audit.repaired" {
			repairs++
		}
	}
	return ok, repairs
}

// TestAuditOnAFullDisk puts the audit log on a 64 KiB tmpfs: calls
// succeed until the disk is full, then are refused with a tool error that
// says what happened to the call and that the operator must fix the log
// (never a JSON-RPC error, never the log's path); no refusal leaves a torn
// record; once space returns, calls succeed again and `audit verify`
// passes.
func TestAuditOnAFullDisk(t *testing.T) {
	fs := smallfs.Mount(t, 64<<10)
	ws := t.TempDir()
	logPath := filepath.Join(fs.Dir, "audit.jsonl")
	cfg := filepath.Join(ws, "config.yaml")
	if err := os.WriteFile(cfg, []byte("audit:\n  path: "+logPath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startStdio(t, ws, "--config", cfg)
	defer s.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The two refusals: the "allowed" record failed (nothing ran), or the
	// outcome record failed (the declaration stands).
	const (
		notRun    = "declare_table was refused because the audit log could not be written: nothing ran. "
		noOutcome = "declare_table: the declaration was saved in the draft; its outcome could not be recorded in the audit log, so its result is withheld. "
		operator  = "The server's operator must free space for the audit log or repair it (ref "
	)
	okCalls, refused := 0, map[string]int{}
	var refusal string
	for i := 0; i < 100 && refused[notRun] < 20; i++ {
		out, isErr, err := s.call(ctx, "declare_table", declareArgs(fmt.Sprintf("d%d", i%5), i, 500+(i*397)%3000))
		switch {
		case err != nil:
			t.Fatalf("call %d: a JSON-RPC error on a full disk: %v", i, err)
		case !isErr:
			okCalls++
		default:
			refusal, _ = out["error"].(string)
			kind := notRun
			if strings.HasPrefix(refusal, noOutcome) {
				kind = noOutcome
			}
			if !strings.HasPrefix(refusal, kind) || !strings.Contains(refusal, operator) || strings.Contains(refusal, fs.Dir) {
				t.Fatalf("call %d: unexpected refusal: %q", i, refusal)
			}
			refused[kind]++
		}
		data, rerr := os.ReadFile(logPath)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("call %d left a torn record: ...%q", i, data[max(0, len(data)-60):])
		}
	}
	if okCalls == 0 || refused[notRun] < 20 {
		t.Fatalf("%d calls succeeded, %d refused: the disk did not fill", okCalls, refused[notRun])
	}
	before, err := auditVerify(t, "--path", logPath)
	if err != nil {
		t.Fatalf("verify on the full disk: %v\n%s", err, before)
	}
	fs.Resize(t, 4<<20)
	for i := range 5 {
		if _, isErr, err := s.call(ctx, "declare_table", declareArgs("after", i, 100)); err != nil || isErr {
			t.Fatalf("call %d after space returned: %v", i, err)
		}
	}
	after, err := auditVerify(t, "--path", logPath)
	if err != nil {
		t.Fatalf("verify after space returned: %v\n%s", err, after)
	}
	t.Logf("64 KiB audit filesystem: %d calls succeeded, then %d refused before running and %d after saving (last: %q); verify on the full disk:\n%safter space returned:\n%s",
		okCalls, refused[notRun], refused[noOutcome], refusal, before, after)
}

// lastLines is the first and the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n+1 {
		return s
	}
	return lines[0] + "\n  …\n" + strings.Join(lines[len(lines)-n:], "\n") + "\n"
}
