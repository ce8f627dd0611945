package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Validate checks p in three stages and reports every problem found:
//
//  1. static checks — the declarations, the dependency graph (missing
//     upstreams, cycles); when they find anything, Validate returns without
//     sending anything to Spark;
//  2. analysis — each dataset's and flow's query is resolved by the server
//     (AnalyzePlan, which does not execute on Spark 4.1+) against its direct
//     upstreams' known columns (analysis.go), to get its columns; errors are
//     attributed to the dataset or flow whose own text fails, and so are
//     expectation conditions that do not resolve against its columns. Next
//     to it, the analyzed plan of every part passes the plan check
//     (plan.go); its refusals are problems too. Facts an earlier validation
//     established are reused while nothing they depend on changed;
//  3. an SDP dry-run, in a session of its own, as `spark-pipelines dry-run`
//     would do it with the project folder: of the whole graph on a cold
//     validation; of only the changed part (unchanged upstreams standing
//     in) after a full one passed; none when one passed for this very
//     draft (dryrun.go). Result.Checks says which ran.
//
// Problems are in the result; the error is for infrastructure failures only.
func (e *Engine) Validate(ctx context.Context, p *pipeline.Pipeline) (*ValidationResult, error) {
	return e.validate(ctx, p, false)
}

// ValidateFull is Validate with the ground truth before a release: the
// whole graph is dry-run unless a full dry-run already passed for this very
// draft on this engine (promote calls it on production). A run needs no
// such step: it resolves the whole graph before it writes anything.
func (e *Engine) ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*ValidationResult, error) {
	return e.validate(ctx, p, true)
}

func (e *Engine) validate(ctx context.Context, p *pipeline.Pipeline, full bool) (*ValidationResult, error) {
	b := e.bind(p)
	hash, err := p.Hash()
	if err != nil {
		return nil, err
	}
	g := pipeline.BuildGraph(b)
	res := &ValidationResult{PipelineHash: hash, Mermaid: g.Mermaid(), Problems: pipeline.Problems{}, Datasets: []DatasetInfo{}}
	for _, d := range b.Datasets {
		deps := g.Dependencies(d.Name)
		if deps == nil {
			deps = []string{}
		}
		res.Datasets = append(res.Datasets, DatasetInfo{Name: d.Name, Kind: d.Kind, DependsOn: deps})
	}
	if ps := staticProblems(b, g); len(ps) > 0 {
		res.Problems = ps
		return res, nil
	}
	ident, err := e.identity(ctx)
	if err != nil {
		return nil, err
	}
	// A dry-run that passed stands for this draft only while the source
	// tables it read keep their schemas.
	srcs, err := e.sourceSchemas(ctx, g)
	if err != nil {
		return nil, err
	}
	dr := e.planDryRun(b, hash, ident, sourcesKey(srcs))
	if full && !dr.skip {
		dr.full, dr.kind, dr.elements = true, dryRunFull, len(b.Datasets)+len(b.Flows)
	}

	// Analysis (on the shared session), a full SDP dry-run (on a session
	// of its own) and the warnings are independent: run them side by side.
	// A partial dry-run needs to know what analysis found changed.
	var (
		wg               sync.WaitGroup
		w                *walk
		dry, warns       pipeline.Problems
		aErr, dErr, wErr error
	)
	var analysisTime, dryRunTime time.Duration
	started := time.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		w, aErr = e.walkParts(ctx, b, g, ident, srcs)
		analysisTime = time.Since(started)
	}()
	go func() { defer wg.Done(); warns, wErr = e.warnings(ctx, b) }()
	if dr.full {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dry, dErr = e.fullDryRun(ctx, b, dr)
			dryRunTime = time.Since(started)
		}()
	}
	wg.Wait()
	if err := errors.Join(aErr, dErr, wErr); err != nil {
		return nil, err
	}
	if !dr.full && !dr.skip {
		t0 := time.Now()
		if dry, err = e.partialDryRun(ctx, b, g, w, dr); err != nil {
			return nil, err
		}
		dryRunTime = time.Since(t0)
	}
	a := w.a
	for i := range res.Datasets {
		res.Datasets[i].Columns = a.columns[res.Datasets[i].Name]
	}
	res.Problems = append(res.Problems, a.problems...)
	res.Problems = dedupe(append(res.Problems, w.plan...))
	// Elements whose problems analysis found (or that read one) are
	// reported once, from analysis, which attributes them more precisely.
	for _, prob := range dry {
		if !a.failed[prob.Name] || prob.On == "pipeline" {
			res.Problems = append(res.Problems, prob)
		}
	}
	res.Warnings = warns
	res.OK = len(res.Problems) == 0
	res.Checks = &ValidationChecks{Analyzed: w.analyzed, Reused: w.reused, DryRun: dr.kind, DryRunElements: dr.elements,
		AnalysisTime: analysisTime, DryRunTime: dryRunTime}
	return res, nil
}

// sourcesKey renders source table schemas (sourceSchemas) in a stable
// order, for cache keys.
func sourcesKey(srcs map[string]string) string {
	var b strings.Builder
	for _, t := range slices.Sorted(maps.Keys(srcs)) {
		b.WriteString(t + "=" + srcs[t] + "\x00")
	}
	return b.String()
}

// staticProblems runs the checks that need no engine.
func staticProblems(p *pipeline.Pipeline, g *pipeline.Graph) pipeline.Problems {
	var ps pipeline.Problems
	if err := p.Validate(); err != nil {
		var vs pipeline.Problems
		if errors.As(err, &vs) {
			ps = append(ps, vs...)
		} else {
			ps = append(ps, pipeline.Problem{On: "pipeline", Name: p.Name, Message: err.Error()})
		}
	}
	for _, gp := range g.Problems() {
		if !slices.Contains(ps, gp) {
			ps = append(ps, gp)
		}
	}
	return ps
}

// analysis is what the engine learned about each dataset and flow.
type analysis struct {
	columns  map[string][]connect.Column
	failed   map[string]bool // elements with problems, or not analyzed because an upstream has some
	problems pipeline.Problems
}

// analysisParallelism bounds the AnalyzePlan calls in flight per Validate.
const analysisParallelism = 4

// fail records problems the pipeline package found while building a query;
// other errors are returned.
func (a *analysis) fail(name string, err error) error {
	var ps pipeline.Problems
	if !errors.As(err, &ps) {
		return err
	}
	a.failed[name] = true
	a.problems = append(a.problems, ps...)
	return nil
}

// analyzeSQL resolves sql, the rows element name writes to dataset d, with
// d's expectation conditions evaluated over them, and returns the columns.
// When that fails, it finds out whether the query or a condition is at
// fault, so that the problem names the right field.
func (e *Engine) analyzeSQL(ctx context.Context, a *analysis, on, name, sql string, d pipeline.Dataset) ([]connect.Column, error) {
	checks := d.Expectations
	cols, err := e.schema(ctx, withChecks(sql, checks))
	if err == nil {
		return cols[:len(cols)-len(checks)], nil
	}
	if !agentFixable(err) {
		return nil, err
	}
	if len(checks) > 0 {
		cols, err = e.schema(ctx, sql)
	}
	if err != nil {
		if !agentFixable(err) {
			return nil, err
		}
		f, _ := failureOf(err)
		a.failed[name] = true
		a.problems = append(a.problems, f.problem(on, name, "query", e.hints()))
		return nil, nil
	}
	// The query resolves: some condition does not.
	env := e.hints()
	for _, c := range cols {
		env.columns = append(env.columns, c.Name)
	}
	found := false
	for i := range checks {
		_, cerr := e.schema(ctx, withChecks(sql, checks[i:i+1]))
		if cerr == nil {
			continue
		}
		if !agentFixable(cerr) {
			return nil, cerr
		}
		f, _ := failureOf(cerr)
		a.problems = append(a.problems, f.problem("dataset", d.Name, fmt.Sprintf("expectations[%d].condition", i), env))
		found = true
	}
	if !found {
		f, _ := failureOf(err)
		a.problems = append(a.problems, f.problem("dataset", d.Name, "expectations", env))
	}
	// The run applies the conditions to this part's rows: it would fail
	// here too, and downstream previews inline the broken filter.
	a.failed[name], a.failed[d.Name] = true, true
	return cols, nil
}

// withChecks appends one boolean column per expectation to sql's rows: the
// condition as a run evaluates it. Resolving it checks that each condition
// is a boolean expression over the rows' columns.
func withChecks(sql string, es []pipeline.Expectation) string {
	if len(es) == 0 {
		return sql
	}
	var b strings.Builder
	b.WriteString("SELECT *")
	for i, x := range es {
		fmt.Fprintf(&b, ",\n  (%s) IS TRUE AS `__sdp_mcp_check_%d`", x.Condition, i)
	}
	b.WriteString("\nFROM (\n" + sql + "\n) AS `__sdp_mcp_checked`")
	return b.String()
}

// schema resolves a query on the shared session, without running it.
func (e *Engine) schema(ctx context.Context, sql string) ([]connect.Column, error) {
	var cols []connect.Column
	e.analyzeCalls.Add(1)
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		cols, err = c.Schema(cctx, connect.SQL(sql))
		return err
	})
	return cols, err
}

// unionByName merges column lists by name, in order of first appearance; a
// column is nullable when it is nullable, or missing, in any list.
func unionByName(parts [][]connect.Column) []connect.Column {
	var out []connect.Column
	at := map[string]int{}
	for _, cols := range parts {
		for _, c := range cols {
			k := strings.ToLower(c.Name)
			if i, ok := at[k]; ok {
				out[i].Nullable = out[i].Nullable || c.Nullable
				continue
			}
			at[k] = len(out)
			out = append(out, c)
		}
	}
	for i := range out {
		k := strings.ToLower(out[i].Name)
		for _, cols := range parts {
			if !slices.ContainsFunc(cols, func(c connect.Column) bool { return strings.ToLower(c.Name) == k }) {
				out[i].Nullable = true
			}
		}
	}
	return out
}

func dedupe(ps pipeline.Problems) pipeline.Problems {
	var out pipeline.Problems
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// dryRunTimePerElement is what the bound on a dry-run grows by per dataset
// and flow, on top of the call timeout (a 500-dataset graph measured about
// 8 s on an idle two-core sandbox, and several times that on a busy one).
const dryRunTimePerElement = 250 * time.Millisecond

// dryRun registers p's files in a new dataflow graph and dry-runs it. Its
// problems leave out elements in skip, whose problems analysis found.
func (e *Engine) dryRun(ctx context.Context, p *pipeline.Pipeline, skip map[string]bool) (pipeline.Problems, error) {
	var ps pipeline.Problems
	err := e.withGraphSession(ctx, nil, func(c *connect.Client) error {
		ps = nil
		g, defined, err := e.defineGraph(ctx, c, p)
		if err != nil {
			return err
		}
		for _, d := range defined {
			if !skip[d.Name] {
				ps = append(ps, d)
			}
		}
		if len(defined) > 0 {
			return nil // a graph with refused files cannot run
		}
		// The server resolves every flow of the graph in this one call:
		// its time grows with the graph, and so does its bound.
		cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout+dryRunTimePerElement*time.Duration(len(p.Datasets)+len(p.Flows)))
		defer cancel()
		_, err = g.StartRun(cctx, connect.RunOptions{Dry: true, Storage: p.StoragePath()}, nil)
		var re *connect.RunError
		if errors.As(err, &re) {
			ps = append(ps, e.runProblems(p, re, skip)...)
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dry-run of pipeline %s: %w", p.Name, err)
	}
	return dedupe(ps), nil
}

// fileFormats are the table formats whose streaming writes keep their
// commit log next to the data, keyed by the writer's batch number.
var fileFormats = []string{"parquet", "orc", "json", "csv", "avro", "text"}

// warnings reports streaming tables with more than one writer when tables
// are file-based: on Spark 4.3 (OSS) the writers share one commit log keyed
// by batch number, and a batch one writer commits after the other used its
// number is skipped — its rows are lost. Measured on the sandbox; see
// TestRunStreamingTableTwoFlows.
func (e *Engine) warnings(ctx context.Context, p *pipeline.Pipeline) (pipeline.Problems, error) {
	var multi []pipeline.Dataset
	for _, d := range p.Datasets {
		writers := len(p.FlowsInto(d.Name))
		if d.Query != "" {
			writers++
		}
		if d.Kind == pipeline.StreamingTable && writers > 1 {
			multi = append(multi, d)
		}
	}
	if len(multi) == 0 {
		return nil, nil
	}
	const key = "spark.sql.sources.default"
	var format string
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		got, err := c.GetConf(cctx, key)
		format = strings.ToLower(got[key])
		return err
	})
	if err != nil {
		return nil, err
	}
	if !slices.Contains(fileFormats, format) {
		return nil, nil
	}
	var ws pipeline.Problems
	for _, d := range multi {
		ws = append(ws, pipeline.Problem{On: "dataset", Name: d.Name,
			Message: fmt.Sprintf("several flows append to this streaming table, and this environment writes %s files: Spark's file sink keeps one commit log per table, so rows of one flow can be dropped when both flows commit in the same run", format),
			Fix:     "write one flow per streaming table: combine the sources with UNION ALL in a single query"})
	}
	return ws, nil
}
