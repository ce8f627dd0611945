package tools

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// slowEngine blocks every ListSources until release is closed (whatever its
// context says), and counts
// the calls inside it.
type slowEngine struct {
	fakeEngine
	entered chan struct{}
	release chan struct{}
	active  atomic.Int32
	peak    atomic.Int32
}

func (s *slowEngine) ListSources(ctx context.Context, pattern string) ([]engine.Source, error) {
	n := s.active.Add(1)
	defer s.active.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	s.entered <- struct{}{}
	<-s.release // deliberately ignores ctx: it holds its slot past any timeout
	return s.fakeEngine.ListSources(ctx, pattern)
}

func newSlowHandler(t *testing.T, slots int, timeout time.Duration) (*slowEngine, server.ServerTool) {
	t.Helper()
	cfg := testConfig(t, harnessOpts{})
	cfg.Limits.MaxConcurrentSparkOperations = slots
	cfg.Limits.CallTimeout = config.Duration(timeout)
	eng := &slowEngine{entered: make(chan struct{}, 64), release: make(chan struct{})}
	h, err := New(Deps{Config: cfg, Guard: denyGuard{}, Now: fixedClock(),
		Engines: func(context.Context, config.Environment) (Engine, error) { return eng, nil }})
	if err != nil {
		t.Fatal(err)
	}
	all, err := h.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.Tool.Name == "list_sources" {
			return eng, st
		}
	}
	t.Fatal("no list_sources tool")
	return nil, server.ServerTool{}
}

type limitResult struct {
	res *mcp.CallToolResult
	err error
	o   *toolcall.Outcome
}

func callListSources(st server.ServerTool) limitResult {
	o := &toolcall.Outcome{}
	req := mcp.CallToolRequest{}
	req.Params.Name = "list_sources"
	res, err := st.Handler(toolcall.WithOutcome(context.Background(), o), req)
	return limitResult{res, err, o}
}

// startCalls starts n calls and waits until all of them are inside the engine.
func startCalls(t *testing.T, eng *slowEngine, st server.ServerTool, n int, out chan<- limitResult, wg *sync.WaitGroup) {
	t.Helper()
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); out <- callListSources(st) }()
	}
	for range n {
		select {
		case <-eng.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the first calls did not reach the engine")
		}
	}
}

func TestConcurrencyLimitWaitsThenProceeds(t *testing.T) {
	const slots = 3
	eng, st := newSlowHandler(t, slots, time.Minute)
	results := make(chan limitResult, slots+1)
	var wg sync.WaitGroup
	startCalls(t, eng, st, slots, results, &wg)

	wg.Add(1)
	go func() { defer wg.Done(); results <- callListSources(st) }()
	select {
	case <-eng.entered:
		t.Fatal("the extra call reached the engine while every slot was taken")
	case <-time.After(150 * time.Millisecond):
	}

	close(eng.release) // the first calls finish; the extra one gets a slot
	select {
	case <-eng.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the extra call never reached the engine")
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || r.res.IsError {
			t.Errorf("call failed: %v %v", r.err, resultText(r.res))
		}
	}
	if p := eng.peak.Load(); p != slots {
		t.Errorf("peak concurrent engine calls = %d, want %d", p, slots)
	}
}

func TestConcurrencyLimitTimesOut(t *testing.T) {
	const slots = 2
	eng, st := newSlowHandler(t, slots, 200*time.Millisecond)
	results := make(chan limitResult, slots)
	var wg sync.WaitGroup
	startCalls(t, eng, st, slots, results, &wg)

	// The first calls hold their slots past the timeout of the extra one.
	r := callListSources(st)
	close(eng.release)
	wg.Wait()
	if r.err != nil {
		t.Fatalf("want a tool error, got %v", r.err)
	}
	const want = "the server is busy with 2 Spark operations; retry shortly"
	if !r.res.IsError || resultText(r.res) != want {
		t.Errorf("result = %v %q, want tool error %q", r.res.IsError, resultText(r.res), want)
	}
	if r.o.Decision != audit.Failed || len(r.o.Rules) != 1 || r.o.Rules[0] != RuleConcurrency || r.o.Summary != want {
		t.Errorf("outcome = %+v", r.o)
	}
	if p := eng.peak.Load(); p != slots {
		t.Errorf("peak = %d, want %d", p, slots)
	}
}

func TestConcurrencyLimitCancelled(t *testing.T) {
	h := &Handler{sparkSem: make(chan struct{}, 1)}
	release, err := h.acquireSpark(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.acquireSpark(ctx); err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
