//go:build integration

package console_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/internal/testbin"
)

var (
	// sdpBin is the binary under test, built from this tree by TestMain.
	sdpBin string
	// chromiumPath is the browser scripts/browser.sh made available.
	chromiumPath string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// The browser comes from the project's own script (Debian's chromium);
	// without one the tests fail, they never skip.
	env, err := testbin.Prepare("browser.sh")
	if err != nil {
		fmt.Fprintln(os.Stderr, "console tests need the sdp-mcp binary and Chromium:", err)
		return 1
	}
	defer env.Close()
	sdpBin, chromiumPath = env.Bin, env.Tool
	return m.Run()
}

// screenshotDir is where screenshots go: $SDP_MCP_SCREENSHOTS, else the
// test's temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SDP_MCP_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// server is a running `sdp-mcp serve --transport http`.
type server struct {
	base string // http://host:port
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
	cmd  *exec.Cmd
}

var listeningRE = regexp.MustCompile(`msg=listening url=(http://[^/\s]+)/mcp`)

func startServer(t *testing.T, config string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(sdpBin, "serve", "--config", config, "--transport", "http", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			t.Errorf("sdp-mcp serve did not stop on SIGINT; killing it")
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logText())
		}
	})
	select {
	case s.base = <-addr:
	case err := <-s.done:
		t.Fatalf("sdp-mcp serve exited before listening: %v\n%s", err, s.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("sdp-mcp serve did not listen within 30s:\n%s", s.logText())
	}
	return s
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// agent is an MCP client over streamable HTTP with the bearer token.
type agent struct {
	t *testing.T
	c *client.Client
}

func newAgent(t *testing.T, ctx context.Context, endpoint, token string) *agent {
	t.Helper()
	c, err := client.NewStreamableHttpClient(endpoint,
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "console-test-agent", Version: "1"}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return &agent{t: t, c: c}
}

// call calls a tool and returns its structured result, and whether the
// tool reported an error.
func (a *agent) call(ctx context.Context, tool string, args any) (map[string]any, string, bool) {
	a.t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := a.c.CallTool(ctx, req)
	if err != nil {
		a.t.Fatalf("%s: %v", tool, err)
	}
	var text []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text = append(text, tc.Text)
		}
	}
	out := map[string]any{}
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &out)
	}
	return out, strings.Join(text, "\n"), res.IsError
}

// mustCall calls a tool that must succeed.
func (a *agent) mustCall(ctx context.Context, tool string, args any) map[string]any {
	a.t.Helper()
	out, text, isErr := a.call(ctx, tool, args)
	if isErr {
		a.t.Fatalf("%s failed: %s", tool, text)
	}
	return out
}

// browser is a headless Chromium tab, with every console message, script
// exception and browser log error it reports collected.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
	dir  string // screenshots
	shot int
}

func newBrowser(t *testing.T, shots string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, dir: shots}
	// Starting the browser here makes a browser that cannot start fail the
	// test at once, with its error.
	start := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Location()); err != nil {
		t.Fatalf("Chromium (%s) could not start: %v", chromiumPath, err)
	}
	t.Logf("Chromium started in %s", time.Since(start).Round(time.Millisecond))
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleWarning {
				t.Logf("browser console warning: %s", m)
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// eval evaluates a script expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	return v
}

// location is the page's URL.
func (b *browser) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("browser: location: %v", err)
	}
	return u
}

// waitLocation waits until the page's URL contains part.
func (b *browser) waitLocation(part string) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := b.location()
		if strings.Contains(u, part) {
			return u
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: still at %s, waiting for %q", u, part)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consoleErrors returns and clears what the console reported.
func (b *browser) consoleErrors() []string {
	// Messages arrive asynchronously: give the last ones a moment.
	time.Sleep(300 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errs
	b.errs = nil
	return out
}

// screenshot writes a full-page PNG named TestName-NN-name.png.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	b.shot++
	p := filepath.Join(b.dir, fmt.Sprintf("%s-%02d-%s.png", b.t.Name(), b.shot, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// schemas are a source schema with an orders table and a sandbox target
// schema on the shared test sandbox, dropped when the test ends.
type schemas struct {
	t        *testing.T
	c        *connect.Client
	src, dev string
	dropped  []string
}

func newSchemas(t *testing.T, ctx context.Context, prefix string) *schemas {
	t.Helper()
	suffix := time.Now().UnixNano() % 1e9
	s := &schemas{t: t, c: sparktest.Client(t),
		src: fmt.Sprintf("console_%s_src_%d", prefix, suffix), dev: fmt.Sprintf("console_%s_dev_%d", prefix, suffix)}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, name := range append([]string{s.src, s.dev}, s.dropped...) {
			s.exec(cctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
		}
	})
	s.exec(ctx, "CREATE SCHEMA "+s.src, "CREATE SCHEMA "+s.dev,
		"CREATE TABLE "+s.src+".orders (order_id BIGINT, customer STRING, amount BIGINT) USING parquet",
		"INSERT INTO "+s.src+".orders VALUES (1, 'alice', 10), (2, 'alice', 5), (3, 'bob', -7), (4, 'carol', 3)")
	return s
}

// extra creates one more schema, dropped at the end, and returns its name.
func (s *schemas) extra(name string) string {
	s.t.Helper()
	full := s.dev + "_" + name
	s.exec(context.Background(), "CREATE SCHEMA "+full)
	s.dropped = append(s.dropped, full)
	return full
}

func (s *schemas) exec(ctx context.Context, stmts ...string) {
	s.t.Helper()
	for _, st := range stmts {
		if _, err := s.c.Collect(ctx, connect.SQLCommand(st), connect.ExecOptions{}); err != nil {
			s.t.Fatalf("%s: %v", st, err)
		}
	}
}

// count runs a SELECT count(*) in a fresh session (a session caches the
// file listing of what it read).
func (s *schemas) count(ctx context.Context, query string) int64 {
	s.t.Helper()
	c, err := connect.Dial(ctx, sparktest.Sandbox(s.t).URL())
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Collect(ctx, connect.SQL(query), connect.ExecOptions{})
	if err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		s.t.Fatalf("%s: %v", query, res.Rows)
	}
	n, _ := res.Rows[0][0].(int64)
	return n
}

// declareAndValidate has the agent declare pipeline "sales" (orders_clean
// with an expectation, customer_totals), make one call that is rejected,
// and validate; it returns the pipeline hash.
func (s *schemas) declareAndValidate(ctx context.Context, a *agent) string {
	s.t.Helper()
	a.mustCall(ctx, "declare_table", map[string]any{"pipeline": "sales", "name": "orders_clean", "kind": "materialized_view",
		"query":        "SELECT order_id, customer, amount FROM spark_catalog." + s.src + ".orders",
		"expectations": []map[string]any{{"name": "positive_amount", "condition": "amount > 0", "on_violation": "drop"}}})
	a.mustCall(ctx, "declare_table", map[string]any{"pipeline": "sales", "name": "customer_totals", "kind": "materialized_view",
		"query": "SELECT customer, sum(amount) AS total FROM orders_clean GROUP BY customer", "comment": "Spend per customer"})
	if _, _, isErr := a.call(ctx, "declare_table", map[string]any{"pipeline": "sales", "name": "Bad-Name", "kind": "materialized_view", "query": "SELECT 1"}); !isErr {
		s.t.Fatal("a bad dataset name was accepted")
	}
	v := a.mustCall(ctx, "validate", map[string]any{"pipeline": "sales"})
	hash, _ := v["pipeline_hash"].(string)
	if v["ok"] != true || hash == "" {
		s.t.Fatalf("validate: %v", v)
	}
	return hash
}
