package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Run runs p on the engine's environment: the same registration as a
// dry-run, then a real run with the given refresh selection, in a session of
// its own that lives until the run ends (and is released when ctx is
// cancelled, which stops the pipeline on the server). Every run event is
// passed to progress (when not nil) as it arrives.
//
// Declarations that fail the static checks or the plan check (plan.go: a
// part whose analyzed plan is refused, or cannot be had), or that the
// server refuses to register, come back as pipeline.Problems and nothing
// runs. A run that
// fails is a RunResult with OK false and a Failure naming the dataset or
// flow. After the run, the rows passing and failing each expectation are
// counted for every dataset the run wrote. Any other error is an
// infrastructure error.
func (e *Engine) Run(ctx context.Context, p *pipeline.Pipeline, opts RunOptions, progress func(Progress)) (*RunResult, error) {
	b := e.bind(p)
	hash, err := p.Hash()
	if err != nil {
		return nil, err
	}
	g := pipeline.BuildGraph(b)
	ps := staticProblems(b, g)
	ps = append(ps, selectionProblems(b, opts)...)
	if len(ps) > 0 {
		return nil, ps
	}
	ps, cols, err := e.checkParts(ctx, b, g, true) // the plan check, see plan.go
	if err != nil {
		return nil, err
	} else if len(ps) > 0 {
		return nil, ps
	}
	order, err := g.Order()
	if err != nil {
		return nil, err
	}
	// Every table carries its definition hash, which a promotion plan reads
	// back (promotion_plan.go).
	if b, err = stamp(b); err != nil {
		return nil, err
	}
	started := time.Now()
	tr := newTracker(b, progress)
	var defined pipeline.Problems
	var failed *connect.RunError
	err = e.withGraphSession(ctx, tr.restart, func(c *connect.Client) error {
		gr, def, err := e.defineGraph(ctx, c, b)
		if err != nil {
			return err
		}
		if defined = def; len(def) > 0 {
			return nil
		}
		if def, err = e.prepareTables(ctx, c, b, opts, cols); err != nil || len(def) > 0 {
			defined = def
			return err
		}
		_, err = gr.StartRun(ctx, connect.RunOptions{
			Refresh: opts.Refresh, FullRefresh: opts.FullRefresh, FullRefreshAll: opts.FullRefreshAll,
			Storage: b.StoragePath(), Tags: []string{"sdp-mcp-run-" + uuid.NewString()},
		}, tr.event)
		if errors.As(err, &failed) {
			return nil // the run's outcome, not an infrastructure failure
		}
		return err
	})
	var stopped *UnavailableError
	if failed != nil && e.sup != nil && !e.cfg.Supervisor.Alive() {
		e.restartSoon(ctx)
		err = &UnavailableError{Kind: KindStopped, Environment: e.envName(), Waited: time.Since(started), Err: failed}
	}
	if errors.As(err, &stopped) && stopped.Kind == KindStopped {
		return e.stoppedRun(b, g, order, tr, hash, started, stopped), nil
	}
	if err != nil {
		return nil, fmt.Errorf("run of pipeline %s: %w", b.Name, err)
	}
	if len(defined) > 0 {
		return nil, defined
	}
	res := &RunResult{OK: failed == nil, PipelineHash: hash, Datasets: tr.results(b, g, order)}
	var hit *expectationHit
	if failed != nil {
		res.Failure, hit = e.runFailure(b, failed)
	}
	e.countExpectations(ctx, b, res, hit)
	if hit != nil {
		res.Failure.Message = hit.describe(b, res.expectations(hit.dataset))
	}
	res.Duration = time.Since(started)
	return res, nil
}

// expectations returns the expectation counts of the named dataset.
func (r *RunResult) expectations(dataset string) []ExpectationResult {
	for _, d := range r.Datasets {
		if d.Name == dataset {
			return d.Expectations
		}
	}
	return nil
}

// selectionProblems checks the refresh selection against p's datasets.
func selectionProblems(p *pipeline.Pipeline, o RunOptions) pipeline.Problems {
	var stored []string
	for _, d := range p.Datasets {
		if d.Kind != pipeline.TemporaryView {
			stored = append(stored, d.Name)
		}
	}
	var ps pipeline.Problems
	check := func(field string, names []string) {
		for _, n := range names {
			d, ok := p.Dataset(n)
			switch {
			case !ok:
				ps = append(ps, pipeline.Problem{On: "run", Name: p.Name, Field: field, Got: n,
					Message: "no dataset has this name",
					Fix:     "select among the materialized views and streaming tables: " + strings.Join(stored, ", ")})
			case d.Kind == pipeline.TemporaryView:
				ps = append(ps, pipeline.Problem{On: "run", Name: p.Name, Field: field, Got: n,
					Message: "a temporary view is not stored, so it cannot be refreshed",
					Fix:     "select the datasets that read it"})
			case field == "refresh" && slices.Contains(o.FullRefresh, n):
				ps = append(ps, pipeline.Problem{On: "run", Name: p.Name, Field: field, Got: n,
					Message: "the dataset is selected for both refresh and full refresh",
					Fix:     "list it in only one of them"})
			}
		}
	}
	check("refresh", o.Refresh)
	check("full_refresh", o.FullRefresh)
	if o.FullRefreshAll && len(o.Refresh)+len(o.FullRefresh) > 0 {
		ps = append(ps, pipeline.Problem{On: "run", Name: p.Name, Field: "full_refresh_all",
			Message: "a full refresh of everything cannot be combined with a selection",
			Fix:     "either set full_refresh_all, or list datasets in refresh / full_refresh"})
	}
	return ps
}

// tracker follows the flows of a run through its events.
type tracker struct {
	progress func(Progress)
	names    map[string]bool
	state    map[string]string  // element → last reported flow state
	failures map[string]failure // element → its last failure
	total    int
}

func newTracker(p *pipeline.Pipeline, progress func(Progress)) *tracker {
	t := &tracker{progress: progress, names: elementNames(p), state: map[string]string{}, failures: map[string]failure{}}
	for _, d := range p.Datasets {
		if d.Kind != pipeline.TemporaryView && d.Query != "" {
			t.total++
		}
	}
	t.total += len(p.Flows)
	return t
}

// terminal flow states: the flow is done for this run (a FAILED flow may
// still be retried, and then counts again as running).
var terminal = []string{connect.FlowCompleted, connect.FlowFailed, connect.FlowSkipped,
	connect.FlowExcluded, connect.FlowStopped, connect.FlowIdle}

func (t *tracker) event(ev connect.PipelineEvent) {
	msg := ev.Message
	if u, ok := ev.FlowUpdate(); ok {
		if n := nameOf(u.Flow); t.names[n] {
			t.state[n] = u.State
			if u.State == connect.FlowFailed {
				t.failures[n] = failure{Class: u.ErrorClass, Message: u.Error}
			}
		}
		msg, _, _ = strings.Cut(msg, "\n")
		if u.Error != "" {
			msg += " " + failure{Class: u.ErrorClass, Message: u.Error}.brief()
		}
	}
	if t.progress == nil {
		return
	}
	done := 0
	for _, s := range t.state {
		if slices.Contains(terminal, s) {
			done++
		}
	}
	t.progress(Progress{Time: ev.Time, Message: msg, Done: done, Total: t.total})
}

// restart forgets the first attempt of a run that starts over.
func (t *tracker) restart(err error) {
	clear(t.state)
	clear(t.failures)
	if t.progress != nil {
		t.progress(Progress{Time: time.Now(), Message: "The Spark session was lost (" + err.Error() + "); running again in a new session.", Total: t.total})
	}
}

// flowStatus maps a flow's last state to a DatasetRun status.
func flowStatus(state string) string {
	switch state {
	case connect.FlowCompleted, connect.FlowIdle:
		return "completed"
	case connect.FlowFailed:
		return "failed"
	case connect.FlowExcluded:
		return "excluded"
	}
	return "skipped" // never started, stopped, or skipped after a failure upstream
}

// combine is the status of a dataset written by several flows.
func combine(statuses []string) string {
	switch {
	case len(statuses) == 0:
		return "skipped"
	case slices.Contains(statuses, "failed"):
		return "failed"
	case slices.Contains(statuses, "completed"):
		return "completed"
	case !slices.ContainsFunc(statuses, func(s string) bool { return s != "excluded" }):
		return "excluded"
	}
	return "skipped"
}

// viewStatus is the status of a temporary view, which is computed only
// inside the flows that read it: completed when one of them completed.
func viewStatus(readers []string) string {
	switch {
	case slices.Contains(readers, "completed"):
		return "completed"
	case len(readers) > 0 && !slices.ContainsFunc(readers, func(s string) bool { return s != "excluded" }):
		return "excluded"
	}
	return "skipped"
}

// results lists what the run did to every dataset and flow, in dependency
// order.
func (t *tracker) results(p *pipeline.Pipeline, g *pipeline.Graph, order []string) []DatasetRun {
	status := map[string]string{}
	for _, name := range order {
		if _, ok := p.Flow(name); ok {
			status[name] = flowStatus(t.state[name])
			continue
		}
		d, _ := p.Dataset(name)
		var parts []string
		if d.Query != "" && d.Kind != pipeline.TemporaryView {
			parts = append(parts, flowStatus(t.state[name]))
		}
		for _, f := range p.FlowsInto(name) {
			parts = append(parts, flowStatus(t.state[f.Name]))
		}
		if d.Kind != pipeline.TemporaryView {
			status[name] = combine(parts)
		}
	}
	for _, name := range slices.Backward(order) {
		if d, ok := p.Dataset(name); ok && d.Kind == pipeline.TemporaryView {
			var readers []string
			for _, r := range g.Dependents(name) {
				readers = append(readers, status[r])
			}
			status[name] = viewStatus(readers)
		}
	}
	out := make([]DatasetRun, 0, len(order))
	for _, name := range order {
		kind := pipeline.FlowKind
		if d, ok := p.Dataset(name); ok {
			kind = string(d.Kind)
		}
		dr := DatasetRun{Name: name, Kind: kind, Status: status[name]}
		if f, ok := t.failures[name]; ok && dr.Status == "failed" {
			dr.Message = f.brief()
		}
		out = append(out, dr)
	}
	return out
}

// expectationRE reads the message a fail expectation raises (see
// pipeline's rendering): the expectation, the dataset and, when the rows came
// through an append flow, the flow.
var expectationRE = regexp.MustCompile(`sdp-mcp expectation ([a-z][a-z0-9_]*) failed on dataset ([a-z][a-z0-9_]*)(?: \(flow ([a-z][a-z0-9_]*)\))?: `)

// expectationHit is a fail expectation that stopped a run.
type expectationHit struct {
	expectation, dataset, flow string
	also                       string // other flows that failed, for the message
}

// runFailure maps a failed run to the dataset or flow that failed first by
// itself. When a fail expectation stopped the run, it also returns which.
func (e *Engine) runFailure(p *pipeline.Pipeline, re *connect.RunError) (*RunFailure, *expectationHit) {
	var f failure
	var name string
	var others []string
	for _, ff := range re.Failures {
		if ff.Upstream {
			continue
		}
		if name == "" {
			f, name = failureOfFlow(ff), nameOf(ff.Flow)
			if f.Class == "" {
				f.Class = re.Err.ErrorClass
			}
		} else {
			others = append(others, nameOf(ff.Flow))
		}
	}
	if name == "" {
		f, _ = failureOf(re.Err)
		name = elementNamed(f, p.Catalog, p.Database, elementNames(p))
	}
	also := ""
	if len(others) > 0 {
		also = " (also failed: " + strings.Join(others, ", ") + ")"
	}
	rf := &RunFailure{Dataset: name, ErrorClass: f.Class, Message: f.brief() + also, Hint: f.hint(e.hints())}
	m := expectationRE.FindStringSubmatch(f.Message)
	if m == nil {
		return rf, nil
	}
	rf.Dataset = m[2]
	return rf, &expectationHit{expectation: m[1], dataset: m[2], flow: m[3], also: also}
}

// describe says which fail expectation stopped the run and how many rows
// violate it, from the dataset's counts (nil when they are unknown).
func (h *expectationHit) describe(p *pipeline.Pipeline, counts []ExpectationResult) string {
	where := "dataset " + h.dataset
	if h.flow != "" {
		where += " (rows from flow " + h.flow + ")"
	}
	cond := ""
	if d, ok := p.Dataset(h.dataset); ok {
		for _, x := range d.Expectations {
			if x.Name == h.expectation {
				cond = x.Condition
			}
		}
	}
	msg := fmt.Sprintf("fail expectation %s of %s stopped the run", h.expectation, where)
	for _, c := range counts {
		if c.Name == h.expectation {
			return fmt.Sprintf("%s: %d of %d rows violate %s%s", msg, c.Failed, c.Passed+c.Failed, cond, h.also)
		}
	}
	return msg + ": some rows violate " + cond + h.also
}

// countExpectations fills in the expectation counts of every dataset with
// expectations that the run wrote, and of the dataset whose fail
// expectation stopped it (hit, when not nil).
func (e *Engine) countExpectations(ctx context.Context, p *pipeline.Pipeline, res *RunResult, hit *expectationHit) {
	for i := range res.Datasets {
		dr := &res.Datasets[i]
		d, ok := p.Dataset(dr.Name)
		stopped := hit != nil && hit.dataset == dr.Name
		if !ok || len(d.Expectations) == 0 || (dr.Status != "completed" && !stopped) || ctx.Err() != nil {
			continue
		}
		counts, err := e.violations(ctx, p, d.Name)
		if err != nil {
			e.log.Warn("counting expectation violations", "dataset", d.Name, "err", err)
			msg := err.Error()
			if f, ok := failureOf(err); ok {
				msg = f.brief()
			}
			if dr.Message != "" {
				dr.Message += "; "
			}
			dr.Message += "the expectations could not be counted: " + msg
			continue
		}
		dr.Expectations = counts
	}
}

// violations counts the rows passing and failing each expectation of the
// named dataset, with pipeline.ViolationCountSQL: over the dataset's rows
// before any expectation, upstreams read from their tables.
func (e *Engine) violations(ctx context.Context, p *pipeline.Pipeline, dataset string) ([]ExpectationResult, error) {
	d, _ := p.Dataset(dataset)
	sql, err := pipeline.ViolationCountSQL(p, dataset)
	if err != nil {
		return nil, err
	}
	tables := e.readsOf(p, []string{dataset}, "", true)
	if ps, err := e.checkPlan(ctx, p, connect.SQL(sql), sql, subject{"dataset", dataset, d.Query}); err != nil { // see plan.go
		return nil, err
	} else if len(ps) > 0 {
		return nil, ps
	}
	var res *connect.Result
	err = e.withSession(ctx, func(c *connect.Client) error {
		if err := e.refresh(ctx, c, tables); err != nil {
			return err
		}
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		res, err = c.Collect(cctx, connect.SQL(sql), connect.ExecOptions{Tags: []string{"sdp-mcp-expectations"}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return expectationCounts(d, res.Rows)
}

// expectationCounts reads the rows of a ViolationCountSQL query:
// (expectation STRING, passed BIGINT, failed BIGINT), in declared order.
func expectationCounts(d pipeline.Dataset, rows [][]any) ([]ExpectationResult, error) {
	out := make([]ExpectationResult, 0, len(rows))
	for _, r := range rows {
		if len(r) != 3 {
			return nil, fmt.Errorf("expectation counts of %s: a row has %d columns, want 3", d.Name, len(r))
		}
		name, _ := r[0].(string)
		passed, ok1 := r[1].(int64)
		failed, ok2 := r[2].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("expectation counts of %s: unexpected row %v", d.Name, r)
		}
		er := ExpectationResult{Name: name, Passed: passed, Failed: failed}
		for _, x := range d.Expectations {
			if x.Name == name {
				er.OnViolation = x.OnViolation
			}
		}
		out = append(out, er)
	}
	return out, nil
}

// stoppedRun is the result of a run during which the supervised server
// stopped: what completed before, and what state the pipeline is in.
func (e *Engine) stoppedRun(p *pipeline.Pipeline, g *pipeline.Graph, order []string, tr *tracker, hash string, started time.Time, stopped *UnavailableError) *RunResult {
	e.log.Warn("the engine's local server stopped during a run", "pipeline", p.Name, "err", stopped.Err)
	res := &RunResult{OK: false, PipelineHash: hash, Datasets: tr.results(p, g, order), Duration: time.Since(started)}
	var done []string
	for i := range res.Datasets {
		d := &res.Datasets[i]
		switch d.Status {
		case "completed":
			done = append(done, d.Name)
		case "failed":
			d.Status = "skipped"
			d.Message = ""
		}
	}
	state := "no dataset had completed, so every dataset keeps what it held before this run"
	if len(done) > 0 {
		state = "completed before it stopped (their data is kept): " + strings.Join(done, ", ") +
			"; every other dataset keeps what it held before this run"
	}
	res.Failure = &RunFailure{ErrorClass: "ENGINE_STOPPED",
		Message: fmt.Sprintf("the %s engine stopped during the run (its process is gone; the run had been going for %s); %s "+
			"(a table write that was cut is not committed, and streaming tables resume from their last committed checkpoint); "+
			"the pipeline draft is unchanged",
			stopped.Environment, stopped.Waited.Round(100*time.Millisecond), state),
		Hint: "retrying is safe: run again; the engine is being restarted (a minute or so) and the next call waits for it"}
	return res
}
