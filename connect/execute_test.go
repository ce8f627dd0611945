package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// fakeSpark is a scripted Spark Connect server for unit tests of the
// operation protocol: reattachment, release, interruption, session ids.
type fakeSpark struct {
	sparkpb.UnimplementedSparkConnectServiceServer

	mu          sync.Mutex
	executes    []*sparkpb.ExecutePlanRequest
	reattaches  []*sparkpb.ReattachExecuteRequest
	releases    []*sparkpb.ReleaseExecuteRequest
	interrupts  []*sparkpb.InterruptRequest
	serverSess  string
	batches     int           // total batches of one id column, value = batch index
	perStream   int           // batches sent before the server ends a stream early
	block       bool          // ExecutePlan blocks until the client goes away
	entered     chan struct{} // closed when a blocking ExecutePlan has started, if set
	cutWithCode codes.Code
}

func arrowIDs(ids ...int64) []byte {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(ids, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(ids)))
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		panic(err)
	}
	w.Close()
	return buf.Bytes()
}

// send streams batches [from, ...) and, when the script says so, the final
// result_complete.
func (f *fakeSpark) send(stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse], opID string, from int) error {
	sent := 0
	for i := from; i < f.batches; i++ {
		if f.perStream > 0 && sent == f.perStream {
			if f.cutWithCode != codes.OK {
				return status.Error(f.cutWithCode, "connection reset")
			}
			return nil // stream ends without result_complete
		}
		err := stream.Send(&sparkpb.ExecutePlanResponse{
			SessionId: "s", ServerSideSessionId: f.serverSess, OperationId: opID, ResponseId: fmt.Sprint(i),
			ResponseType: &sparkpb.ExecutePlanResponse_ArrowBatch_{ArrowBatch: &sparkpb.ExecutePlanResponse_ArrowBatch{RowCount: 1, Data: arrowIDs(int64(i))}},
		})
		if err != nil {
			return err
		}
		sent++
	}
	return stream.Send(&sparkpb.ExecutePlanResponse{
		ServerSideSessionId: f.serverSess, OperationId: opID, ResponseId: "done",
		ResponseType: &sparkpb.ExecutePlanResponse_ResultComplete_{ResultComplete: &sparkpb.ExecutePlanResponse_ResultComplete{}},
	})
}

func (f *fakeSpark) ExecutePlan(req *sparkpb.ExecutePlanRequest, stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse]) error {
	f.mu.Lock()
	f.executes = append(f.executes, req)
	block := f.block
	f.mu.Unlock()
	if block {
		if f.entered != nil {
			close(f.entered)
		}
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	return f.send(stream, req.GetOperationId(), 0)
}

func (f *fakeSpark) ReattachExecute(req *sparkpb.ReattachExecuteRequest, stream grpc.ServerStreamingServer[sparkpb.ExecutePlanResponse]) error {
	f.mu.Lock()
	f.reattaches = append(f.reattaches, req)
	f.mu.Unlock()
	var from int
	fmt.Sscan(req.GetLastResponseId(), &from)
	return f.send(stream, req.GetOperationId(), from+1)
}

func (f *fakeSpark) ReleaseExecute(_ context.Context, req *sparkpb.ReleaseExecuteRequest) (*sparkpb.ReleaseExecuteResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releases = append(f.releases, req)
	return &sparkpb.ReleaseExecuteResponse{ServerSideSessionId: f.serverSess}, nil
}

func (f *fakeSpark) Interrupt(_ context.Context, req *sparkpb.InterruptRequest) (*sparkpb.InterruptResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interrupts = append(f.interrupts, req)
	return &sparkpb.InterruptResponse{ServerSideSessionId: f.serverSess, InterruptedIds: []string{req.GetOperationId()}}, nil
}

func (f *fakeSpark) AnalyzePlan(context.Context, *sparkpb.AnalyzePlanRequest) (*sparkpb.AnalyzePlanResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &sparkpb.AnalyzePlanResponse{ServerSideSessionId: f.serverSess, Result: &sparkpb.AnalyzePlanResponse_SparkVersion_{
		SparkVersion: &sparkpb.AnalyzePlanResponse_SparkVersion{Version: "4.1.0"}}}, nil
}

func startFake(t *testing.T, f *fakeSpark) *Client {
	t.Helper()
	return dialFake(t, "sc://"+serveFake(t, f)+"/;token=t", quickRetries)
}

// quickRetries keeps retry tests fast.
var quickRetries = WithRetryPolicy(RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Multiplier: 2})

// serveFake serves a fake Spark Connect service on a loopback port until the
// test ends and returns its host:port.
func serveFake(t *testing.T, svc sparkpb.SparkConnectServiceServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sparkpb.RegisterSparkConnectServiceServer(srv, svc)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// dialFake dials url and closes the client when the test ends.
func dialFake(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := Dial(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func ids(t *testing.T, res *Result) []int64 {
	t.Helper()
	var out []int64
	for _, r := range res.Rows {
		out = append(out, r[0].(int64))
	}
	return out
}

func TestExecuteComplete(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 3}
	c := startFake(t, f)
	res, err := c.Collect(context.Background(), SQL("x"), ExecOptions{Tags: []string{"t1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(t, res)); got != "[0 1 2]" {
		t.Errorf("rows %s, want [0 1 2]", got)
	}
	if len(f.reattaches) != 0 || len(f.releases) != 1 {
		t.Errorf("reattaches %d releases %d, want 0 and 1", len(f.reattaches), len(f.releases))
	}
	req := f.executes[0]
	if req.GetOperationId() != res.OperationID || req.GetOperationId() == "" {
		t.Errorf("operation id sent %q, reported %q", req.GetOperationId(), res.OperationID)
	}
	if fmt.Sprint(req.GetTags()) != "[t1]" || !req.GetRequestOptions()[0].GetReattachOptions().GetReattachable() {
		t.Errorf("request lacks tags or reattach option: %v", req)
	}
	if f.releases[0].GetOperationId() != res.OperationID || f.releases[0].GetReleaseAll() == nil {
		t.Errorf("release %v, want release_all of the operation", f.releases[0])
	}
	if c.ServerSessionID() != "A" {
		t.Errorf("server session %q, want A", c.ServerSessionID())
	}
}

func TestExecuteReattachesAfterEarlyEnd(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 7, perStream: 2}
	c := startFake(t, f)
	res, err := c.Collect(context.Background(), SQL("x"), ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(t, res)); got != "[0 1 2 3 4 5 6]" {
		t.Errorf("rows %s", got)
	}
	if len(f.reattaches) != 3 {
		t.Fatalf("%d reattaches, want 3", len(f.reattaches))
	}
	if f.reattaches[0].GetLastResponseId() != "1" || f.reattaches[0].GetClientObservedServerSideSessionId() != "A" {
		t.Errorf("first reattach %v, want last_response_id 1 and the observed session", f.reattaches[0])
	}
}

func TestExecuteReattachesAfterTransientError(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 4, perStream: 2, cutWithCode: codes.Unavailable}
	c := startFake(t, f)
	res, err := c.Collect(context.Background(), SQL("x"), ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(t, res)); got != "[0 1 2 3]" {
		t.Errorf("rows %s", got)
	}
}

func TestExecuteDoesNotRetryOtherErrors(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 4, perStream: 1, cutWithCode: codes.Internal}
	c := startFake(t, f)
	_, err := c.Collect(context.Background(), SQL("x"), ExecOptions{})
	if err == nil {
		t.Fatal("want an error")
	}
	if len(f.reattaches) != 0 {
		t.Errorf("reattached %d times after a non-transient error", len(f.reattaches))
	}
	if len(f.releases) != 1 {
		t.Errorf("%d releases, want the failed operation released", len(f.releases))
	}
}

func TestCancelInterruptsAndReleases(t *testing.T) {
	f := &fakeSpark{serverSess: "A", block: true, entered: make(chan struct{})}
	c := startFake(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the server runs the operation, however slow the
		// machine: before that there is nothing to interrupt.
		select {
		case <-f.entered:
		case <-time.After(30 * time.Second):
		}
		cancel()
	}()
	res, err := c.Collect(ctx, SQL("x"), ExecOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v %v, want a cancellation error", res, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.interrupts) != 1 || f.interrupts[0].GetInterruptType() != sparkpb.InterruptRequest_INTERRUPT_TYPE_OPERATION_ID ||
		f.interrupts[0].GetOperationId() != f.executes[0].GetOperationId() {
		t.Errorf("interrupts %v, want one by the operation id", f.interrupts)
	}
	if len(f.releases) != 1 || f.releases[0].GetOperationId() != f.executes[0].GetOperationId() {
		t.Errorf("releases %v, want the operation released", f.releases)
	}
}

func TestServerSessionChangeReported(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 1}
	c := startFake(t, f)
	if _, err := c.SparkVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.serverSess = "B"
	f.mu.Unlock()
	_, err := c.Collect(context.Background(), SQL("x"), ExecOptions{})
	if !errors.Is(err, ErrServerRestarted) {
		t.Fatalf("got %v, want ErrServerRestarted", err)
	}
	if _, err := c.SparkVersion(context.Background()); !errors.Is(err, ErrServerRestarted) {
		t.Fatalf("analyze got %v, want ErrServerRestarted", err)
	}
}

func TestExecuteRejectsBadOptions(t *testing.T) {
	c := startFake(t, &fakeSpark{})
	for _, o := range []ExecOptions{{Tags: []string{"a,b"}}, {Tags: []string{""}}, {OperationID: "not-a-uuid"}} {
		if _, err := c.Collect(context.Background(), SQL("x"), o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := c.Collect(context.Background(), Plan{}, ExecOptions{}); err == nil {
		t.Error("zero plan accepted")
	}
}
