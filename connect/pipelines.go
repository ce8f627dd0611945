package connect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// GraphOptions are the settings a dataflow graph is created with. The server
// freezes them for the life of the graph.
type GraphOptions struct {
	// DefaultCatalog qualifies dataset names that name no catalog; ""
	// means the session's current catalog.
	DefaultCatalog string
	// DefaultDatabase qualifies dataset names that name no database; ""
	// means the session's current database.
	DefaultDatabase string
	// SQLConf is SQL configuration applied to every flow of the graph (the
	// "configuration" map of a pipeline spec).
	SQLConf map[string]string
}

// Graph is a dataflow graph held by the server in the session of the Client
// that created it; it lives until Drop or the end of that session. A graph
// runs once: see StartRun.
type Graph struct {
	c       *Client
	id      string
	started atomic.Bool
}

// ErrGraphAlreadyRun reports a second StartRun on the same graph. The server
// keeps the execution of a graph's first run, dry or not, and refuses
// another one (Spark 4.3.0 answers
// SPARK_CONNECT_ILLEGAL_STATE.EXECUTION_STATE_EXECUTE_HOLDER_ALREADY_EXISTS_GRAPH).
var ErrGraphAlreadyRun = errors.New("this dataflow graph has already been run (a dry run counts): Spark runs a graph only once, so create a new graph and define its SQL again for every run, as the spark-pipelines CLI does")

// requirePipelines checks, once per client, that the server speaks the Spark
// Declarative Pipelines protocol this package sends (Spark 4.1 or newer).
func (c *Client) requirePipelines(ctx context.Context) error {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	if !v.AtLeast(4, 1) {
		return fmt.Errorf("spark connect server %s cannot run Spark Declarative Pipelines: Spark 4.1 or newer is needed", v)
	}
	return nil
}

// pipelinePlan wraps one pipeline command into an executable plan.
func pipelinePlan(cmd *sparkpb.PipelineCommand) *sparkpb.Plan {
	return &sparkpb.Plan{OpType: &sparkpb.Plan_Command{Command: &sparkpb.Command{
		CommandType: &sparkpb.Command_PipelineCommand{PipelineCommand: cmd},
	}}}
}

func ignoreResponse(*sparkpb.ExecutePlanResponse) error { return nil }

// CreateDataflowGraph opens a new, empty dataflow graph in the client's
// session and returns a handle to it.
func (c *Client) CreateDataflowGraph(ctx context.Context, opts GraphOptions) (*Graph, error) {
	if err := c.requirePipelines(ctx); err != nil {
		return nil, err
	}
	create := &sparkpb.PipelineCommand_CreateDataflowGraph{SqlConf: opts.SQLConf}
	if opts.DefaultCatalog != "" {
		create.DefaultCatalog = &opts.DefaultCatalog
	}
	if opts.DefaultDatabase != "" {
		create.DefaultDatabase = &opts.DefaultDatabase
	}
	plan := pipelinePlan(&sparkpb.PipelineCommand{CommandType: &sparkpb.PipelineCommand_CreateDataflowGraph_{
		CreateDataflowGraph: create,
	}})
	var id string
	_, err := c.execute(ctx, plan, ExecOptions{}, func(resp *sparkpb.ExecutePlanResponse) error {
		if r := resp.GetPipelineCommandResult().GetCreateDataflowGraphResult(); r.GetDataflowGraphId() != "" {
			id = r.GetDataflowGraphId()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create dataflow graph: %w", err)
	}
	if id == "" {
		return nil, errors.New("create dataflow graph: the server answered without a graph id")
	}
	return &Graph{c: c, id: id}, nil
}

// ID is the server's identifier of the graph.
func (g *Graph) ID() string { return g.id }

// DefineSQL registers the statements of one SQL file with the graph, the way
// the spark-pipelines CLI does for each .sql file of a project: the server
// splits sqlText on ';' and registers every CREATE MATERIALIZED VIEW, CREATE
// STREAMING TABLE, CREATE FLOW, CREATE [TEMPORARY] VIEW, SET and USE
// statement; anything else is an error. Queries are only parsed here; they
// are resolved when the graph runs. filePath is never read: the server only
// quotes it in errors, so pass the file's path relative to the project.
func (g *Graph) DefineSQL(ctx context.Context, filePath, sqlText string) error {
	if err := g.c.requirePipelines(ctx); err != nil {
		return err
	}
	def := &sparkpb.PipelineCommand_DefineSqlGraphElements{DataflowGraphId: &g.id, SqlText: &sqlText}
	if filePath != "" {
		def.SqlFilePath = &filePath
	}
	plan := pipelinePlan(&sparkpb.PipelineCommand{CommandType: &sparkpb.PipelineCommand_DefineSqlGraphElements_{
		DefineSqlGraphElements: def,
	}})
	if _, err := g.c.execute(ctx, plan, ExecOptions{}, ignoreResponse); err != nil {
		if filePath == "" {
			return fmt.Errorf("define SQL graph elements: %w", err)
		}
		return fmt.Errorf("define SQL graph elements of %s: %w", filePath, err)
	}
	return nil
}

// Drop makes the server forget the graph. Tables written by its runs stay in
// the catalog, and a run in progress is not stopped.
func (g *Graph) Drop(ctx context.Context) error {
	if err := g.c.requirePipelines(ctx); err != nil {
		return err
	}
	plan := pipelinePlan(&sparkpb.PipelineCommand{CommandType: &sparkpb.PipelineCommand_DropDataflowGraph_{
		DropDataflowGraph: &sparkpb.PipelineCommand_DropDataflowGraph{DataflowGraphId: &g.id},
	}})
	if _, err := g.c.execute(ctx, plan, ExecOptions{}, ignoreResponse); err != nil {
		return fmt.Errorf("drop dataflow graph %s: %w", g.id, err)
	}
	return nil
}

// RunOptions select what a pipeline run does.
type RunOptions struct {
	// Dry resolves and validates the graph without writing anything.
	Dry bool
	// Refresh lists the datasets to update incrementally; the others are
	// left alone. With Refresh and FullRefresh both empty and
	// FullRefreshAll unset, every dataset is refreshed.
	Refresh []string
	// FullRefresh lists the datasets to recompute from scratch: their data
	// and streaming checkpoints are reset. It must not overlap Refresh.
	FullRefresh []string
	// FullRefreshAll recomputes every dataset from scratch. It excludes
	// Refresh and FullRefresh.
	FullRefreshAll bool
	// Storage is the pipeline's storage root, where streaming checkpoints
	// are kept. Required. Spark wants an absolute URI with a scheme, such
	// as "file:///abs/path/pipeline-storage", "file:/abs/path" or
	// "s3a://bucket/path"; a bare path is refused (by Spark with
	// PIPELINE_STORAGE_ROOT_INVALID, and already here).
	Storage string
	// Tags label the run's operation so that InterruptTag can find it.
	Tags []string
	// OperationID is the run's operation id (a UUID); random when empty.
	OperationID string
}

// validate checks o as the server would, before anything is sent, so that
// mistakes come back at once with a clear message.
func (o RunOptions) validate() error {
	if strings.TrimSpace(o.Storage) == "" {
		return errors.New("pipeline run: Storage is required: give the pipeline's storage root as an absolute URI, e.g. file:///abs/path/pipeline-storage (streaming checkpoints are kept there)")
	}
	// Spark refuses a storage root without a scheme, but only once the
	// run has started, and that uses up the graph.
	if u, err := url.Parse(o.Storage); err != nil || u.Scheme == "" || (u.Host == "" && !strings.HasPrefix(u.Path, "/")) {
		return fmt.Errorf("pipeline run: Storage %q is not an absolute URI with a scheme: Spark wants e.g. file:///abs/path/pipeline-storage or s3a://bucket/path", o.Storage)
	}
	for _, sel := range []struct {
		field string
		names []string
	}{{"Refresh", o.Refresh}, {"FullRefresh", o.FullRefresh}} {
		for _, n := range sel.names {
			if strings.TrimSpace(n) == "" {
				return fmt.Errorf("pipeline run: %s contains an empty dataset name", sel.field)
			}
		}
	}
	if o.FullRefreshAll && (len(o.Refresh) > 0 || len(o.FullRefresh) > 0) {
		return errors.New("pipeline run: FullRefreshAll recomputes every dataset and cannot be combined with a Refresh or FullRefresh selection")
	}
	var both []string
	for _, n := range o.Refresh {
		if slices.Contains(o.FullRefresh, n) && !slices.Contains(both, n) {
			both = append(both, n)
		}
	}
	if len(both) > 0 {
		return fmt.Errorf("pipeline run: a dataset cannot be both refreshed and fully refreshed: %s", strings.Join(both, ", "))
	}
	// execute checks these too, but only after the graph was claimed.
	if o.OperationID != "" {
		if _, err := uuid.Parse(o.OperationID); err != nil {
			return fmt.Errorf("pipeline run: operation id %q is not a UUID", o.OperationID)
		}
	}
	for _, t := range o.Tags {
		if t == "" || strings.Contains(t, ",") {
			return fmt.Errorf("pipeline run: operation tag %q is invalid: tags must be non-empty and contain no comma", t)
		}
	}
	return nil
}

// PipelineEvent is one progress message of a run. Spark sends events as
// text only; FlowUpdate and RunState read the common shapes.
type PipelineEvent struct {
	Time    time.Time
	Message string
}

// RunResult describes a run that succeeded.
type RunResult struct {
	// OperationID is the id of the run's ExecutePlan operation.
	OperationID string
	// Events are all events received, in order.
	Events []PipelineEvent
	// Duration is the wall time from sending the run to its end.
	Duration time.Duration
}

// RunError reports a run that the server ended with an error: the graph did
// not resolve or validate (in a dry run too), or a flow failed for good. It
// unwraps to the server's *SparkError.
type RunError struct {
	// Err is the error the run ended with. After a resolution failure it
	// is an UnresolvedPipelineException without an error class; the error
	// classes of the flows are then in Failures.
	Err *SparkError
	// Events are the events received before the failure, in order.
	Events []PipelineEvent
	// FailedFlows names the flows that failed by themselves (not only
	// because something upstream failed), as the server names them
	// (usually catalog.database.flow; a dataset's own flow has the
	// dataset's name). A flow that failed and then succeeded on retry is
	// not listed.
	FailedFlows []string
	// Failures details every flow whose last reported state is FAILED:
	// flows that failed by themselves first, then upstream failures.
	Failures []FlowFailure
}

// FlowFailure is the last failure the events report for one flow.
type FlowFailure struct {
	// Flow is the flow's name as the server spells it.
	Flow string
	// Upstream is true when the flow failed only because a flow it reads
	// from failed.
	Upstream bool
	// ErrorClass is Spark's error class of the failure, e.g.
	// "UNRESOLVED_COLUMN.WITH_SUGGESTION"; "" when the event names none.
	ErrorClass string
	// Message is the error text of the event (it may span several lines:
	// plans, streaming query details).
	Message string
}

// Error names the flows that failed by themselves, with the first line of
// each one's error, followed by the first line of the run's error unless it
// repeats one of those. Without such flows it is the run's error.
func (e *RunError) Error() string {
	runErr := firstLine(e.Err.Error())
	repeated := false
	var direct []string
	for _, f := range e.Failures {
		if f.Upstream {
			continue
		}
		s := "flow " + f.Flow
		if msg := firstLine(f.Message); msg != "" {
			s += ": " + msg
			repeated = repeated || msg == runErr
		}
		direct = append(direct, s)
	}
	switch {
	case len(direct) == 0:
		return "pipeline run failed: " + e.Err.Error()
	case repeated:
		return "pipeline run failed: " + strings.Join(direct, "; ")
	}
	return "pipeline run failed: " + strings.Join(direct, "; ") + " (" + runErr + ")"
}

// Unwrap returns the server's error.
func (e *RunError) Unwrap() error { return e.Err }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// StartRun runs the graph (or, with opts.Dry, only validates it) and waits
// for the run to end. Each event is passed to onEvent (when not nil) as it
// arrives, on the calling goroutine. The run is one reattachable operation,
// so it outlives the server's limit on the duration of a single response
// stream.
//
// A graph runs only once, dry or not: a second StartRun returns
// ErrGraphAlreadyRun without contacting the server.
//
// A run that the server ends with an error returns a *RunError.
//
// Cancelling ctx interrupts the run's operation and returns an error
// matching ctx's error. On Spark 4.3.0 that does not stop the flows that are
// already running: they go on and commit their writes. The pipeline stops
// when it next reports progress, so flows that had not started are skipped.
// Closing the Client (which ends the session) stops the pipeline's execution
// too, but even then a write already under way may still commit.
func (g *Graph) StartRun(ctx context.Context, opts RunOptions, onEvent func(PipelineEvent)) (*RunResult, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := g.c.requirePipelines(ctx); err != nil {
		return nil, err
	}
	if !g.started.CompareAndSwap(false, true) {
		return nil, ErrGraphAlreadyRun
	}
	run := &sparkpb.PipelineCommand_StartRun{
		DataflowGraphId:      &g.id,
		FullRefreshSelection: opts.FullRefresh,
		RefreshSelection:     opts.Refresh,
		Dry:                  &opts.Dry,
		Storage:              &opts.Storage,
	}
	if opts.FullRefreshAll {
		run.FullRefreshAll = &opts.FullRefreshAll
	}
	plan := pipelinePlan(&sparkpb.PipelineCommand{CommandType: &sparkpb.PipelineCommand_StartRun_{StartRun: run}})
	var events []PipelineEvent
	started := time.Now()
	opID, err := g.c.execute(ctx, plan, ExecOptions{OperationID: opts.OperationID, Tags: opts.Tags}, func(resp *sparkpb.ExecutePlanResponse) error {
		r := resp.GetPipelineEventResult()
		if r == nil {
			return nil
		}
		ev := PipelineEvent{Message: r.GetEvent().GetMessage()}
		if ts := r.GetEvent().GetTimestamp(); ts != nil {
			ev.Time = ts.AsTime()
		}
		events = append(events, ev)
		if onEvent != nil {
			onEvent(ev)
		}
		return nil
	})
	if err == nil {
		return &RunResult{OperationID: opID, Events: events, Duration: time.Since(started)}, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("pipeline run cancelled after %d events: %w", len(events), err)
	}
	var se *SparkError
	if errors.As(err, &se) && !errors.Is(err, ErrServerRestarted) {
		failures := FlowFailures(events)
		var direct []string
		for _, f := range failures {
			if !f.Upstream {
				direct = append(direct, f.Flow)
			}
		}
		return nil, &RunError{Err: se, Events: events, FailedFlows: direct, Failures: failures}
	}
	return nil, fmt.Errorf("pipeline run %s (%d events received): %w", opID, len(events), err)
}

// Flow states reported by pipeline events.
const (
	FlowQueued    = "QUEUED"
	FlowPlanning  = "PLANNING"
	FlowStarting  = "STARTING"
	FlowRunning   = "RUNNING"
	FlowCompleted = "COMPLETED"
	FlowFailed    = "FAILED"
	FlowSkipped   = "SKIPPED"
	FlowExcluded  = "EXCLUDED"
	FlowStopped   = "STOPPED"
	FlowIdle      = "IDLE"
)

// FlowUpdate is what one event says about one flow.
type FlowUpdate struct {
	// Flow is the flow's name as the server spells it, usually
	// catalog.database.name.
	Flow string
	// State is one of the Flow* constants.
	State string
	// Upstream is true for a flow that failed or was skipped only because
	// a flow it reads from failed.
	Upstream bool
	// ErrorClass is Spark's error class of a failure, "" if none is named.
	ErrorClass string
	// Error is the error text attached to the event, if any.
	Error string
}

// The shapes of Spark's flow and run event messages (Spark 4.1 to 4.3).
// Some quote the flow name and some do not; an error is appended after a
// line "Error: ".
var (
	resolveFailedRE = regexp.MustCompile(`^Failed to resolve flow( due to upstream failure)?: '(.+)'\.$`)
	upstreamSkipRE  = regexp.MustCompile(`^Flow '(.+)' SKIPPED due to upstream failure\(s\)\.$`)
	previousIterRE  = regexp.MustCompile(`^Flow '(.+)' has been processed by a previous iteration\b`)
	quotedFlowRE    = regexp.MustCompile(`^Flow '(.+)' (?:is|has) ([A-Z]+)\b`)
	unquotedFlowRE  = regexp.MustCompile(`^Flow (.+) (?:is|has) ([A-Z]+)\.$`)
	runStateRE      = regexp.MustCompile(`^Run is ([A-Z_]+)\.$`)
	leadingClassRE  = regexp.MustCompile(`^\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)\]`)
	errorSeparator  = "\nError: "
)

// FlowUpdate reads a flow event. ok is false for events about no flow.
func (e PipelineEvent) FlowUpdate() (u FlowUpdate, ok bool) {
	head, errText, _ := strings.Cut(e.Message, errorSeparator)
	head = strings.TrimSpace(head)
	if m := resolveFailedRE.FindStringSubmatch(head); m != nil {
		u = FlowUpdate{Flow: m[2], State: FlowFailed, Upstream: m[1] != ""}
	} else if m := upstreamSkipRE.FindStringSubmatch(head); m != nil {
		u = FlowUpdate{Flow: m[1], State: FlowSkipped, Upstream: true}
	} else if m := previousIterRE.FindStringSubmatch(head); m != nil {
		u = FlowUpdate{Flow: m[1], State: FlowSkipped}
	} else if m := quotedFlowRE.FindStringSubmatch(head); m != nil {
		u = FlowUpdate{Flow: m[1], State: m[2]}
	} else if m := unquotedFlowRE.FindStringSubmatch(head); m != nil {
		u = FlowUpdate{Flow: m[1], State: m[2]}
	} else {
		return FlowUpdate{}, false
	}
	u.Error = strings.TrimSpace(errText)
	if m := leadingClassRE.FindStringSubmatch(u.Error); m != nil {
		u.ErrorClass = m[1]
	}
	return u, true
}

// RunState reads a run-level event such as "Run is COMPLETED.". ok is false
// for other events.
func (e PipelineEvent) RunState() (state string, ok bool) {
	m := runStateRE.FindStringSubmatch(strings.TrimSpace(e.Message))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// FlowFailures returns, for every flow whose last reported state is FAILED,
// that last failure: flows that failed by themselves first, then those that
// failed because of them, each in the order reported. A flow that failed
// and then recovered (Spark retries failed flows) is not included.
func FlowFailures(events []PipelineEvent) []FlowFailure {
	last := map[string]FlowUpdate{}
	var order []string
	for _, ev := range events {
		u, ok := ev.FlowUpdate()
		if !ok {
			continue
		}
		last[u.Flow] = u
		if u.State == FlowFailed {
			order = slices.DeleteFunc(order, func(f string) bool { return f == u.Flow })
			order = append(order, u.Flow)
		}
	}
	var out []FlowFailure
	for _, f := range order {
		u := last[f]
		if u.State != FlowFailed {
			continue
		}
		out = append(out, FlowFailure{Flow: f, Upstream: u.Upstream, ErrorClass: u.ErrorClass, Message: u.Error})
	}
	// Spark reports upstream failures first; the causes matter more.
	slices.SortStableFunc(out, func(a, b FlowFailure) int {
		switch {
		case a.Upstream == b.Upstream:
			return 0
		case b.Upstream:
			return -1
		}
		return 1
	})
	return out
}
