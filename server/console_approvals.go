package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/console"
)

// consoleApprovals shows the approval store's pending requests in the web
// console and records a signed-in person's decision (via "console").
type consoleApprovals struct {
	store *approval.Store
	now   func() time.Time
}

func (a consoleApprovals) Pending(ctx context.Context) ([]console.Approval, error) {
	rs, err := a.store.List(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var out []console.Approval
	for _, r := range rs {
		if r.Effective(now) != approval.Pending {
			continue
		}
		by := r.Principal
		if r.Conversation != "" {
			by += " (conversation " + r.Conversation + ")"
		}
		out = append(out, console.Approval{ID: r.ID, Pipeline: r.Pipeline, PipelineHash: r.PipelineHash,
			RequestedBy: by, RequestedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Summary: r.Describe()})
	}
	return out, nil
}

// Decide approves or denies one pending request. Nobody approves their own
// promotion: a principal that asked for it cannot grant it here (an agent
// holding the same token could otherwise sign in and approve itself).
func (a consoleApprovals) Decide(ctx context.Context, id string, approve bool, principal, _ string) error {
	r, err := a.store.Get(ctx, id)
	if err != nil {
		return mapApprovalErr(err)
	}
	if approve && r.Principal != "" && strings.EqualFold(r.Principal, principal) {
		return fmt.Errorf("%w: this promotion was requested by %s, the principal you signed in as; "+
			"sign in with another client's token, or run `sdp-mcp approve %s` on the server's machine",
			console.ErrNotAllowed, principal, id)
	}
	if approve {
		_, err = a.store.Approve(ctx, id, principal, "console")
	} else {
		_, err = a.store.Deny(ctx, id, principal, "console")
	}
	return mapApprovalErr(err)
}

func mapApprovalErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, approval.ErrNotFound), errors.Is(err, approval.ErrDecided), errors.Is(err, approval.ErrExpired):
		return fmt.Errorf("%w: %w", console.ErrNoApproval, err)
	}
	return err
}
