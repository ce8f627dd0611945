//go:build integration && unix

package engine

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// TestEngineAndCLIShareState alternates engine runs and spark-pipelines
// runs of the saved project folder on one streaming table, with new source
// rows before each: every run must pick up exactly the new rows, which it
// can only do when the folder's spec names the storage (checkpoints),
// catalog and schema the engine runs with.
func TestEngineAndCLIShareState(t *testing.T) {
	e := newEnv(t, 15*time.Minute)
	inst, err := sandbox.Install(e.ctx, sandbox.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.exec("CREATE TABLE "+e.src+".events (id INT) USING parquet",
		"INSERT INTO "+e.src+".events VALUES (1), (2), (3)")
	p := pipe(t, "shared_state", []pipeline.Dataset{
		{Name: "log", Kind: pipeline.StreamingTable, Query: "SELECT id FROM STREAM(spark_catalog." + e.src + ".events)"},
	})
	count := "SELECT count(*), count(DISTINCT id) FROM " + e.schema + ".log"

	e.run(p, RunOptions{})
	e.checkRows(count, [][]any{{int64(3), int64(3)}})

	// The folder as the tools save it: the pipeline bound to the
	// environment the engine runs in.
	dir := filepath.Join(t.TempDir(), "shared_state")
	saved := p.Clone()
	saved.Catalog, saved.Database, saved.Storage = "spark_catalog", e.schema, e.storage
	if err := saved.Save(dir); err != nil {
		t.Fatal(err)
	}
	e.exec("INSERT INTO " + e.src + ".events VALUES (4), (5)")
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, inst.SparkPipelines, "run", "--spec", filepath.Join(dir, pipeline.SpecFile),
		"--remote", sparktest.Sandbox(t).PyURL())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), inst.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	began := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("spark-pipelines run: %v\n%s", err, bytes.ReplaceAll(out.Bytes(), []byte(sparktest.Sandbox(t).Token), []byte("<token>")))
	}
	t.Logf("spark-pipelines run took %s", time.Since(began).Round(time.Millisecond))
	e.checkRows(count, [][]any{{int64(5), int64(5)}})

	e.exec("INSERT INTO " + e.src + ".events VALUES (6)")
	e.run(p, RunOptions{})
	e.checkRows(count, [][]any{{int64(6), int64(6)}})
}
