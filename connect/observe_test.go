package connect

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

func TestRequestObserverSeesUnaryAndStreamRequests(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 2}
	addr := serveFake(t, f)

	type seen struct {
		method string
		req    proto.Message
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	c := dialFake(t, "sc://"+addr+"/;token=t", quickRetries,
		WithRequestObserver(func(method string, req proto.Message) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, seen{method, proto.Clone(req)})
		}))

	ctx := context.Background()
	if _, err := c.Collect(ctx, SQL("SELECT 'observed-marker'"), ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InterruptOperation(ctx, "11111111-1111-1111-1111-111111111111"); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	var exec *sparkpb.ExecutePlanRequest
	var interrupt, release bool
	for _, s := range got {
		switch r := s.req.(type) {
		case *sparkpb.ExecutePlanRequest:
			if s.method != sparkpb.SparkConnectService_ExecutePlan_FullMethodName {
				t.Errorf("ExecutePlanRequest observed under method %q", s.method)
			}
			exec = r
		case *sparkpb.InterruptRequest:
			interrupt = r.GetOperationId() == "11111111-1111-1111-1111-111111111111" &&
				s.method == sparkpb.SparkConnectService_Interrupt_FullMethodName
		case *sparkpb.ReleaseExecuteRequest:
			release = true
		}
	}
	if exec == nil || exec.GetPlan().GetRoot().GetSql().GetQuery() != "SELECT 'observed-marker'" {
		t.Errorf("the ExecutePlan stream request was not observed as sent: %v", got)
	}
	if !interrupt {
		t.Errorf("the Interrupt unary request was not observed: %v", got)
	}
	if !release {
		t.Errorf("the ReleaseExecute unary request was not observed: %v", got)
	}
	// The observer sees exactly what the server received.
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.executes) != 1 || !proto.Equal(f.executes[0], exec) {
		t.Errorf("server received %v, observer saw %v", f.executes, exec)
	}
}

func TestRequestObserverNilIsNoop(t *testing.T) {
	f := &fakeSpark{serverSess: "A", batches: 1}
	c := dialFake(t, "sc://"+serveFake(t, f)+"/;token=t", WithRequestObserver(nil))
	if _, err := c.Collect(context.Background(), SQL("x"), ExecOptions{}); err != nil {
		t.Fatal(err)
	}
}
