//go:build integration

package engine

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunOutlivesStreamLimitAndServerRestart runs the engine against a
// private server that ends every response stream after 5 s (Spark's default
// is 2 min): a run that takes longer must carry on across reattachments.
// Then the server is restarted: the engine notices the lost session,
// reconnects with a locked-down session and carries on.
func TestRunOutlivesStreamLimitAndServerRestart(t *testing.T) {
	ctx := sparktest.Context(t, 15*time.Minute)
	ws := t.TempDir()
	opts := sandbox.Options{Workspace: ws, Memory: "1g", Conf: map[string]string{
		"spark.connect.execute.reattachable.senderMaxStreamDuration": "5s",
	}}
	t0 := time.Now()
	inst, err := sandbox.Start(ctx, opts)
	if err != nil {
		t.Fatalf("private sandbox: %v", err)
	}
	t.Logf("private sandbox started in %v", time.Since(t0))
	t.Cleanup(func() { _, _ = sandbox.Stop(context.Background(), ws) })

	var logs logBuffer
	eng, err := New(ctx, Config{URL: inst.URL(), Catalog: "spark_catalog", Database: "long", Storage: "file://" + t.TempDir(), Sources: []string{"spark_catalog.longsrc"},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	admin, err := connect.Dial(ctx, inst.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, s := range []string{"CREATE SCHEMA long", "CREATE SCHEMA longsrc", "CREATE TABLE longsrc.src (id INT) USING parquet", "INSERT INTO longsrc.src VALUES (1), (2)"} {
		if _, err := admin.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// About 16 s: one partition of 4 rows sleeping 4 s each.
	p := pipe(t, "long", []pipeline.Dataset{
		{Name: "slow", Kind: pipeline.MaterializedView, Query: "SELECT id, reflect('java.lang.Thread', 'sleep', CAST(4000 AS BIGINT)) AS s FROM range(0, 4, 1, 1)"},
		{Name: "after_slow", Kind: pipeline.MaterializedView, Query: "SELECT count(*) AS n FROM slow"},
		{Name: "copy", Kind: pipeline.StreamingTable, Query: "SELECT * FROM STREAM(longsrc.src)"},
	})
	var events []string
	res, err := eng.Run(ctx, p, RunOptions{}, func(pr Progress) { events = append(events, pr.Message) })
	if err != nil || !res.OK {
		t.Fatalf("run: %v %+v\nlogs:\n%s", err, res, logs.String())
	}
	t.Logf("run took %v, %d events", res.Duration, len(events))
	if res.Duration < 10*time.Second {
		t.Errorf("the run took %v: too short to cross the 5 s stream limit", res.Duration)
	}
	if n := strings.Count(logs.String(), "reattaching"); n < 2 {
		t.Errorf("%d reattachments logged, want at least 2", n)
	}
	seen := map[string]bool{}
	for _, m := range events {
		if seen[m] {
			t.Errorf("event %q reported twice", m)
		}
		seen[m] = true
	}
	if events[len(events)-1] != "Run is COMPLETED." {
		t.Errorf("last event %q", events[len(events)-1])
	}

	// Restart the server on the same port with the same token, while the
	// engine holds a session.
	if _, err := eng.Preview(ctx, p, PreviewRequest{Dataset: "copy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.Stop(ctx, ws); err != nil {
		t.Fatal(err)
	}
	opts.Port, opts.Token = inst.Port, inst.Token
	t0 = time.Now()
	if _, err := sandbox.Start(ctx, opts); err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Logf("restarted in %v", time.Since(t0))
	prev, err := eng.Preview(ctx, p, PreviewRequest{Query: "SELECT current_timezone() AS tz, count(*) AS n FROM longsrc.src"})
	if err != nil {
		t.Fatalf("preview after the restart: %v\nlogs:\n%s", err, logs.String())
	}
	if len(prev.Rows) != 1 || prev.Rows[0][0] != "UTC" || prev.Rows[0][1] != int64(2) {
		t.Errorf("preview after the restart: %v", prev.Rows)
	}
	if !strings.Contains(logs.String(), "spark session lost; reconnecting once") {
		t.Errorf("the engine did not report the lost session:\n%s", logs.String())
	}
	v, err := eng.Validate(ctx, p)
	if err != nil || !v.OK {
		t.Fatalf("validate after the restart: %v %+v", err, v)
	}
}

// TestRunCancel: cancelling a run returns promptly with the context's
// error, and the run's session is released.
func TestRunCancel(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	p := pipe(t, "cancel", []pipeline.Dataset{
		{Name: "slow", Kind: pipeline.MaterializedView, Query: "SELECT id, reflect('java.lang.Thread', 'sleep', CAST(4000 AS BIGINT)) AS s FROM range(0, 4, 1, 2)"},
	})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var cancelled time.Time
	_, err := e.eng.Run(ctx, p, RunOptions{}, func(pr Progress) {
		if strings.Contains(pr.Message, "is RUNNING") && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
	})
	if cancelled.IsZero() {
		t.Fatalf("the run ended before it could be cancelled: %v", err)
	}
	took := time.Since(cancelled)
	t.Logf("cancelled run returned after %v: %v", took, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
	if took > 15*time.Second {
		t.Errorf("Run returned %v after the cancel", took)
	}
}
