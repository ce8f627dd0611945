//go:build integration

package sandbox

// Integration tests: they install pyspark into the shared cache if needed
// and run real Spark Connect servers, each in its own temporary workspace.
// They fail (never skip) when Java or the engine is unavailable.
//
//	go test -tags integration ./connect/sandbox/ -v -timeout 15m

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// testTimeout bounds each integration test (a first install included).
const testTimeout = 8 * time.Minute

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newTestLogger sends slog output to the test log.
func newTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startSandbox starts a server in a fresh workspace and makes sure it is
// stopped at the end of the test whatever happens.
func startSandbox(ctx context.Context, t *testing.T, ws string) *Instance {
	t.Helper()
	begin := time.Now()
	inst, err := Start(ctx, Options{Workspace: ws, Memory: "1g", Logger: newTestLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { forceStop(t, inst) })
	t.Logf("sandbox ready in %s (server startup %s, reused=%v) at %s",
		time.Since(begin).Round(10*time.Millisecond), inst.StartupDuration.Round(10*time.Millisecond), inst.Reused, inst.RedactedURL())
	return inst
}

// forceStop stops the server and, should that fail, kills its group.
func forceStop(t *testing.T, inst *Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Stop(ctx, inst.Workspace); err != nil {
		t.Errorf("cleanup Stop: %v", err)
	}
	if groupAlive(inst.PGID) {
		t.Errorf("cleanup: process group %d still alive; killing it", inst.PGID)
		_ = signalGroup(inst.PGID, syscall.SIGKILL)
	}
}

func TestIntegrationLifecycle(t *testing.T) {
	ctx := testContext(t)
	ws := t.TempDir()
	inst := startSandbox(ctx, t, ws)
	if inst.Reused {
		t.Error("fresh workspace reported a reused server")
	}
	if inst.SparkVersion != SparkVersion {
		t.Errorf("server version %q, want %q", inst.SparkVersion, SparkVersion)
	}
	p, _ := WorkspacePaths(ws)
	fi, err := os.Stat(p.State)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json mode %v", fi.Mode().Perm())
	}
	if inst.PGID != inst.PID {
		t.Errorf("server is not its own group leader: pid %d pgid %d", inst.PID, inst.PGID)
	}
	// The token must not be visible in the process list.
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(inst.PID) + "/cmdline"); err == nil {
		if strings.Contains(string(cmdline), inst.Token) {
			t.Error("token appears on the server's command line")
		}
		if !strings.Contains(string(cmdline), serverClass) {
			t.Errorf("pid %d is not the server: %q", inst.PID, cmdline)
		}
	}

	rep, err := Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != StateRunning || rep.Instance == nil || rep.Instance.PID != inst.PID {
		t.Fatalf("status = %+v", rep)
	}

	// Authentication is enforced: no token and a wrong token are rejected
	// with UNAUTHENTICATED, the right one works.
	for name, url := range map[string]string{
		"no token":    connectURL("127.0.0.1", inst.Port, ""),
		"wrong token": connectURL("127.0.0.1", inst.Port, strings.Repeat("0", 64)),
	} {
		c, err := connect.Dial(ctx, url)
		if err != nil {
			t.Fatalf("%s: Dial: %v", name, err)
		}
		_, err = c.SparkVersion(ctx)
		c.Close()
		if err == nil {
			t.Errorf("%s: request succeeded", name)
		} else if !isUnauthenticated(err) {
			t.Errorf("%s: want UNAUTHENTICATED, got %v", name, err)
		}
	}
	if v, err := probe(ctx, inst.URL()); err != nil || v != SparkVersion {
		t.Errorf("with token: %q, %v", v, err)
	}

	// A second Start reuses the running server.
	again, err := Start(ctx, Options{Workspace: ws, Logger: newTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.PID != inst.PID || again.Token != inst.Token || again.Port != inst.Port {
		t.Errorf("second start: reused=%v pid %d (first %d)", again.Reused, again.PID, inst.PID)
	}

	begin := time.Now()
	res, err := Stop(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stop: %s (%s)", res.Message, time.Since(begin).Round(10*time.Millisecond))
	if !res.WasRunning || res.PID != inst.PID {
		t.Errorf("stop result %+v", res)
	}
	if processAlive(inst.PID) {
		t.Errorf("pid %d still alive after Stop", inst.PID)
	}
	if groupAlive(inst.PGID) {
		t.Errorf("process group %d still has processes after Stop", inst.PGID)
	}
	if _, err := os.Stat(p.State); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json not removed: %v", err)
	}
	if rep, _ := Status(ctx, ws); rep.State != StateStopped {
		t.Errorf("status after stop = %s", rep.State)
	}
	res, err = Stop(ctx, ws)
	if err != nil || res.WasRunning {
		t.Errorf("second stop: %+v, %v", res, err)
	}
}

// A table created over Spark Connect survives a stop and a start (Hive
// metastore in Derby inside the workspace). Our Go client creates the
// table; after the restart both our client and pyspark (from the sandbox's
// own install, through PyURL) read it back.
func TestIntegrationTableSurvivesRestart(t *testing.T) {
	ctx := testContext(t)
	ws := t.TempDir()
	inst := startSandbox(ctx, t, ws)
	c := dial(ctx, t, inst)
	begin := time.Now()
	for _, stmt := range []string{
		"CREATE TABLE persisted (id INT, name STRING) USING parquet",
		"INSERT INTO persisted VALUES (1, 'a'), (2, 'b')",
	} {
		if _, err := c.Collect(ctx, connect.SQLCommand(stmt), connect.ExecOptions{}); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Logf("create + insert took %s (first use of the metastore)", time.Since(begin).Round(10*time.Millisecond))
	c.Close()
	if _, err := Stop(ctx, ws); err != nil {
		t.Fatal(err)
	}

	inst2 := startSandbox(ctx, t, ws)
	if inst2.PID == inst.PID || inst2.Reused {
		t.Fatalf("server was not restarted (pid %d, reused %v)", inst2.PID, inst2.Reused)
	}
	c = dial(ctx, t, inst2)
	defer c.Close()
	res, err := c.Collect(ctx, connect.SQL("SELECT id, name FROM persisted ORDER BY id"), connect.ExecOptions{})
	if err != nil {
		t.Fatalf("table did not survive the restart: %v", err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[1 a] [2 b]]" {
		t.Errorf("rows after restart = %s", got)
	}

	in, err := Install(ctx, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	out := runPySpark(ctx, t, in, inst2, `
rows = spark.sql("SELECT id, name FROM persisted ORDER BY id").collect()
print("rows", [(r.id, r.name) for r in rows])
print("tz", spark.conf.get("spark.sql.session.timeZone"))
`)
	t.Logf("pyspark query took %s", time.Since(begin).Round(10*time.Millisecond))
	if !strings.Contains(out, "rows [(1, 'a'), (2, 'b')]") || !strings.Contains(out, "tz UTC") {
		t.Errorf("pyspark after restart printed:\n%s", out)
	}
}

func dial(ctx context.Context, t *testing.T, inst *Instance) *connect.Client {
	t.Helper()
	c, err := connect.Dial(ctx, inst.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Two concurrent Starts on one workspace end up with a single server.
func TestIntegrationConcurrentStart(t *testing.T) {
	ctx := testContext(t)
	ws := t.TempDir()
	var wg sync.WaitGroup
	insts := make([]*Instance, 3)
	errs := make([]error, 3)
	for i := range insts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			insts[i], errs[i] = Start(ctx, Options{Workspace: ws, Memory: "1g", Logger: newTestLogger(t)})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Start %d: %v", i, err)
		}
	}
	t.Cleanup(func() { forceStop(t, insts[0]) })
	started := 0
	for _, inst := range insts {
		if inst.PID != insts[0].PID {
			t.Errorf("different servers: pid %d vs %d", inst.PID, insts[0].PID)
		}
		if !inst.Reused {
			started++
		}
	}
	if started != 1 {
		t.Errorf("%d Starts launched a server, want 1", started)
	}
}

// A server that does not react (SIGSTOPped) is reported stale and gets
// SIGKILLed by Stop after the grace period; nothing of it remains.
func TestIntegrationStopEscalatesToKill(t *testing.T) {
	ctx := testContext(t)
	ws := t.TempDir()
	inst := startSandbox(ctx, t, ws)
	if err := signalGroup(inst.PGID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	rep, err := Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != StateStale {
		t.Errorf("status of a frozen server = %s (%s)", rep.State, rep.Detail)
	}
	res, err := StopWithOptions(ctx, ws, StopOptions{Grace: 2 * time.Second, Logger: newTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.WasRunning || !res.Killed {
		t.Errorf("stop result %+v, want a SIGKILL", res)
	}
	if processAlive(inst.PID) || groupAlive(inst.PGID) {
		t.Errorf("frozen server survived Stop (pid %d)", inst.PID)
	}
}

// A server that dies during startup yields a StartError quoting its log,
// and leaves neither a process nor a state file behind.
func TestIntegrationStartFailureQuotesLog(t *testing.T) {
	ctx := testContext(t)
	ws := t.TempDir()
	_, err := Start(ctx, Options{Workspace: ws, Memory: "99999t", ReadyTimeout: time.Minute, Logger: newTestLogger(t)})
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("want *StartError, got %v", err)
	}
	if !strings.Contains(se.LogTail, "heap") || !strings.Contains(err.Error(), "exited during startup") {
		t.Errorf("error does not explain the failure:\n%v", err)
	}
	p, _ := WorkspacePaths(ws)
	if _, err := os.Stat(p.State); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json left behind: %v", err)
	}
}

func runPySpark(ctx context.Context, t *testing.T, in *Installation, inst *Instance, body string) string {
	t.Helper()
	script := "import warnings\nwarnings.filterwarnings('ignore')\n" +
		"from pyspark.sql import SparkSession\n" +
		"spark = SparkSession.builder.remote(" + pyQuote(inst.PyURL()) + ").create()\n" +
		strings.TrimSpace(body) + "\n"
	cmd := exec.CommandContext(ctx, in.Python, "-c", script)
	cmd.Env = append(os.Environ(), in.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pyspark failed: %v\n%s", err, RedactURL(string(out)))
	}
	return string(out)
}

func pyQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

func isUnauthenticated(err error) bool {
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unauthenticated {
		return true
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus().Code() == codes.Unauthenticated {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unauthenticated") || strings.Contains(msg, "authentication token")
}
