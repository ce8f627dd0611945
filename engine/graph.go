package engine

import (
	"context"
	"errors"
	"maps"
	"path"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// withGraphSession calls fn with a new locked-down session of its own, and
// releases the session afterwards: a dataflow graph lives in the session
// that created it, and releasing the session is what stops a cancelled run.
// When the server lost the session, fn runs once more in a new one
// (onRetry, when set, is told first).
func (e *Engine) withGraphSession(ctx context.Context, onRetry func(error), fn func(*connect.Client) error) error {
	for attempt := 0; ; attempt++ {
		if err := e.ensure(ctx); err != nil {
			return err
		}
		started := time.Now()
		dctx, cancel := e.withCallTimeout(ctx)
		c, err := e.dial(dctx)
		cancel()
		if err != nil {
			return err
		}
		err = fn(c)
		_ = c.Close()
		if attempt > 0 || !errors.Is(err, connect.ErrServerRestarted) {
			return e.unavailable(ctx, err, started)
		}
		e.log.Warn("spark session lost during a pipeline operation; starting over in a new session", "err", err)
		if onRetry != nil {
			onRetry(err)
		}
	}
}

// graphConf is the SQL configuration of p's dataflow graph: the pipeline's
// configuration with the lockdown on top.
func graphConf(p *pipeline.Pipeline) map[string]string {
	conf := maps.Clone(p.Configuration)
	if conf == nil {
		conf = map[string]string{}
	}
	maps.Copy(conf, flowConf())
	return conf
}

// defineGraph creates p's dataflow graph in c's session and registers every
// generated SQL file of p, as `spark-pipelines` does for the project folder.
// Files the server refuses come back as problems about their dataset or
// flow (every file is tried, so all of them are reported at once).
func (e *Engine) defineGraph(ctx context.Context, c *connect.Client, p *pipeline.Pipeline) (*connect.Graph, pipeline.Problems, error) {
	files, err := p.Files()
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := e.withCallTimeout(ctx)
	g, err := c.CreateDataflowGraph(cctx, connect.GraphOptions{
		DefaultCatalog: p.Catalog, DefaultDatabase: p.Database, SQLConf: graphConf(p),
	})
	cancel()
	if err != nil {
		return nil, nil, err
	}
	var sqlFiles []pipeline.File
	for _, f := range files {
		if strings.HasPrefix(f.Path, pipeline.TransformationsDir+"/") {
			sqlFiles = append(sqlFiles, f) // not the spec file: its settings are the graph's options
		}
	}
	// Fast path: every file in one DefineSqlGraphElements call, one round
	// trip instead of one per file. The statements are exactly those of the
	// files (each file holds one statement, and no ';' outside literals). If
	// the server refuses them, register again file by file on a fresh
	// graph, so that the refusal is attributed to its file.
	if len(sqlFiles) > 1 {
		var all strings.Builder
		for _, f := range sqlFiles {
			all.Write(f.Content)
			all.WriteString(";\n")
		}
		cctx, cancel := e.withCallTimeout(ctx)
		err := g.DefineSQL(cctx, pipeline.TransformationsDir, all.String())
		cancel()
		if err == nil {
			return g, nil, nil
		}
		if _, ok := failureOf(err); !ok || !agentFixable(err) {
			return nil, nil, err
		}
		cctx, cancel = e.withCallTimeout(ctx)
		g, err = c.CreateDataflowGraph(cctx, connect.GraphOptions{
			DefaultCatalog: p.Catalog, DefaultDatabase: p.Database, SQLConf: graphConf(p),
		})
		cancel()
		if err != nil {
			return nil, nil, err
		}
	}
	var ps pipeline.Problems
	for _, f := range sqlFiles {
		cctx, cancel := e.withCallTimeout(ctx)
		err := g.DefineSQL(cctx, f.Path, string(f.Content))
		cancel()
		if err == nil {
			continue
		}
		fl, ok := failureOf(err)
		if !ok || !agentFixable(err) {
			return nil, nil, err
		}
		name := strings.TrimSuffix(path.Base(f.Path), ".sql")
		ps = append(ps, fl.problem(kindOn(p, name), name, "query", e.hints()))
	}
	return g, ps, nil
}

// kindOn is the Problem.On of a dataset or flow name.
func kindOn(p *pipeline.Pipeline, name string) string {
	if _, ok := p.Flow(name); ok {
		return "flow"
	}
	return "dataset"
}

// elementNames is the set of dataset and flow names of p.
func elementNames(p *pipeline.Pipeline) map[string]bool {
	names := map[string]bool{}
	for _, d := range p.Datasets {
		names[d.Name] = true
	}
	for _, f := range p.Flows {
		names[f.Name] = true
	}
	return names
}

func (e *Engine) hints() hintEnv { return hintEnv{sources: e.sources} }

// runProblems turns the error of a failed (dry) run into problems about the
// datasets and flows that failed by themselves; flows that failed only
// because of an upstream are left out. skip names elements whose problems
// are already known.
func (e *Engine) runProblems(p *pipeline.Pipeline, re *connect.RunError, skip map[string]bool) pipeline.Problems {
	names := elementNames(p)
	var ps pipeline.Problems
	for _, ff := range re.Failures {
		if ff.Upstream {
			continue
		}
		name := nameOf(ff.Flow)
		if skip[name] {
			continue
		}
		f := failureOfFlow(ff)
		if !names[name] {
			ps = append(ps, f.problem("pipeline", p.Name, "", e.hints()))
			continue
		}
		ps = append(ps, f.problem(kindOn(p, name), name, fieldOf(f), e.hints()))
	}
	if len(ps) > 0 || len(re.Failures) > 0 {
		return ps
	}
	// The graph resolved but did not validate: the error names the
	// element in its parameters or text.
	f, _ := failureOf(re.Err)
	name := elementNamed(f, p.Catalog, p.Database, names)
	switch {
	case name == "":
		return pipeline.Problems{f.problem("pipeline", p.Name, "", e.hints())}
	case skip[name]:
		return nil
	}
	return pipeline.Problems{f.problem(kindOn(p, name), name, fieldOf(f), e.hints())}
}

// fieldOf is the declaration field a failure is about.
func fieldOf(f failure) string {
	if strings.HasPrefix(f.Class, "USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE") {
		return "schema"
	}
	if f.Class == "RUN_EMPTY_PIPELINE" {
		return ""
	}
	return "query"
}
