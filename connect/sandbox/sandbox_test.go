package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStateFilePermissionsAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	// A pre-existing, world-readable file must end up 0600 too.
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := &State{
		PID: 4242, PGID: 4242, Port: 15002, Token: strings.Repeat("ab", 32),
		URL: "sc://127.0.0.1:15002/;token=x", SparkVersion: SparkVersion,
		StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), LogPath: "/w/sandbox/server.log", Workspace: "/w",
	}
	if err := WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode = %v, want 0600", perm)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if _, err := ReadState(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing state: got %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte(`{"pid":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(path); err == nil {
		t.Error("state without pid accepted")
	}
}

// Readers racing with writers must always see a complete file.
func TestStateWriteIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := WriteState(path, &State{PID: 1, Port: 1}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Vary the size so a torn write would be visible.
				st := &State{PID: w + 1, Port: i + 1, Token: strings.Repeat("t", (i%50)*40)}
				if err := WriteState(path, st); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	reads := 0
	for time.Now().Before(deadline) {
		if _, err := ReadState(path); err != nil {
			t.Fatalf("read %d saw a partial state file: %v", reads, err)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %d entries", len(entries))
	}
}

func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 5; i++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port <= 0 || port > 65535 {
			t.Fatalf("bad port %d", port)
		}
		seen[port] = true
		// The port is really free: we can listen on it and checkPortFree
		// agrees before, and disagrees while it is held.
		if err := checkPortFree(port); err != nil {
			t.Fatalf("checkPortFree(%d): %v", port, err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("listen on free port %d: %v", port, err)
		}
		if err := checkPortFree(port); err == nil {
			t.Errorf("checkPortFree(%d) = nil while the port is held", port)
		}
		l.Close()
	}
	if len(seen) < 2 {
		t.Logf("kernel returned the same port repeatedly: %v", seen)
	}
}

func TestURLs(t *testing.T) {
	inst := &Instance{Port: 15002, Token: "s3cret"}
	if got, want := inst.URL(), "sc://127.0.0.1:15002/;token=s3cret"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got, want := inst.PyURL(), "sc://localhost:15002/;token=s3cret"; got != want {
		t.Errorf("PyURL = %q, want %q", got, want)
	}
	if got := inst.RedactedURL(); strings.Contains(got, "s3cret") || !strings.Contains(got, "token=<redacted>") {
		t.Errorf("RedactedURL = %q", got)
	}
	if got, want := RedactURL("sc://h:1/;user_id=a;token=abc;use_ssl=true"), "sc://h:1/;user_id=a;token=<redacted>;use_ssl=true"; got != want {
		t.Errorf("RedactURL = %q, want %q", got, want)
	}
}

func TestServerCommandKeepsTokenOffCommandLine(t *testing.T) {
	p, err := WorkspacePaths("/w s")
	if err != nil {
		t.Fatal(err)
	}
	args := serverArgs(p, 15002, "2g", &Installation{}, nil)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"--class " + serverClass,
		"spark.connect.grpc.binding.address=127.0.0.1",
		"spark.connect.grpc.binding.port=15002",
		"spark.driver.host=127.0.0.1",
		"spark.driver.bindAddress=127.0.0.1",
		"spark.ui.enabled=false",
		"spark.sql.session.timeZone=UTC",
		"spark.sql.catalogImplementation=hive",
		"spark.sql.warehouse.dir=/w s/sandbox/warehouse",
		`spark.driver.extraJavaOptions=-Dderby.system.home="/w s/sandbox/metastore"`,
		"--driver-memory 2g",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("command line lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "token") {
		t.Errorf("token setting on the command line: %s", joined)
	}

	in := &Installation{SparkHome: "/sh", Python: "/venv/bin/python", Java: &Java{Home: "/jdk"}}
	env := serverEnv([]string{"PATH=/bin", "SPARK_CONF_DIR=/etc/spark", "PYSPARK_PYTHON=/usr/bin/python3", "JAVA_HOME=/old", "HOME=/h"}, in, p, "tok")
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; dup {
			t.Errorf("duplicate %s in environment", k)
		}
		m[k] = v
	}
	for k, want := range map[string]string{
		"PATH": "/bin", "HOME": "/h", "SPARK_HOME": "/sh", "JAVA_HOME": "/jdk",
		"PYSPARK_PYTHON": "/venv/bin/python", tokenEnv: "tok", "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOCAL_DIRS": "/w s/sandbox/tmp",
	} {
		if m[k] != want {
			t.Errorf("env %s = %q, want %q", k, m[k], want)
		}
	}
	if _, ok := m["SPARK_CONF_DIR"]; ok {
		t.Error("SPARK_CONF_DIR leaked into the sandbox environment")
	}
}

func TestMemoryValidation(t *testing.T) {
	for _, ok := range []string{"512m", "2g", "2G", "1024"} {
		if !memoryRE.MatchString(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "2 g", "-1g", "2gb", "0g", "1g --conf x"} {
		if memoryRE.MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWorkspaceAndCacheDirs(t *testing.T) {
	t.Setenv(EnvWorkspace, "")
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if ws, _ := DefaultWorkspace(); ws != "/xdg/sdp-mcp" {
		t.Errorf("XDG workspace = %q", ws)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	if ws, _ := DefaultWorkspace(); ws != "/home/u/.local/share/sdp-mcp" {
		t.Errorf("home workspace = %q", ws)
	}
	t.Setenv(EnvWorkspace, "/ws")
	if ws, _ := DefaultWorkspace(); ws != "/ws" {
		t.Errorf("env workspace = %q", ws)
	}
	if ws, _ := ResolveWorkspace("/given"); ws != "/given" {
		t.Errorf("given workspace = %q", ws)
	}
	if ws, _ := ResolveWorkspace("rel"); !filepath.IsAbs(ws) {
		t.Errorf("relative workspace not made absolute: %q", ws)
	}
	p, _ := WorkspacePaths("/given")
	if p.State != "/given/sandbox/state.json" || p.Log != "/given/sandbox/server.log" ||
		p.Warehouse != "/given/sandbox/warehouse" || p.Metastore != "/given/sandbox/metastore" ||
		p.PipelineStorage != "/given/sandbox/pipeline-storage" {
		t.Errorf("paths = %+v", p)
	}

	t.Setenv(EnvCache, "/cache")
	if c, _ := CacheDir(); c != "/cache" {
		t.Errorf("cache = %q", c)
	}
	if d := InstallDir("/cache", "4.3.0"); d != "/cache/pyspark-4.3.0" {
		t.Errorf("install dir = %q", d)
	}
	t.Setenv(EnvCache, "")
	t.Setenv("XDG_CACHE_HOME", "/xc")
	if c, _ := CacheDir(); c != "/xc/sdp-mcp" {
		t.Errorf("default cache = %q", c)
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l1, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := lockFile(ctx, path, func() { waited = true }); err == nil {
		t.Fatal("second lock acquired while the first is held")
	}
	if !waited {
		t.Error("onWait not called")
	}
	got := make(chan error, 1)
	go func() {
		l2, err := lockFile(context.Background(), path, nil)
		if err == nil {
			l2.unlock()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	l1.unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lock not acquired after release")
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	var b strings.Builder
	b.WriteString("old run line\n")
	offset := int64(b.Len())
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tail := logTail(path, offset, 20)
	lines := strings.Split(tail, "\n")
	if len(lines) != 20 || lines[0] != "line 11" || lines[19] != "line 30" {
		t.Errorf("tail = %q", tail)
	}
	if tail := logTail(path, int64(len(b.String())), 20); tail != "" {
		t.Errorf("tail past end = %q", tail)
	}
}

func TestRotateLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotateLog(path, 100)
	if _, err := os.Stat(path); err != nil {
		t.Fatal("small log rotated")
	}
	rotateLog(path, 5)
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatal("large log not rotated")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Error("rotated log still in place")
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestStatusAndStopWithoutServer(t *testing.T) {
	ctx := context.Background()
	ws := t.TempDir()
	rep, err := Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != StateStopped {
		t.Errorf("status of empty workspace = %s", rep.State)
	}
	res, err := Stop(ctx, ws)
	if err != nil {
		t.Fatalf("stop with nothing running: %v", err)
	}
	if res.WasRunning || !strings.Contains(res.Message, "not running") {
		t.Errorf("stop result = %+v", res)
	}

	// A state file naming a dead process is stale; Stop cleans it up
	// without signalling anything.
	p, _ := WorkspacePaths(ws)
	if err := p.create(); err != nil {
		t.Fatal(err)
	}
	pid := deadPID(t)
	if err := WriteState(p.State, &State{PID: pid, PGID: pid, Port: 1, Token: "x", URL: connectURL("127.0.0.1", 1, "x")}); err != nil {
		t.Fatal(err)
	}
	rep, err = Status(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != StateStale || rep.Recorded == nil {
		t.Errorf("status with dead pid = %+v", rep)
	}
	res, err = Stop(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if res.WasRunning || !strings.Contains(res.Message, "stale") {
		t.Errorf("stop of stale state = %+v", res)
	}
	if _, err := os.Stat(p.State); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale state not removed: %v", err)
	}
}

// A live process that is not a Spark server (pid reuse) must never be
// signalled.
func TestStopDoesNotKillUnrelatedProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ws := t.TempDir()
	p, _ := WorkspacePaths(ws)
	if err := p.create(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	pgid, _ := processGroup(pid)
	if err := WriteState(p.State, &State{PID: pid, PGID: pgid, Port: 1, URL: connectURL("127.0.0.1", 1, "")}); err != nil {
		t.Fatal(err)
	}
	res, err := Stop(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	if res.WasRunning {
		t.Errorf("unrelated process treated as the server: %+v", res)
	}
	if !processAlive(pid) {
		t.Error("unrelated process was killed")
	}
}

func TestTerminateProcessGroup(t *testing.T) {
	// A shell that ignores SIGTERM, with a child, in its own group: SIGKILL
	// must be used and the whole group must be gone afterwards.
	cmd := exec.Command("sh", "-c", "trap '' TERM; sleep 60 & sleep 60; wait")
	detach(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	time.Sleep(100 * time.Millisecond)
	if !groupAlive(pid) {
		t.Fatal("group not alive")
	}
	killed, err := terminate(context.Background(), pid, pid, 300*time.Millisecond, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	// sleep does not ignore TERM, but the trapping shell does.
	if !killed {
		t.Error("expected SIGKILL escalation for a process ignoring SIGTERM")
	}
	if groupAlive(pid) {
		t.Error("process group still alive")
	}
}

// A state file written before profiles existed describes the only sandbox
// there was, Spark 4.3 + parquet, whatever the default is now.
func TestLegacyStateIsSpark43Parquet(t *testing.T) {
	legacy := &State{PID: 1, Port: 15002, SparkVersion: "4.3.0"}
	if got, want := legacy.profile(), (Profile{Spark: "4.3", Format: FormatParquet}); got != want {
		t.Errorf("legacy state profile %v, want %v", got, want)
	}
	current := &State{PID: 1, Port: 15002, SparkLine: "4.2", TableFormat: FormatDelta}
	if got := current.profile(); got != (Profile{Spark: "4.2", Format: FormatDelta}) {
		t.Errorf("state profile %v", got)
	}
}
