package server

import (
	"context"
	"errors"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/console"
)

// consoleApprovals gives the web console the pending promotion approvals
// and lets a signed-in person decide them.
type consoleApprovals struct{ store *approval.Store }

func (c consoleApprovals) Pending(ctx context.Context) ([]console.Approval, error) {
	rs, err := c.store.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []console.Approval
	for _, r := range rs {
		if r.Status != approval.Pending {
			continue
		}
		out = append(out, console.Approval{ID: r.ID, Pipeline: r.Pipeline, PipelineHash: r.PipelineHash,
			RequestedBy: r.Principal, RequestedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Summary: r.Describe()})
	}
	return out, nil
}

func (c consoleApprovals) Decide(ctx context.Context, id string, approve bool, principal, _ string) error {
	decide := c.store.Deny
	if approve {
		decide = c.store.Approve
	}
	_, err := decide(ctx, id, principal, "console")
	if errors.Is(err, approval.ErrNotFound) || errors.Is(err, approval.ErrDecided) || errors.Is(err, approval.ErrExpired) {
		return console.ErrNoApproval
	}
	return err
}
