package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/console"
)

func TestConsoleApprovals(t *testing.T) {
	ctx := context.Background()
	st, err := approval.Open(t.TempDir(), approval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	req := func(pipe string) *approval.Request {
		r, err := st.Request(ctx, approval.Subject{Pipeline: pipe, PipelineHash: strings.Repeat("a", 64),
			Target: "spark_catalog.prod", Principal: "agent"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1, r2 := req("one"), req("two")
	a := consoleApprovals{store: st, now: time.Now}
	got, err := a.Pending(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("pending = %v, %v", got, err)
	}
	if !strings.Contains(got[0].Summary, "Promote pipeline") || got[0].RequestedBy != "agent" {
		t.Errorf("pending[0] = %+v", got[0])
	}
	if err := a.Decide(ctx, r1.ID, true, "agent", ""); !errors.Is(err, console.ErrNotAllowed) {
		t.Errorf("self-approval: %v", err)
	}
	if err := a.Decide(ctx, r1.ID, true, "operator", "ok"); err != nil {
		t.Fatal(err)
	}
	if err := a.Decide(ctx, r2.ID, false, "agent", ""); err != nil {
		t.Errorf("a requester may withdraw (deny) its own request: %v", err)
	}
	if err := a.Decide(ctx, r1.ID, false, "operator", ""); !errors.Is(err, console.ErrNoApproval) {
		t.Errorf("deciding twice: %v", err)
	}
	if err := a.Decide(ctx, "ap_00000000000000000000", true, "operator", ""); !errors.Is(err, console.ErrNoApproval) {
		t.Errorf("unknown id: %v", err)
	}
	if got, _ := a.Pending(ctx); len(got) != 0 {
		t.Errorf("still pending: %+v", got)
	}
	r, _ := st.Get(ctx, r1.ID)
	if r.Status != approval.Approved || r.DecidedBy != "operator" || r.Via != "console" {
		t.Errorf("decided request = %+v", r)
	}
}
