//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/internal/testbin"
)

var (
	// repoRoot is the root of the clone.
	repoRoot string
	// sdpBin is the sdp-mcp binary under test, built by TestMain.
	sdpBin string
	// nodePath goes in front of PATH for the Node tools (the pinned node,
	// mcp-inspector, conformance).
	nodePath string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// The binary under test is built from this tree, so the test never
	// drives a stale bin/sdp-mcp; the Node tools come from the project's
	// own script (pinned versions, cached outside the clone). A failure
	// fails the tests.
	env, err := testbin.Prepare("node-tools.sh")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests need the sdp-mcp binary, Node and npm:", err)
		return 1
	}
	defer env.Close()
	repoRoot, sdpBin, nodePath = env.Root, env.Bin, env.Tool
	return m.Run()
}

// nodeEnv is the environment for a Node tool: ours with the pinned tools
// first on PATH.
func nodeEnv(extra ...string) []string {
	env := append([]string(nil), os.Environ()...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + nodePath + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	return append(env, extra...)
}

// toolPath is the absolute path of a pinned Node tool.
func toolPath(t testing.TB, name string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(nodePath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	t.Fatalf("%s not found in %s", name, nodePath)
	return ""
}

// result is what one Node tool run produced.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// runTool runs a Node tool with args, bounded by timeout, in dir.
func runTool(t *testing.T, timeout time.Duration, dir, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, toolPath(t, name), args...)
	cmd.Env = nodeEnv()
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: timed out after %s\nstderr:\n%s", name, strings.Join(args, " "), timeout, tail(r.stderr, 40))
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sparkSession dials url with a fresh session, closed at the end of the
// test.
func sparkSession(t testing.TB, ctx context.Context, url string) *connect.Client {
	t.Helper()
	c, err := connect.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", sandbox.RedactURL(url), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// execSQL runs statements the test wrote itself.
func execSQL(t testing.TB, ctx context.Context, c *connect.Client, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := c.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// queryRows runs query in a new session: a session caches the file listing
// of the tables it read, so it would not see what a pipeline wrote later.
func queryRows(t testing.TB, ctx context.Context, url, query string) [][]any {
	t.Helper()
	c, err := connect.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	res, err := c.Collect(ctx, connect.SQL(query), connect.ExecOptions{})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res.Rows
}

// startPrivateSandbox starts a second Spark Connect server in its own
// workspace (our "production"), stopped when the test ends; its JVM is
// never left behind.
func startPrivateSandbox(t *testing.T, ctx context.Context) *sandbox.Instance {
	t.Helper()
	ws := t.TempDir()
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	begin := time.Now()
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Logger: log, Profile: sparktest.Profile()})
	if err != nil {
		t.Fatalf("starting the private Spark Connect server: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := sandbox.Stop(sctx, ws); err != nil {
			t.Errorf("stopping the private Spark Connect server: %v", err)
		}
	})
	t.Logf("private Spark Connect server ready in %s at %s", time.Since(begin).Round(time.Millisecond), inst.RedactedURL())
	return inst
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// server is a running `sdp-mcp serve` process.
type server struct {
	cmd    *exec.Cmd
	url    string // the MCP endpoint, for HTTP
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
}

var listeningRE = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// startHTTPServer starts `sdp-mcp serve --transport http` on a free
// loopback port with the config file and extra environment, and waits until
// it listens. It is stopped (SIGTERM, then killed) when the test ends.
func startHTTPServer(t *testing.T, config string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(sdpBin, "serve", "--config", config, "--transport", "http", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, errPipe)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.url = <-found:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("sdp-mcp serve exited before listening: %v\n%s", err, s.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("sdp-mcp serve did not listen within 30s:\n%s", s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) stop(t *testing.T) {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Errorf("sdp-mcp serve did not stop on SIGINT; killing it")
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// writeFile writes a private file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
