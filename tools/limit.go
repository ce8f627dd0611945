package tools

import (
	"context"
	"fmt"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// RuleConcurrency is the audit rule of a call that gave up waiting for a
// free Spark operation slot.
const RuleConcurrency = "limit.concurrency"

// acquireSpark takes one of the server's Spark operation slots
// (limits.max_concurrent_spark_operations), waiting while all are in use
// for as long as ctx (the call's context, with its timeout) allows.
func (h *Handler) acquireSpark(ctx context.Context) (release func(), err error) {
	select {
	case h.sparkSem <- struct{}{}:
		return func() { <-h.sparkSem }, nil
	default:
	}
	select {
	case h.sparkSem <- struct{}{}:
		return func() { <-h.sparkSem }, nil
	case <-ctx.Done():
		if ctx.Err() == context.Canceled {
			return nil, ctx.Err() // reported as cancelled, not as busy
		}
		msg := fmt.Sprintf("the server is busy with %d Spark operations; retry shortly", cap(h.sparkSem))
		return nil, &toolcall.ToolError{Decision: audit.Failed, Rule: RuleConcurrency, Msg: msg}
	}
}

// limitedEngine runs every engine call under a Spark operation slot.
type limitedEngine struct {
	h *Handler
	e Engine
}

var _ Engine = limitedEngine{}

func (l limitedEngine) ListSources(ctx context.Context, pattern string) ([]engine.Source, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.ListSources(ctx, pattern)
}

func (l limitedEngine) DescribeSource(ctx context.Context, name string) (*engine.Source, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.DescribeSource(ctx, name)
}

func (l limitedEngine) Preview(ctx context.Context, p *pipeline.Pipeline, req engine.PreviewRequest) (*engine.PreviewResult, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.Preview(ctx, p, req)
}

func (l limitedEngine) Validate(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.Validate(ctx, p)
}

func (l limitedEngine) ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.ValidateFull(ctx, p)
}

func (l limitedEngine) Run(ctx context.Context, p *pipeline.Pipeline, opts engine.RunOptions, progress func(engine.Progress)) (*engine.RunResult, error) {
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return l.e.Run(ctx, p, opts, progress)
}
