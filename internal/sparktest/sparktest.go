// Package sparktest gives integration tests a real Spark Connect server:
// the local sandbox, started by the same launcher users get. One server is
// shared by every test binary of a `make test` run (the launcher reuses a
// running sandbox); a server that cannot start fails the test, never skips
// it.
package sparktest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

// StartTimeout bounds installing pyspark and starting the server.
const StartTimeout = 10 * time.Minute

var (
	once     sync.Once
	shared   *sandbox.Instance
	startErr error
)

// Workspace is the workspace of the shared test sandbox: the
// SDP_MCP_TEST_WORKSPACE environment variable (set by `make test`), else a
// directory in the user cache that is kept between runs for speed.
func Workspace(t testing.TB) string {
	if ws := os.Getenv("SDP_MCP_TEST_WORKSPACE"); ws != "" {
		return ws
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no workspace for the test sandbox: set SDP_MCP_TEST_WORKSPACE: %v", err)
	}
	return filepath.Join(dir, "sdp-mcp", "test-workspace")
}

// Environment variables that select the test sandbox's profile (`make test`
// runs the end-to-end tests a second time on another profile with them).
const (
	EnvSpark       = "SDP_MCP_TEST_SPARK"        // Spark line, e.g. 4.3
	EnvTableFormat = "SDP_MCP_TEST_TABLE_FORMAT" // delta, iceberg or parquet
)

// Profile is the profile test sandboxes run: the one named by EnvSpark and
// EnvTableFormat, completed like a configuration's (both unset: the
// default profile).
func Profile() sandbox.Profile {
	return sandbox.Profile{Spark: os.Getenv(EnvSpark), Format: os.Getenv(EnvTableFormat)}
}

// Sandbox returns the shared sandbox, starting it on first use.
func Sandbox(t testing.TB) *sandbox.Instance {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		shared, startErr = sandbox.Start(ctx, sandbox.Options{Workspace: Workspace(t), Logger: log, Profile: Profile()})
	})
	if startErr != nil {
		t.Fatalf("the real Spark Connect sandbox could not start (integration tests need it): %v", startErr)
	}
	return shared
}

// Client dials the shared sandbox with a fresh session that is released when
// the test ends.
func Client(t testing.TB, opts ...connect.Option) *connect.Client {
	t.Helper()
	inst := Sandbox(t)
	c, err := connect.Dial(context.Background(), inst.URL(), opts...)
	if err != nil {
		t.Fatalf("dial sandbox: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Context is a test context with a deadline.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
