//go:build integration

package connect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReattachAfterServerClosesStream makes the server end every response
// stream after a few bytes, as it does for long operations after
// senderMaxStreamDuration: the client must reattach, again and again, and
// still return every row exactly once.
func TestReattachAfterServerClosesStream(t *testing.T) {
	ws := t.TempDir()
	ctx := sparktest.Context(t, 5*time.Minute)
	// A private server whose response streams end after about 1 KiB, as
	// they do for long operations after senderMaxStreamDuration.
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Conf: map[string]string{
		"spark.connect.execute.reattachable.senderMaxStreamSize": "1000",
	}})
	if err != nil {
		t.Fatalf("private sandbox: %v", err)
	}
	t.Cleanup(func() { _, _ = sandbox.Stop(context.Background(), ws) })
	var logs syncBuffer
	c, err := connect.Dial(ctx, inst.URL(), connect.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetConf(ctx, map[string]string{"spark.sql.execution.arrow.maxRecordsPerBatch": "1000"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Collect(ctx, connect.SQL("SELECT id FROM RANGE(0, 20000, 1, 4)"), connect.ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 20000 {
		t.Fatalf("got %d rows, want 20000", len(res.Rows))
	}
	seen := make([]bool, 20000)
	for _, r := range res.Rows {
		id := r[0].(int64)
		if seen[id] {
			t.Fatalf("row %d delivered twice", id)
		}
		seen[id] = true
	}
	if n := strings.Count(logs.String(), "reattach"); n < 2 {
		t.Errorf("saw %d reattachments in the log, want several:\n%.2000s", n, logs.String())
	}
}

// cutProxy forwards TCP to a target and can cut every open connection, as a
// network failure would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	bytes  atomic.Int64
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() {
			n, _ := io.Copy(&countingWriter{w: in, n: &p.bytes}, out)
			_ = n
			in.Close()
		}()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// TestReattachAfterNetworkCut cuts the TCP connection while results stream:
// the client reconnects, reattaches from the last response it handled, and
// returns every row exactly once.
func TestReattachAfterNetworkCut(t *testing.T) {
	inst := sparktest.Sandbox(t)
	p := newCutProxy(t, fmt.Sprintf("127.0.0.1:%d", inst.Port))
	url := strings.Replace(inst.URL(), fmt.Sprintf(":%d/", inst.Port), fmt.Sprintf(":%d/", p.ln.Addr().(*net.TCPAddr).Port), 1)
	var logs syncBuffer
	c, err := connect.Dial(context.Background(), url, connect.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := sparktest.Context(t, 3*time.Minute)
	if err := c.SetConf(ctx, map[string]string{"spark.sql.execution.arrow.maxRecordsPerBatch": "10000"}); err != nil {
		t.Fatal(err)
	}
	const n = 2_000_000
	var cuts atomic.Int32
	go func() {
		// Cut once results have started to flow.
		for p.bytes.Load() < 4<<20 {
			if ctx.Err() != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
		p.cut()
		cuts.Add(1)
	}()
	res, err := c.Collect(ctx, connect.SQL(fmt.Sprintf("SELECT id FROM RANGE(%d)", n)), connect.ExecOptions{})
	if err != nil {
		t.Fatalf("collect across a cut: %v\nlog:\n%s", err, logs.String())
	}
	if cuts.Load() != 1 {
		t.Fatalf("the connection was not cut during the transfer (proxied %d bytes)", p.bytes.Load())
	}
	if len(res.Rows) != n {
		t.Fatalf("got %d rows, want %d", len(res.Rows), n)
	}
	for i, r := range res.Rows {
		if r[0] != int64(i) {
			t.Fatalf("row %d = %v: rows lost or repeated across the reattach", i, r[0])
		}
	}
	if !strings.Contains(logs.String(), "reattaching") {
		t.Errorf("no reattachment logged:\n%s", logs.String())
	}
}

// TestServerRestartReported restarts a private sandbox (same port and token)
// under a live session: the next call must report the lost session clearly
// and promptly instead of hanging or silently using a new session.
func TestServerRestartReported(t *testing.T) {
	ws := t.TempDir()
	ctx := sparktest.Context(t, 10*time.Minute)
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g"})
	if err != nil {
		t.Fatalf("private sandbox: %v", err)
	}
	t.Cleanup(func() { _, _ = sandbox.Stop(context.Background(), ws) })
	c, err := connect.Dial(ctx, inst.URL(), connect.WithRetryPolicy(connect.RetryPolicy{
		MaxAttempts: 6, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, Multiplier: 2,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Collect(ctx, connect.SQL("SELECT 1"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}

	// While it is down: a clear unavailability error, in bounded time.
	if _, err := sandbox.Stop(ctx, ws); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err = c.Collect(ctx, connect.SQL("SELECT 1"), connect.ExecOptions{})
	if err == nil || !connect.IsTransient(err) {
		t.Fatalf("with the server down got %v, want an unavailability error", err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("took %v to report the server down", d)
	}

	// After a restart on the same address and token: the lost session.
	if _, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Memory: "1g", Port: inst.Port, Token: inst.Token}); err != nil {
		t.Fatalf("restart: %v", err)
	}
	_, err = c.Collect(ctx, connect.SQL("SELECT 1"), connect.ExecOptions{})
	if !errors.Is(err, connect.ErrServerRestarted) {
		t.Fatalf("after restart got %v, want ErrServerRestarted", err)
	}
	// A new client works.
	c2, err := connect.Dial(ctx, inst.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.SparkVersion(ctx); err != nil {
		t.Fatalf("fresh client after restart: %v", err)
	}
}
