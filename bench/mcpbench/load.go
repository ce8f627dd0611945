package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/bench/internal/benchenv"
	"github.com/sdp-mcp/sdp-mcp/connect"
)

const (
	loadSrc    = "mcpbench_src" // source schema on the sandbox
	loadTarget = "mcpbench"     // pipeline schema
)

// load runs concurrent HTTP clients calling preview on the real sandbox.
func load(ctx context.Context, report *bytes.Buffer, bin string, clients int, duration time.Duration) error {
	binPath, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binPath); err != nil {
		return fmt.Errorf("%s: %w (run make build first)", bin, err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sb, err := benchenv.Start(ctx, benchenv.Options{Logger: log})
	if err != nil {
		return err
	}
	defer sb.Close()
	if err := loadSources(ctx, sb.URL()); err != nil {
		return err
	}

	// The server: the built binary over HTTP with a bearer token, its
	// sandbox environment on the bench sandbox.
	dir, err := os.MkdirTemp("", "mcpbench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "sdp-mcp.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`workspace: ws
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: MCPBENCH_SPARK_TOKEN
    schema: %s
    storage: file://%s
policy: policy.yaml
http:
  token_env: MCPBENCH_HTTP_TOKEN
`, sb.Port, loadTarget, filepath.Join(dir, "storage"))), 0o600); err != nil {
		return err
	}
	// The default policy's limits, reading the load's source schema.
	pol := fmt.Sprintf("version: 1\nenvironments:\n  sandbox:\n    sources: [spark_catalog.%s.*]\n", loadSrc)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(pol), 0o600); err != nil {
		return err
	}
	httpToken := randomToken()
	srv, err := startServer(ctx, binPath, cfg, "MCPBENCH_SPARK_TOKEN="+sb.Token, "MCPBENCH_HTTP_TOKEN="+httpToken)
	if err != nil {
		return err
	}
	defer srv.stop()

	newClient := func() (*client.Client, error) {
		c, err := client.NewStreamableHttpClient(srv.url,
			transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + httpToken}))
		if err != nil {
			return nil, err
		}
		if err := c.Start(ctx); err != nil {
			return nil, err
		}
		init := mcp.InitializeRequest{}
		init.Params.ClientInfo = mcp.Implementation{Name: "mcpbench", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}

	// The pipeline the previews read, and a warm-up.
	setup, err := newClient()
	if err != nil {
		return err
	}
	for _, args := range []map[string]any{
		{"pipeline": benchPipeline, "name": "orders_clean", "kind": "materialized_view",
			"query": "SELECT order_id, customer_id, amount FROM spark_catalog." + loadSrc + ".orders WHERE amount > 0"},
		{"pipeline": benchPipeline, "name": "customer_totals", "kind": "materialized_view",
			"query": "SELECT customer_id, count(*) AS orders, sum(amount) AS total FROM orders_clean GROUP BY customer_id"},
	} {
		if err := httpCall(ctx, setup, "declare_table", args); err != nil {
			setup.Close()
			return err
		}
	}
	for i := 0; i < 5; i++ {
		if err := httpCall(ctx, setup, "preview", previewArgs()); err != nil {
			setup.Close()
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	setup.Close()

	fmt.Fprintf(report, "\n## %d concurrent HTTP clients calling preview on the real sandbox\n\n", clients)
	fmt.Fprintf(report, "`sdp-mcp serve --transport http` (bearer token, loopback) with its sandbox environment on the local\n"+
		"sandbox Spark; mcp-go streamable-HTTP clients each call preview of a two-dataset pipeline\n"+
		"(`customer_totals`: an aggregate over a filtered 10,000-row source table, computed from the\n"+
		"declarations; limit 100) back to back. An error is a transport error or an isError result.\n"+
		"The one-client row is the baseline. CPU is the average number of cores the sandbox JVM and the\n"+
		"sdp-mcp process used during the round (from /proc): each preview is a Spark job, so throughput\n"+
		"is bounded by the sandbox's cores, not by the server (see the overhead table).\n\n")
	fmt.Fprintln(report, "| clients | duration (s) | calls | calls/s | p50 (ms) | p99 (ms) | max (ms) | errors | Spark CPU (cores) | server CPU (cores) |")
	fmt.Fprintln(report, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var failed error
	for _, n := range []int{1, clients} {
		d := duration
		if n == 1 && clients > 1 {
			d = min(duration/2, 10*time.Second)
		}
		fmt.Fprintf(os.Stderr, "load: %d clients calling preview for %s\n", n, d)
		sparkCPU, serverCPU := cpuSeconds(sb.PID), cpuSeconds(srv.cmd.Process.Pid)
		r, err := loadRound(ctx, newClient, n, d)
		if err != nil {
			return err
		}
		st := summarize(r.lat)
		fmt.Fprintf(report, "| %d | %.1f | %d | %.1f | %s | %s | %s | %d | %s | %s |\n", n, r.elapsed.Seconds(), st.n,
			float64(st.n)/r.elapsed.Seconds(), ms(st.p50), ms(st.p99), ms(st.max), r.errors,
			cores(sparkCPU, cpuSeconds(sb.PID), r.elapsed), cores(serverCPU, cpuSeconds(srv.cmd.Process.Pid), r.elapsed))
		if r.errors > 0 && failed == nil {
			failed = fmt.Errorf("%d clients: %d of %d preview calls failed; first: %w", n, r.errors, st.n, r.first)
		}
	}
	if failed != nil {
		fmt.Fprintf(report, "\nFirst error: %v\n", failed)
	}
	return failed
}

// round is what one load round measured.
type round struct {
	lat     []time.Duration
	errors  int
	first   error
	elapsed time.Duration
}

// loadRound connects n clients, then has each call preview back to back
// until d has passed since they all started.
func loadRound(ctx context.Context, newClient func() (*client.Client, error), n int, d time.Duration) (*round, error) {
	cs := make([]*client.Client, n)
	for i := range cs {
		c, err := newClient()
		if err != nil {
			return nil, fmt.Errorf("connecting client %d: %w", i, err)
		}
		cs[i] = c
		defer c.Close()
	}
	per := make([]round, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	var deadline time.Time
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := &per[i]
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := httpCall(ctx, c, "preview", previewArgs())
				r.lat = append(r.lat, time.Since(t0))
				if err != nil {
					r.errors++
					if r.first == nil {
						r.first = err
					}
				}
			}
		}()
	}
	begin := time.Now()
	deadline = begin.Add(d)
	close(start)
	wg.Wait()
	out := &round{elapsed: time.Since(begin)}
	for _, r := range per {
		out.lat = append(out.lat, r.lat...)
		out.errors += r.errors
		if out.first == nil {
			out.first = r.first
		}
	}
	return out, nil
}

// cpuSeconds is the CPU time (user and system) a process has used, or -1
// where /proc is not available.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks
}

// cores renders the CPU used between two readings as cores over d.
func cores(before, after float64, d time.Duration) string {
	if before < 0 || after < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", (after-before)/d.Seconds())
}

func previewArgs() map[string]any {
	return map[string]any{"pipeline": benchPipeline, "dataset": "customer_totals", "limit": 100}
}

// httpCall calls a tool that must succeed.
func httpCall(ctx context.Context, c *client.Client, tool string, args map[string]any) error {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if res.IsError {
		text := ""
		for _, ct := range res.Content {
			if t, ok := ct.(mcp.TextContent); ok {
				text += t.Text
			}
		}
		return fmt.Errorf("%s: isError: %s", tool, text)
	}
	return nil
}

// loadSources (re)creates the source table on the sandbox.
func loadSources(ctx context.Context, url string) error {
	c, err := connect.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range []string{
		"DROP SCHEMA IF EXISTS " + loadSrc + " CASCADE",
		"CREATE SCHEMA " + loadSrc,
		"CREATE SCHEMA IF NOT EXISTS " + loadTarget,
		"CREATE TABLE " + loadSrc + ".orders USING parquet AS SELECT id AS order_id, id % 500 AS customer_id, " +
			"CAST(id % 97 - 5 AS DECIMAL(10,2)) AS amount FROM RANGE(10000)",
	} {
		if _, err := c.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// httpServer is a running `sdp-mcp serve --transport http`.
type httpServer struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	mu   sync.Mutex
	log  bytes.Buffer
}

var listeningRE = regexp.MustCompile(`msg=listening url=(http://\S+)`)

func startServer(ctx context.Context, bin, cfg string, env ...string) (*httpServer, error) {
	// Info level: the listening line carries the address.
	cmd := exec.Command(bin, "serve", "--config", cfg, "--transport", "http", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &httpServer{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			// Keep the server's warnings and errors, not its per-call
			// info lines.
			if !bytes.Contains([]byte(line), []byte("level=INFO")) {
				s.mu.Lock()
				s.log.WriteString(line + "\n")
				s.mu.Unlock()
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-found:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("sdp-mcp serve exited: %v\n%s", err, s.logText())
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("sdp-mcp serve did not listen within 30s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

func (s *httpServer) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *httpServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if l := s.logText(); l != "" {
		fmt.Fprintf(os.Stderr, "server warnings and errors:\n%s", l)
	}
}
