//go:build integration

package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// env is one test's corner of the shared sandbox: a source schema, a
// pipeline schema, a storage root and an engine bound to them.
type env struct {
	t       *testing.T
	ctx     context.Context
	admin   *connect.Client // the test's own session, for setup and checks
	src     string          // source schema
	schema  string          // where the pipeline writes
	storage string
	eng     *Engine
}

// newEnv creates two schemas unique to the test (dropped at the end) and an
// engine writing to one and reading sources from the other.
func newEnv(t *testing.T, timeout time.Duration) *env {
	t.Helper()
	e := &env{t: t, ctx: sparktest.Context(t, timeout), admin: sparktest.Client(t)}
	base := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	suffix := time.Now().UnixNano() % 1e9
	e.src = fmt.Sprintf("sdp_src_%s_%d", base, suffix)
	e.schema = fmt.Sprintf("sdp_eng_%s_%d", base, suffix)
	for _, s := range []string{e.src, e.schema} {
		e.exec("CREATE SCHEMA " + s)
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = e.admin.Collect(cctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+s+" CASCADE"), connect.ExecOptions{})
		})
	}
	e.storage = "file://" + t.TempDir()
	e.eng = e.engine(Config{})
	return e
}

// engine returns an engine for the env, with cfg's non-zero fields.
func (e *env) engine(cfg Config) *Engine {
	e.t.Helper()
	cfg.URL = sparktest.Sandbox(e.t).URL()
	cfg.Catalog, cfg.Database, cfg.Storage = "spark_catalog", e.schema, e.storage
	if cfg.Sources == nil {
		cfg.Sources = []string{"spark_catalog." + e.src}
	}
	eng, err := New(e.ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = eng.Close() })
	return eng
}

func (e *env) exec(stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		if _, err := e.admin.Collect(e.ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

// rows runs query in a new session: a session caches the file listing of
// the tables it read, so a long-lived one would not see what later runs
// (in other sessions) wrote.
func (e *env) rows(query string) [][]any {
	e.t.Helper()
	c, err := connect.Dial(e.ctx, sparktest.Sandbox(e.t).URL())
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Collect(e.ctx, connect.SQL(query), connect.ExecOptions{})
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return res.Rows
}

// checkRows compares the rows of query with want.
func (e *env) checkRows(query string, want [][]any) {
	e.t.Helper()
	if d := cmp.Diff(want, e.rows(query)); d != "" {
		e.t.Errorf("%s (-want +got):\n%s", query, d)
	}
}

// tables lists the tables of the pipeline's schema, sorted.
func (e *env) tables() []string {
	e.t.Helper()
	var out []string
	for _, r := range e.rows("SHOW TABLES IN " + e.schema) {
		if r[2] != true {
			out = append(out, r[1].(string))
		}
	}
	slices.Sort(out)
	return out
}

// pipe builds a pipeline from declarations, failing the test on problems.
func pipe(t *testing.T, name string, ds []pipeline.Dataset, fs ...pipeline.Flow) *pipeline.Pipeline {
	t.Helper()
	p := &pipeline.Pipeline{Name: name}
	for _, d := range ds {
		if _, err := p.PutDataset(d); err != nil {
			t.Fatalf("declare %s: %v", d.Name, err)
		}
	}
	for _, f := range fs {
		if _, err := p.PutFlow(f); err != nil {
			t.Fatalf("declare flow %s: %v", f.Name, err)
		}
	}
	return p
}

// statuses maps each dataset and flow of a run to its status.
func statuses(res *RunResult) map[string]string {
	out := map[string]string{}
	for _, d := range res.Datasets {
		out[d.Name] = d.Status
	}
	return out
}

// run runs p and fails the test unless the run succeeded.
func (e *env) run(p *pipeline.Pipeline, opts RunOptions) *RunResult {
	e.t.Helper()
	res, err := e.eng.Run(e.ctx, p, opts, func(pr Progress) { e.t.Logf("progress %d/%d %.200s", pr.Done, pr.Total, pr.Message) })
	if err != nil {
		e.t.Fatalf("run %+v: %v", opts, err)
	}
	e.t.Logf("run %+v took %v: %+v", opts, res.Duration, res.Datasets)
	if !res.OK {
		e.t.Fatalf("run %+v failed: %+v", opts, res.Failure)
	}
	return res
}
