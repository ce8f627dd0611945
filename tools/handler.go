package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/policy"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// Engine is what the tools need from an engine (package engine): one per
// environment. *engine.Engine implements it.
type Engine interface {
	ListSources(ctx context.Context, pattern string) ([]engine.Source, error)
	DescribeSource(ctx context.Context, name string) (*engine.Source, error)
	Preview(ctx context.Context, p *pipeline.Pipeline, req engine.PreviewRequest) (*engine.PreviewResult, error)
	Validate(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error)
	// ValidateFull validates with a dry-run of the whole graph (unless one
	// passed for this very draft): promote's check before a release.
	ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error)
	Run(ctx context.Context, p *pipeline.Pipeline, opts engine.RunOptions, progress func(engine.Progress)) (*engine.RunResult, error)
}

// EngineFactory connects to the engine of one environment. The tools call
// it lazily, at most once per environment that succeeds: production is
// dialled only when promote runs.
type EngineFactory func(ctx context.Context, env config.Environment) (Engine, error)

// BodyChecker is the SQL guard (package guardrails): it checks one query
// body or expression the agent wrote, before anything is saved or sent to
// Spark, and returns every problem found. kind is one of the Body*
// constants.
// p is the pipeline the body belongs to: its declared datasets may always
// be read.
type BodyChecker interface {
	CheckBody(p *pipeline.Pipeline, body string, kind string) (pipeline.Problems, BodyFacts)
}

// BodyFacts are what a checked body reads and calls, for the policy's rules.
type BodyFacts struct {
	Reads     []string // relations read, qualified catalog.schema.table, lower case
	Functions []string // functions called, lower case
}

// Body kinds passed to the BodyChecker.
const (
	// BodyQuery is a batch SELECT body: a materialized or temporary view,
	// or an ad-hoc preview query.
	BodyQuery = "query"
	// BodyStreamingQuery is the SELECT body of a streaming table or a flow,
	// which may read STREAM(x).
	BodyStreamingQuery = "streaming_query"
	// BodyCondition is an expectation's boolean expression.
	BodyCondition = "condition"
)

// queryKind is the body kind of a dataset's query.
func queryKind(k pipeline.Kind) string {
	if k == pipeline.StreamingTable {
		return BodyStreamingQuery
	}
	return BodyQuery
}

// Deps are what the tools need.
type Deps struct {
	// Config is the validated server configuration.
	Config *config.Config
	// Engines connects to an environment's engine.
	Engines EngineFactory
	// Guard checks every query body and condition.
	Guard BodyChecker
	// Policy is the guardrail policy (rules, tool switches, protected
	// datasets); nil means the built-in default.
	Policy *policy.Policy
	// Log receives the details of infrastructure failures.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Approvals holds the people's approvals of promotions; nil when
	// promote needs none (promotion.approval: none, or no production).
	Approvals *approval.Store
}

// Handler holds the dependencies of the tools; each tool is a method on it.
type Handler struct {
	cfg     *config.Config
	engines EngineFactory
	guard   BodyChecker
	policy  *policy.Policy
	log     *slog.Logger
	now     func() time.Time
	// approvals, when set, gates promote on a person's approval.
	approvals *approval.Store

	// engines is held while an engine is being created (starting the
	// sandbox can take minutes); it is a channel so waiters can give up.
	engineSem chan struct{}
	started   map[string]Engine // environment name → engine, under engineSem

	// sparkSem holds one slot per engine call in progress
	// (limits.max_concurrent_spark_operations).
	sparkSem chan struct{}

	mu    sync.Mutex
	locks map[string]chan struct{} // pipeline name → lock

	// drafts keeps the drafts in memory so that a change reads and writes
	// only what changed (see pipeline.Store).
	drafts *pipeline.Store
}

// New returns a Handler.
func New(d Deps) (*Handler, error) {
	if d.Config == nil || d.Engines == nil || d.Guard == nil {
		return nil, errors.New("tools: Config, Engines and Guard are required")
	}
	h := &Handler{cfg: d.Config, engines: d.Engines, guard: d.Guard, policy: d.Policy, log: d.Log, now: d.Now,
		approvals: d.Approvals,
		engineSem: make(chan struct{}, 1), started: map[string]Engine{}, locks: map[string]chan struct{}{},
		drafts: pipeline.NewStore()}
	n := d.Config.Limits.MaxConcurrentSparkOperations
	if n < 1 {
		n = config.DefaultSparkOperations
	}
	h.sparkSem = make(chan struct{}, n)
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.policy == nil {
		h.policy = policy.Default()
	}
	return h, nil
}

// All returns every tool, in the order clients list them. The server
// registers a subset of this list depending on its mode; the order is fixed
// so tools/list is deterministic.
func (h *Handler) All() ([]server.ServerTool, error) {
	defs := []func() (server.ServerTool, error){
		h.listSourcesTool,
		h.describeSourceTool,
		h.listPipelinesTool,
		h.showPipelineTool,
		h.declareTableTool,
		h.declareFlowTool,
		h.removeDatasetTool,
		h.previewTool,
		h.validateTool,
		h.runTool,
		h.planPromotionTool,
		h.promoteTool,
	}
	out := make([]server.ServerTool, 0, len(defs))
	for _, d := range defs {
		t, err := d()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Promote is the name of the one tool that reaches production.
const Promote = "promote"

// engine returns the engine of the named environment, connecting on first
// use. Every call on the returned engine holds a Spark operation slot.
func (h *Handler) engine(ctx context.Context, env string) (Engine, error) {
	select {
	case h.engineSem <- struct{}{}:
		defer func() { <-h.engineSem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e, ok := h.started[env]; ok {
		return e, nil
	}
	var ec config.Environment
	switch env {
	case config.Sandbox:
		ec = h.cfg.Environments.Sandbox
	case config.Production:
		if h.cfg.Environments.Production == nil || h.cfg.Mode.SandboxOnly || h.cfg.Mode.ReadOnly {
			// Unreachable through the tools (promote checks first); kept so
			// no code path can ever dial production in these modes.
			return nil, &toolcall.InfraError{Public: "the production environment is not available on this server",
				Err: errors.New("production engine requested while unavailable")}
		}
		ec = *h.cfg.Environments.Production
	default:
		return nil, &toolcall.InfraError{Public: "unknown environment", Err: fmt.Errorf("unknown environment %q", env)}
	}
	e, err := h.engines(ctx, ec)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// An operator's problem, not a server bug: the agent is told so,
		// the cause goes to the log under the reference it is given.
		ref := toolcall.NewRef()
		h.log.Error("the engine could not be started or reached", "environment", env, "ref", ref, "cause", toolcall.CauseChain(err))
		return nil, &toolcall.ToolError{Decision: audit.Failed, Rule: "engine.unavailable", Msg: fmt.Sprintf(
			"the %s engine could not be started or reached; nothing was changed; an operator must check it "+
				"(for the local sandbox: sdp-mcp sandbox status); the server log has the cause under ref %s", env, ref)}
	}
	e = limitedEngine{h: h, e: e}
	h.started[env] = e
	return e, nil
}

// lock serializes the changes to one pipeline's folder. It gives up when
// ctx ends, with a message the agent can act on.
func (h *Handler) lock(ctx context.Context, name string) (unlock func(), err error) {
	h.mu.Lock()
	l, ok := h.locks[name]
	if !ok {
		l = make(chan struct{}, 1)
		h.locks[name] = l
	}
	h.mu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, &toolcall.ToolError{Decision: audit.Failed, Rule: "pipeline.busy",
			Msg: fmt.Sprintf("pipeline %q is busy with another call; try again shortly", name)}
	}
}

// dir is the folder of a pipeline draft.
func (h *Handler) dir(name string) string { return filepath.Join(h.cfg.PipelinesDir(), name) }

// exists reports whether a pipeline draft exists.
func (h *Handler) exists(name string) (bool, error) {
	_, err := os.Stat(filepath.Join(h.dir(name), pipeline.SpecFile))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, &toolcall.InfraError{Public: "the pipeline folder could not be read", Err: err}
}

// load reads a pipeline draft and binds it to the sandbox environment. A
// missing pipeline is a problem naming the pipelines that exist.
func (h *Handler) load(name string) (*pipeline.Pipeline, error) {
	ok, err := h.exists(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, h.noPipeline(name)
	}
	p, err := h.drafts.Load(h.dir(name))
	if err != nil {
		var ps pipeline.Problems
		if errors.As(err, &ps) {
			return nil, ps
		}
		return nil, &toolcall.InfraError{Public: "the pipeline folder could not be read", Err: err}
	}
	h.bindSandbox(p)
	return p, nil
}

// bindSandbox sets the environment fields of a draft from the sandbox
// config: they never come from the agent (and are not part of its hash).
func (h *Handler) bindSandbox(p *pipeline.Pipeline) {
	sb := h.cfg.Environments.Sandbox
	p.Catalog, p.Database, p.Storage = sb.Catalog, sb.Schema, sb.Storage
	p.TableFormat = sb.TableFormat
}

// save writes a draft.
func (h *Handler) save(p *pipeline.Pipeline) error {
	if err := os.MkdirAll(h.dir(p.Name), 0o755); err != nil {
		return &toolcall.InfraError{Public: "the pipeline folder could not be written", Err: err}
	}
	if err := h.drafts.Save(p, h.dir(p.Name)); err != nil {
		var ps pipeline.Problems
		if errors.As(err, &ps) {
			return ps
		}
		return &toolcall.InfraError{Public: "the pipeline folder could not be written", Err: err}
	}
	return nil
}

// hash returns the draft hash.
func hash(p *pipeline.Pipeline) (string, error) {
	h, err := p.Hash()
	if err != nil {
		return "", &toolcall.InfraError{Public: "the pipeline could not be hashed", Err: err}
	}
	return h, nil
}

// updateState applies fn to a pipeline's state file under the pipeline lock.
func (h *Handler) updateState(ctx context.Context, name string, fn func(*pipeline.State)) error {
	unlock, err := h.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := pipeline.LoadState(h.dir(name))
	if err != nil {
		return &toolcall.InfraError{Public: "the pipeline state could not be read", Err: err}
	}
	fn(st)
	if err := pipeline.SaveState(h.dir(name), st); err != nil {
		return &toolcall.InfraError{Public: "the pipeline state could not be written", Err: err}
	}
	return nil
}

// pipelineNames lists the pipeline drafts in the workspace, sorted.
func (h *Handler) pipelineNames() ([]string, error) {
	entries, err := os.ReadDir(h.cfg.PipelinesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &toolcall.InfraError{Public: "the workspace could not be read", Err: err}
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && validName(e.Name()) {
			if _, err := os.Stat(filepath.Join(h.cfg.PipelinesDir(), e.Name(), pipeline.SpecFile)); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	return names, nil
}

// guardPipeline runs the SQL guard over every body of p, adding what they
// read and call to f (nil: not recorded).
func (h *Handler) guardPipeline(f *facts, p *pipeline.Pipeline) pipeline.Problems {
	var ps pipeline.Problems
	for _, d := range p.Datasets {
		if d.Query != "" {
			ps = append(ps, h.guardBody(f, p, d.Query, queryKind(d.Kind), "dataset", d.Name, "query")...)
		}
		for i, e := range d.Expectations {
			ps = append(ps, h.guardBody(f, p, e.Condition, BodyCondition, "dataset", d.Name, fmt.Sprintf("expectations[%d].condition", i))...)
		}
	}
	for _, fl := range p.Flows {
		ps = append(ps, h.guardBody(f, p, fl.Query, BodyStreamingQuery, "flow", fl.Name, "query")...)
	}
	return ps
}

// guardBody runs the guard on one body, fills in where each problem is and
// adds what the body reads and calls to the call's facts.
func (h *Handler) guardBody(f *facts, p *pipeline.Pipeline, body, kind, on, name, field string) pipeline.Problems {
	ps, bf := h.guard.CheckBody(p, body, kind)
	if f != nil {
		f.add(bf)
	}
	for i := range ps {
		if ps[i].On == "" {
			ps[i].On = on
		}
		if ps[i].Name == "" {
			ps[i].Name = name
		}
		if ps[i].Field == "" {
			ps[i].Field = field
		}
	}
	return ps
}

// checkSelection checks refresh selections against the declared datasets.
func checkSelection(p *pipeline.Pipeline, refresh, full []string, all bool) pipeline.Problems {
	var ps pipeline.Problems
	declared := map[string]bool{}
	var names []string
	for _, d := range p.Datasets {
		declared[d.Name] = true
		names = append(names, d.Name)
	}
	for _, sel := range []struct {
		field string
		names []string
	}{{"refresh", refresh}, {"full_refresh", full}} {
		for i, n := range sel.names {
			if !declared[n] {
				ps = append(ps, pipeline.Problem{On: "argument", Field: fmt.Sprintf("%s[%d]", sel.field, i), Got: n,
					Message: "no dataset of this pipeline has this name", Fix: "use one of: " + orNone(names)})
			}
		}
	}
	for i, n := range refresh {
		for _, m := range full {
			if n == m {
				ps = append(ps, pipeline.Problem{On: "argument", Field: fmt.Sprintf("refresh[%d]", i), Got: n,
					Message: "listed in both refresh and full_refresh", Fix: "list it in only one of them"})
			}
		}
	}
	if all && (len(refresh) > 0 || len(full) > 0) {
		ps = append(ps, pipeline.Problem{On: "argument", Field: "full_refresh_all", Got: "true",
			Message: "full_refresh_all already refreshes every dataset from scratch",
			Fix:     "leave refresh and full_refresh out, or set full_refresh_all to false"})
	}
	return ps
}

func validName(s string) bool { return nameRE.MatchString(s) }

// Close closes the engines that were started, when they can be closed.
func (h *Handler) Close() error {
	h.engineSem <- struct{}{}
	defer func() { <-h.engineSem }()
	var errs []error
	for name, e := range h.started {
		if l, ok := e.(limitedEngine); ok {
			e = l.e
		}
		if c, ok := e.(interface{ Close() error }); ok {
			errs = append(errs, c.Close())
		}
		delete(h.started, name)
	}
	return errors.Join(errs...)
}

// declared saves a draft after a declaration and returns what the agent is
// told about the declared element: the draft hash (also recorded in the
// audit outcome) and the element's upstreams, sources and graph warnings.
func (h *Handler) declared(c *call, p *pipeline.Pipeline, name string) (sum string, deps, sources, warnings []string, err error) {
	if err := h.save(p); err != nil {
		return "", nil, nil, nil, err
	}
	if sum, err = hash(p); err != nil {
		return "", nil, nil, nil, err
	}
	c.Outcome.PipelineHash = sum
	deps, sources, warnings = graphFacts(p, name)
	return sum, deps, sources, warnings, nil
}
