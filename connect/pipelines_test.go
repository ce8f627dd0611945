package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// fakePipelines is a scripted Spark Connect server that understands the
// pipeline commands: it answers CreateDataflowGraph with a graph id, accepts
// definitions and drops, and plays a scripted event stream for StartRun.
type fakePipelines struct {
	sparkpb.UnimplementedSparkConnectServiceServer

	version   string        // reported Spark version
	noGraphID bool          // CreateDataflowGraph answers without an id
	defineErr error         // error answering DefineSqlGraphElements
	events    []string      // messages of the StartRun event stream
	perStream int           // events sent before the server ends a stream early; 0 = all
	runErr    error         // error ending the StartRun stream instead of result_complete
	block     bool          // StartRun blocks after its events until the client goes away
	started   chan struct{} // closed when a blocking StartRun has sent its events
	cmds      []*sparkpb.PipelineCommand
	executes  []*sparkpb.ExecutePlanRequest
	reattach  []*sparkpb.ReattachExecuteRequest
	releases  []*sparkpb.ReleaseExecuteRequest
	interrupt []*sparkpb.InterruptRequest
	sessions  []*sparkpb.ReleaseSessionRequest
	mu        sync.Mutex
}

var fakeEventTime = time.Date(2026, 11, 24, 7, 6, 6, 147155041, time.UTC)

func (f *fakePipelines) AnalyzePlan(context.Context, *sparkpb.AnalyzePlanRequest) (*sparkpb.AnalyzePlanResponse, error) {
	return &sparkpb.AnalyzePlanResponse{ServerSideSessionId: "S", Result: &sparkpb.AnalyzePlanResponse_SparkVersion_{
		SparkVersion: &sparkpb.AnalyzePlanResponse_SparkVersion{Version: f.version}}}, nil
}

func (f *fakePipelines) ExecutePlan(req *sparkpb.ExecutePlanRequest, stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse]) error {
	cmd := req.GetPlan().GetCommand().GetPipelineCommand()
	f.mu.Lock()
	f.executes = append(f.executes, req)
	f.cmds = append(f.cmds, cmd)
	f.mu.Unlock()
	if cmd == nil {
		return status.Error(codes.InvalidArgument, "not a pipeline command")
	}
	opID := req.GetOperationId()
	switch {
	case cmd.GetCreateDataflowGraph() != nil && f.noGraphID:
		return f.complete(stream, opID)
	case cmd.GetDefineSqlGraphElements() != nil && f.defineErr != nil:
		return f.defineErr
	case cmd.GetCreateDataflowGraph() != nil:
		if err := stream.Send(&sparkpb.ExecutePlanResponse{ServerSideSessionId: "S", OperationId: opID, ResponseId: "r0",
			ResponseType: &sparkpb.ExecutePlanResponse_PipelineCommandResult{PipelineCommandResult: &sparkpb.PipelineCommandResult{
				ResultType: &sparkpb.PipelineCommandResult_CreateDataflowGraphResult_{CreateDataflowGraphResult: &sparkpb.PipelineCommandResult_CreateDataflowGraphResult{
					DataflowGraphId: ptr("graph-1"),
				}},
			}}}); err != nil {
			return err
		}
		return f.complete(stream, opID)
	case cmd.GetStartRun() != nil:
		return f.playRun(stream, opID, 0)
	default:
		return f.complete(stream, opID)
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fakePipelines) complete(stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse], opID string) error {
	return stream.Send(&sparkpb.ExecutePlanResponse{ServerSideSessionId: "S", OperationId: opID, ResponseId: "done",
		ResponseType: &sparkpb.ExecutePlanResponse_ResultComplete_{ResultComplete: &sparkpb.ExecutePlanResponse_ResultComplete{}}})
}

// playRun sends the scripted events from index from on, as the responses
// "e<i>", and ends the run as scripted.
func (f *fakePipelines) playRun(stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse], opID string, from int) error {
	sent := 0
	for i := from; i < len(f.events); i++ {
		if f.perStream > 0 && sent == f.perStream {
			return nil // the stream ends early, as after senderMaxStreamDuration
		}
		err := stream.Send(&sparkpb.ExecutePlanResponse{ServerSideSessionId: "S", OperationId: opID, ResponseId: fmt.Sprintf("e%d", i),
			ResponseType: &sparkpb.ExecutePlanResponse_PipelineEventResult{PipelineEventResult: &sparkpb.PipelineEventResult{
				Event: &sparkpb.PipelineEvent{Timestamp: timestamppb.New(fakeEventTime.Add(time.Duration(i) * time.Second)), Message: ptr(f.events[i])},
			}}})
		if err != nil {
			return err
		}
		sent++
	}
	if f.block {
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	if f.runErr != nil {
		return f.runErr
	}
	// Spark sends an empty command result before completing.
	if err := stream.Send(&sparkpb.ExecutePlanResponse{ServerSideSessionId: "S", OperationId: opID, ResponseId: "result",
		ResponseType: &sparkpb.ExecutePlanResponse_PipelineCommandResult{PipelineCommandResult: &sparkpb.PipelineCommandResult{}}}); err != nil {
		return err
	}
	return f.complete(stream, opID)
}

func (f *fakePipelines) ReattachExecute(req *sparkpb.ReattachExecuteRequest, stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse]) error {
	f.mu.Lock()
	f.reattach = append(f.reattach, req)
	f.mu.Unlock()
	var last int
	if _, err := fmt.Sscanf(req.GetLastResponseId(), "e%d", &last); err != nil {
		return status.Errorf(codes.InvalidArgument, "unexpected last_response_id %q", req.GetLastResponseId())
	}
	return f.playRun(stream, req.GetOperationId(), last+1)
}

func (f *fakePipelines) ReleaseExecute(_ context.Context, req *sparkpb.ReleaseExecuteRequest) (*sparkpb.ReleaseExecuteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releases = append(f.releases, req)
	return &sparkpb.ReleaseExecuteResponse{ServerSideSessionId: "S"}, nil
}

func (f *fakePipelines) Interrupt(_ context.Context, req *sparkpb.InterruptRequest) (*sparkpb.InterruptResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interrupt = append(f.interrupt, req)
	return &sparkpb.InterruptResponse{ServerSideSessionId: "S", InterruptedIds: []string{req.GetOperationId()}}, nil
}

func (f *fakePipelines) ReleaseSession(_ context.Context, req *sparkpb.ReleaseSessionRequest) (*sparkpb.ReleaseSessionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = append(f.sessions, req)
	return &sparkpb.ReleaseSessionResponse{ServerSideSessionId: "S"}, nil
}

func startPipelineFake(t *testing.T, f *fakePipelines) *Client {
	t.Helper()
	if f.version == "" {
		f.version = "4.3.0"
	}
	return dialFake(t, "sc://"+serveFake(t, f), quickRetries)
}

// sparkFailure builds the gRPC error Spark ends a failed run with.
func sparkFailure(t *testing.T, exception, class, msg string) error {
	t.Helper()
	md := map[string]string{"classes": fmt.Sprintf(`[%q]`, exception)}
	if class != "" {
		md["errorClass"] = class
	}
	st, err := status.New(codes.Internal, msg).WithDetails(&errdetails.ErrorInfo{Reason: exception, Domain: "org.apache.spark", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// Event messages as Spark 4.3.0 sends them (recorded from a real server).
const (
	evQueued    = "Flow spark_catalog.db.orders is QUEUED."
	evRunning   = "Flow spark_catalog.db.orders is RUNNING."
	evCompleted = "Flow spark_catalog.db.orders has COMPLETED."
	evRunDone   = "Run is COMPLETED."
	evResolve   = "Failed to resolve flow: 'spark_catalog.db.bad'.\nError: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name `nope` cannot be resolved. Did you mean one of the following? [`id`, `name`]. SQLSTATE: 42703; line 2 pos 39;\n'Project ['nope]\n+- SubqueryAlias spark_catalog.db.src\n"
	evUpstream  = "Failed to resolve flow due to upstream failure: 'spark_catalog.db.downstream'.\nError: Failed to read dataset 'spark_catalog.db.bad'. Dataset is defined in the pipeline but could not be resolved."
	evRace      = "Flow 'spark_catalog.db.f1' has FAILED.\nError: [STREAM_FAILED] Query [id = d2746e40, runId = 89ab22af] terminated with exception: Race while writing batch 0 to the file sink metadata log SQLSTATE: XXKST\n=== Streaming Query ==="
)

func TestPipelineCreateDefineRunDrop(t *testing.T) {
	f := &fakePipelines{events: []string{evQueued, evRunning, evCompleted, evRunDone}}
	c := startPipelineFake(t, f)
	ctx := context.Background()
	g, err := c.CreateDataflowGraph(ctx, GraphOptions{DefaultDatabase: "db", SQLConf: map[string]string{"spark.sql.shuffle.partitions": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID() != "graph-1" {
		t.Fatalf("graph id %q, want graph-1", g.ID())
	}
	if err := g.DefineSQL(ctx, "transformations/orders.sql", "CREATE MATERIALIZED VIEW orders AS SELECT 1"); err != nil {
		t.Fatal(err)
	}
	var got []PipelineEvent
	const opID = "0b4e3f58-6c47-4b8e-9d42-9c2d4f7f3a11"
	res, err := g.StartRun(ctx, RunOptions{Storage: "file:///abs/storage", Refresh: []string{"orders"}, Tags: []string{"run-1"}, OperationID: opID},
		func(ev PipelineEvent) { got = append(got, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Drop(ctx); err != nil {
		t.Fatal(err)
	}

	want := []PipelineEvent{
		{Time: fakeEventTime, Message: evQueued},
		{Time: fakeEventTime.Add(time.Second), Message: evRunning},
		{Time: fakeEventTime.Add(2 * time.Second), Message: evCompleted},
		{Time: fakeEventTime.Add(3 * time.Second), Message: evRunDone},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events passed to onEvent (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, res.Events); d != "" {
		t.Errorf("RunResult.Events (-want +got):\n%s", d)
	}
	if res.OperationID != opID || res.Duration <= 0 {
		t.Errorf("result operation %q duration %v", res.OperationID, res.Duration)
	}

	if len(f.cmds) != 4 {
		t.Fatalf("%d commands sent, want create, define, run, drop", len(f.cmds))
	}
	create := f.cmds[0].GetCreateDataflowGraph()
	if create == nil || create.DefaultCatalog != nil || create.GetDefaultDatabase() != "db" || create.GetSqlConf()["spark.sql.shuffle.partitions"] != "2" {
		t.Errorf("create %v: want no catalog (server default), database db and the SQL conf", create)
	}
	def := f.cmds[1].GetDefineSqlGraphElements()
	if def.GetDataflowGraphId() != "graph-1" || def.GetSqlFilePath() != "transformations/orders.sql" || !strings.HasPrefix(def.GetSqlText(), "CREATE MATERIALIZED VIEW") {
		t.Errorf("define %v", def)
	}
	run := f.cmds[2].GetStartRun()
	if run.GetDataflowGraphId() != "graph-1" || run.Storage == nil || run.GetStorage() != "file:///abs/storage" ||
		run.Dry == nil || run.GetDry() || run.FullRefreshAll != nil ||
		fmt.Sprint(run.GetRefreshSelection()) != "[orders]" || len(run.GetFullRefreshSelection()) != 0 {
		t.Errorf("start run %v: want graph, storage, dry=false present, no full_refresh_all, refresh [orders]", run)
	}
	if f.cmds[3].GetDropDataflowGraph().GetDataflowGraphId() != "graph-1" {
		t.Errorf("drop %v", f.cmds[3])
	}
	runReq := f.executes[2]
	if runReq.GetOperationId() != opID || fmt.Sprint(runReq.GetTags()) != "[run-1]" ||
		!runReq.GetRequestOptions()[0].GetReattachOptions().GetReattachable() {
		t.Errorf("run request: operation %q tags %v options %v; want ours, reattachable", runReq.GetOperationId(), runReq.GetTags(), runReq.GetRequestOptions())
	}
	// Every command is a released, reattachable operation.
	if len(f.releases) != 4 {
		t.Errorf("%d operations released, want 4", len(f.releases))
	}
}

func TestPipelineRunFlags(t *testing.T) {
	for _, tc := range []struct {
		opts  RunOptions
		check func(*sparkpb.PipelineCommand_StartRun) bool
	}{
		{RunOptions{Dry: true, Storage: "file:///s"}, func(r *sparkpb.PipelineCommand_StartRun) bool {
			return r.Dry != nil && r.GetDry() && r.FullRefreshAll == nil
		}},
		{RunOptions{FullRefreshAll: true, Storage: "file:///s"}, func(r *sparkpb.PipelineCommand_StartRun) bool {
			return r.FullRefreshAll != nil && r.GetFullRefreshAll() && !r.GetDry()
		}},
		{RunOptions{FullRefresh: []string{"a", "b"}, Refresh: []string{"c"}, Storage: "file:///s"}, func(r *sparkpb.PipelineCommand_StartRun) bool {
			return fmt.Sprint(r.GetFullRefreshSelection()) == "[a b]" && fmt.Sprint(r.GetRefreshSelection()) == "[c]"
		}},
	} {
		f := &fakePipelines{events: []string{evRunDone}}
		c := startPipelineFake(t, f)
		g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.StartRun(context.Background(), tc.opts, nil); err != nil {
			t.Fatal(err)
		}
		if r := f.cmds[1].GetStartRun(); !tc.check(r) {
			t.Errorf("options %+v sent as %v", tc.opts, r)
		}
	}
}

func TestPipelineRunValidation(t *testing.T) {
	f := &fakePipelines{}
	c := startPipelineFake(t, f)
	g := &Graph{c: c, id: "graph-1"}
	for _, tc := range []struct {
		opts RunOptions
		want string
	}{
		{RunOptions{}, "Storage is required"},
		{RunOptions{Storage: "  "}, "Storage is required"},
		{RunOptions{Storage: "/abs/path"}, "not an absolute URI with a scheme"},
		{RunOptions{Storage: "relative/path"}, "not an absolute URI with a scheme"},
		{RunOptions{Storage: "file:relative"}, "not an absolute URI with a scheme"},
		{RunOptions{Storage: "file:///s", FullRefreshAll: true, Refresh: []string{"a"}}, "FullRefreshAll"},
		{RunOptions{Storage: "file:///s", FullRefreshAll: true, FullRefresh: []string{"a"}}, "FullRefreshAll"},
		{RunOptions{Storage: "file:///s", Refresh: []string{"a", "b"}, FullRefresh: []string{"b", "c"}}, "both refreshed and fully refreshed: b"},
		{RunOptions{Storage: "file:///s", Refresh: []string{""}}, "Refresh contains an empty dataset name"},
		{RunOptions{Storage: "file:///s", Tags: []string{"a,b"}}, "tag"},
		{RunOptions{Storage: "file:///s", OperationID: "nope"}, "not a UUID"},
	} {
		_, err := g.StartRun(context.Background(), tc.opts, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("options %+v: got %v, want an error containing %q", tc.opts, err, tc.want)
		}
	}
	if len(f.executes) != 0 {
		t.Errorf("%d requests sent for invalid options", len(f.executes))
	}
	if g.started.Load() {
		t.Error("an invalid run used up the graph")
	}
}

func TestPipelineStorageForms(t *testing.T) {
	for _, storage := range []string{"file:///abs/storage", "file:/abs/storage", "s3a://bucket/path", "s3a://bucket", "hdfs://nn:8020/x"} {
		if err := (RunOptions{Storage: storage}).validate(); err != nil {
			t.Errorf("%s refused: %v", storage, err)
		}
	}
}

func TestPipelineGraphRunsOnce(t *testing.T) {
	f := &fakePipelines{events: []string{evRunDone}}
	c := startPipelineFake(t, f)
	g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An invalid run does not use up the graph.
	if _, err := g.StartRun(context.Background(), RunOptions{}, nil); err == nil {
		t.Fatal("run without storage accepted")
	}
	if _, err := g.StartRun(context.Background(), RunOptions{Dry: true, Storage: "file:///s"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = g.StartRun(context.Background(), RunOptions{Storage: "file:///s"}, nil)
	if !errors.Is(err, ErrGraphAlreadyRun) {
		t.Fatalf("second run: %v, want ErrGraphAlreadyRun", err)
	}
	if len(f.executes) != 2 {
		t.Errorf("%d requests, want create and one run", len(f.executes))
	}
}

func TestPipelineRunSurvivesStreamEnds(t *testing.T) {
	msgs := []string{evQueued, "Flow spark_catalog.db.orders is PLANNING.", "Flow spark_catalog.db.orders is STARTING.", evRunning, evCompleted, evRunDone}
	f := &fakePipelines{events: msgs, perStream: 2}
	c := startPipelineFake(t, f)
	g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	res, err := g.StartRun(context.Background(), RunOptions{Storage: "file:///s"}, func(ev PipelineEvent) { got = append(got, ev.Message) })
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(msgs, got); d != "" {
		t.Errorf("events across reattachments (-want +got):\n%s", d)
	}
	if len(res.Events) != len(msgs) {
		t.Errorf("%d events in the result, want %d", len(res.Events), len(msgs))
	}
	if len(f.reattach) != 2 || f.reattach[0].GetLastResponseId() != "e1" || f.reattach[0].GetOperationId() != res.OperationID {
		t.Errorf("reattaches %v: want 2, the first after e1 of the run's operation", f.reattach)
	}
}

func TestPipelineRunFailure(t *testing.T) {
	const unresolved = "Failed to resolve flows in the pipeline.\n\nA flow can fail to resolve because the flow itself contains errors or because it reads\nfrom an upstream flow which failed to resolve.\n\nFlows with errors: spark_catalog.db.bad"
	f := &fakePipelines{
		events: []string{evUpstream, evResolve},
		runErr: sparkFailure(t, "org.apache.spark.sql.pipelines.graph.UnresolvedPipelineException", "", unresolved),
	}
	c := startPipelineFake(t, f)
	g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var seen int
	_, err = g.StartRun(context.Background(), RunOptions{Dry: true, Storage: "file:///s"}, func(PipelineEvent) { seen++ })
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("got %T %v, want *RunError", err, err)
	}
	var se *SparkError
	if !errors.As(err, &se) || se != re.Err || se.ExceptionClass != "org.apache.spark.sql.pipelines.graph.UnresolvedPipelineException" {
		t.Errorf("RunError does not unwrap to the server's error: %#v", se)
	}
	if seen != 2 || len(re.Events) != 2 {
		t.Errorf("onEvent saw %d events, RunError holds %d; want 2", seen, len(re.Events))
	}
	if fmt.Sprint(re.FailedFlows) != "[spark_catalog.db.bad]" {
		t.Errorf("FailedFlows %v, want only the flow that failed by itself", re.FailedFlows)
	}
	want := []FlowFailure{
		{Flow: "spark_catalog.db.bad", ErrorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION", Message: strings.TrimSpace(strings.SplitN(evResolve, "\nError: ", 2)[1])},
		{Flow: "spark_catalog.db.downstream", Upstream: true, Message: "Failed to read dataset 'spark_catalog.db.bad'. Dataset is defined in the pipeline but could not be resolved."},
	}
	if d := cmp.Diff(want, re.Failures); d != "" {
		t.Errorf("Failures (-want +got):\n%s", d)
	}
	msg := err.Error()
	for _, s := range []string{"flow spark_catalog.db.bad: [UNRESOLVED_COLUMN.WITH_SUGGESTION]", "Failed to resolve flows in the pipeline."} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
	if strings.Contains(msg, "Project") {
		t.Errorf("message %q carries the plan; only first lines belong in it", msg)
	}
	if len(f.releases) != 2 {
		t.Errorf("%d releases, want the failed run released too", len(f.releases))
	}
}

func TestPipelineRunFailureWithClass(t *testing.T) {
	f := &fakePipelines{
		events: []string{"Flow 'spark_catalog.db.m' has FAILED.\nError: [SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED] Cannot specify both CLUSTER BY and PARTITIONED BY. SQLSTATE: 42908"},
		runErr: sparkFailure(t, "org.apache.spark.sql.AnalysisException", "SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED", "[SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED] Cannot specify both CLUSTER BY and PARTITIONED BY. SQLSTATE: 42908"),
	}
	c := startPipelineFake(t, f)
	g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.StartRun(context.Background(), RunOptions{Storage: "file:///s"}, nil)
	if !errors.Is(err, &SparkError{ErrorClass: "SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED"}) {
		t.Fatalf("got %v, want the error class to match", err)
	}
	var re *RunError
	if !errors.As(err, &re) || fmt.Sprint(re.FailedFlows) != "[spark_catalog.db.m]" {
		t.Errorf("got %v, want flow m reported", err)
	}
}

func TestPipelineCancelInterruptsRun(t *testing.T) {
	f := &fakePipelines{events: []string{evQueued, evRunning}, block: true}
	c := startPipelineFake(t, f)
	g, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen int
	_, err = g.StartRun(ctx, RunOptions{Storage: "file:///s"}, func(PipelineEvent) {
		if seen++; seen == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var re *RunError
	if errors.As(err, &re) {
		t.Errorf("a cancelled run is reported as a RunError: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	runOp := f.executes[1].GetOperationId()
	if len(f.interrupt) != 1 || f.interrupt[0].GetOperationId() != runOp {
		t.Errorf("interrupts %v, want the run's operation interrupted", f.interrupt)
	}
	if len(f.releases) != 2 || f.releases[1].GetOperationId() != runOp {
		t.Errorf("releases %v, want the run's operation released", f.releases)
	}
	if len(f.sessions) != 0 {
		t.Errorf("the session was released: %v", f.sessions)
	}
}

func TestPipelineNeedsSpark41(t *testing.T) {
	f := &fakePipelines{version: "4.0.1"}
	c := startPipelineFake(t, f)
	_, err := c.CreateDataflowGraph(context.Background(), GraphOptions{})
	if err == nil || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("got %v, want a too-old server error", err)
	}
	g := &Graph{c: c, id: "graph-1"}
	if _, err := g.StartRun(context.Background(), RunOptions{Storage: "file:///s"}, nil); err == nil {
		t.Fatal("run accepted against Spark 4.0")
	}
	if err := g.DefineSQL(context.Background(), "a.sql", "SELECT 1"); err == nil {
		t.Fatal("definition accepted against Spark 4.0")
	}
	if len(f.executes) != 0 {
		t.Errorf("%d commands sent to a 4.0 server", len(f.executes))
	}
}

func TestPipelineCreateWithoutID(t *testing.T) {
	f := &fakePipelines{noGraphID: true}
	c := startPipelineFake(t, f)
	if _, err := c.CreateDataflowGraph(context.Background(), GraphOptions{}); err == nil || !strings.Contains(err.Error(), "without a graph id") {
		t.Fatalf("got %v, want a missing graph id error", err)
	}
}

func TestPipelineDefineSQLError(t *testing.T) {
	f := &fakePipelines{defineErr: sparkFailure(t, "org.apache.spark.sql.AnalysisException", "PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR",
		"[PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR] Unsupported plan. Query defined at t/a.sql:1 SQLSTATE: 42000")}
	c := startPipelineFake(t, f)
	g := &Graph{c: c, id: "graph-1"}
	err := g.DefineSQL(context.Background(), "t/a.sql", "DROP TABLE x")
	if ErrorClassOf(err) != "PIPELINE_SQL_GRAPH_ELEMENT_REGISTRATION_ERROR" || !strings.Contains(err.Error(), "t/a.sql") {
		t.Fatalf("got %v, want the registration error naming the file", err)
	}
}

func TestPipelineEventParsing(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want FlowUpdate
		ok   bool
	}{
		{"Flow spark_catalog.db.mv is QUEUED.", FlowUpdate{Flow: "spark_catalog.db.mv", State: FlowQueued}, true},
		{"Flow spark_catalog.db.mv is PLANNING.", FlowUpdate{Flow: "spark_catalog.db.mv", State: FlowPlanning}, true},
		{"Flow spark_catalog.db.st is STARTING.", FlowUpdate{Flow: "spark_catalog.db.st", State: FlowStarting}, true},
		{"Flow spark_catalog.db.st is RUNNING.", FlowUpdate{Flow: "spark_catalog.db.st", State: FlowRunning}, true},
		{"Flow spark_catalog.db.st has COMPLETED.", FlowUpdate{Flow: "spark_catalog.db.st", State: FlowCompleted}, true},
		{"Flow 'spark_catalog.db.b' is EXCLUDED.", FlowUpdate{Flow: "spark_catalog.db.b", State: FlowExcluded}, true},
		{"Flow 'spark_catalog.db.b' has STOPPED.", FlowUpdate{Flow: "spark_catalog.db.b", State: FlowStopped}, true},
		{"Flow 'spark_catalog.db.b' is IDLE, waiting for new data.", FlowUpdate{Flow: "spark_catalog.db.b", State: FlowIdle}, true},
		{"Flow 'spark_catalog.db.b' SKIPPED due to upstream failure(s).", FlowUpdate{Flow: "spark_catalog.db.b", State: FlowSkipped, Upstream: true}, true},
		{"Flow 'spark_catalog.db.b' has been processed by a previous iteration and will not be rerun.", FlowUpdate{Flow: "spark_catalog.db.b", State: FlowSkipped}, true},
		{evUpstream, FlowUpdate{Flow: "spark_catalog.db.downstream", State: FlowFailed, Upstream: true,
			Error: "Failed to read dataset 'spark_catalog.db.bad'. Dataset is defined in the pipeline but could not be resolved."}, true},
		{evResolve, FlowUpdate{Flow: "spark_catalog.db.bad", State: FlowFailed, ErrorClass: "UNRESOLVED_COLUMN.WITH_SUGGESTION",
			Error: strings.TrimSpace(strings.SplitN(evResolve, "\nError: ", 2)[1])}, true},
		{evRace, FlowUpdate{Flow: "spark_catalog.db.f1", State: FlowFailed, ErrorClass: "STREAM_FAILED",
			Error: strings.SplitN(evRace, "\nError: ", 2)[1]}, true},
		{"Flow 'x' has FAILED.\nError: java.lang.RuntimeException: boom", FlowUpdate{Flow: "x", State: FlowFailed, Error: "java.lang.RuntimeException: boom"}, true},
		{evRunDone, FlowUpdate{}, false},
		{"something new", FlowUpdate{}, false},
	} {
		got, ok := PipelineEvent{Message: tc.msg}.FlowUpdate()
		if ok != tc.ok || got != tc.want {
			t.Errorf("%.60q: got %+v %v, want %+v %v", tc.msg, got, ok, tc.want, tc.ok)
		}
	}
	if s, ok := (PipelineEvent{Message: "Run is COMPLETED."}).RunState(); !ok || s != "COMPLETED" {
		t.Errorf("run state %q %v", s, ok)
	}
	if _, ok := (PipelineEvent{Message: evQueued}).RunState(); ok {
		t.Error("a flow event read as a run state")
	}
}

func TestFlowFailuresIgnoresRecoveredFlows(t *testing.T) {
	evs := func(msgs ...string) []PipelineEvent {
		var out []PipelineEvent
		for _, m := range msgs {
			out = append(out, PipelineEvent{Message: m})
		}
		return out
	}
	// f1 fails, is retried and completes; m fails for good after retries.
	got := FlowFailures(evs(
		"Flow spark_catalog.db.f1 is RUNNING.", evRace,
		"Flow 'spark_catalog.db.m' has FAILED.\nError: [A] first",
		"Flow spark_catalog.db.f1 is STARTING.", "Flow spark_catalog.db.f1 has COMPLETED.",
		"Flow spark_catalog.db.m is STARTING.",
		"Flow 'spark_catalog.db.m' has FAILED.\nError: [B] second",
	))
	want := []FlowFailure{{Flow: "spark_catalog.db.m", ErrorClass: "B", Message: "[B] second"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
