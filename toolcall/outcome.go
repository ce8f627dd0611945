package toolcall

import (
	"context"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// Outcome is what the server's audit layer learns about one call. The
// server puts a fresh Outcome in the call's context ([WithOutcome]) and
// reads it when the call returns; the call path and the tools fill it in.
type Outcome struct {
	// Allow, when set, is called once the arguments are valid and before the
	// tool has any effect. An error stops the call: the server could not
	// record that it is about to run.
	Allow func(ctx context.Context) error
	// Decision is what happened: rejected, denied, failed or ok.
	Decision audit.Decision
	// Rules are the ids of the checks that decided.
	Rules []string
	// Summary describes the result in one line.
	Summary string
	// PipelineHash is the hash of the draft the call saw or left.
	PipelineHash string
	// Environment is sandbox or production when an engine was used.
	Environment string
	// Effect says what a completed call changed ("the declaration was
	// saved"); empty for tools that change nothing. The server tells the
	// agent when the call's outcome could not be audited.
	Effect string
}

type outcomeKey struct{}

// WithOutcome returns ctx carrying o.
func WithOutcome(ctx context.Context, o *Outcome) context.Context {
	return context.WithValue(ctx, outcomeKey{}, o)
}

// OutcomeFrom returns the Outcome ctx carries, or a fresh one that nobody
// reads when it carries none.
func OutcomeFrom(ctx context.Context) *Outcome {
	if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok && o != nil {
		return o
	}
	return &Outcome{}
}
