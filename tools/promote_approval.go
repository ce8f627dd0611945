package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// approvalInput is the id of the question promote asks the person through
// their client (elicitation, or an input-required round on 2026-07-28).
const approvalInput = "approve_promotion"

// Approval rules, as recorded in the audit log.
const (
	ruleApprovalRequired = "promote.approval_required"
	ruleApprovalAsked    = "promote.approval_asked"
	ruleApprovalDenied   = "promote.approval_denied"
	ruleApprovalBad      = "promote.approval_invalid"
	ruleApproved         = "promote.approved"
)

// inputRequired is a result asking the client to put a question to its
// user; the call has had no effect.
type inputRequired struct{ result *mcp.CallToolResult }

func (e *inputRequired) Error() string { return "input required" }

// approve decides whether the promotion of p may run now: with an approval
// a person already gave out of band (used once), with the person's answer
// to the question asked through their client, by asking that question, or
// not at all — then the agent is told the approval id to pass on. It
// returns nil when the promotion may run.
func (h *Handler) approve(ctx context.Context, c *call, p *pipeline.Pipeline, in promoteInput, target string, plan *engine.PromotionPlan) error {
	who, _ := auth.PrincipalFrom(ctx)
	subj := approval.Subject{Pipeline: in.Pipeline, PipelineHash: c.outcome.PipelineHash, Target: target,
		Principal: who.Name, Options: runOptions(in)}
	var planJSON json.RawMessage
	planText := ""
	if plan != nil {
		planJSON, _ = json.Marshal(planOut(plan))
		planText = plan.Text()
	}
	fill := func(r *approval.Request) {
		r.Conversation = auth.ConversationFrom(ctx)
		r.Datasets = promotedDatasets(p, target, in)
		r.Plan, r.PlanText = planJSON, planText
	}

	used, err := h.approvals.Use(ctx, subj)
	if err != nil {
		return &InfraError{Public: "the approvals could not be read", Err: err}
	}
	if used != nil {
		c.rules = append(c.rules, ruleApproved)
		c.approvalID = used.ID
		return nil
	}

	// The person's answer, when the client asked them.
	if ans := server.ElicitationResponse(c.req.Params.InputResponses, approvalInput); ans != nil {
		st, err := h.approvals.Unseal(c.req.Params.RequestState, subj)
		if err != nil {
			return &toolError{decision: audit.Denied, rule: ruleApprovalBad,
				msg: "promote was refused: " + err.Error() + "; call promote again to ask for a fresh approval"}
		}
		if ans.Action == mcp.ElicitationResponseActionAccept && approvedInForm(ans.Content) {
			r, err := h.approvals.GrantInline(ctx, st.ID, subj, who.Name, fill)
			if errors.Is(err, approval.ErrDecided) {
				return &toolError{decision: audit.Denied, rule: ruleApprovalBad,
					msg: "promote was refused: this answer was already used; call promote again to ask for a fresh approval"}
			}
			if err != nil {
				return &InfraError{Public: "the approval could not be recorded", Err: err}
			}
			c.rules = append(c.rules, ruleApproved)
			c.approvalID = r.ID
			return nil
		}
		r, err := h.approvals.DenyInline(ctx, st.ID, subj, who.Name, fill)
		if err != nil && !errors.Is(err, approval.ErrDecided) {
			return &InfraError{Public: "the refusal could not be recorded", Err: err}
		}
		id := st.ID
		if r != nil {
			id = r.ID
		}
		return &toolError{decision: audit.Denied, rule: ruleApprovalDenied,
			msg: fmt.Sprintf("promote was refused: the person declined the promotion (approval %s); nothing ran in production. Do not retry unless they ask you to", id)}
	}

	if canElicit(ctx) {
		st := h.approvals.NewState(subj)
		sealed, err := h.approvals.Seal(st)
		if err != nil {
			return &InfraError{Public: "the approval question could not be prepared", Err: err}
		}
		preview := &approval.Request{ID: st.ID, Subject: subj, ExpiresAt: st.Expires}
		fill(preview)
		msg := "An agent asks to run this in PRODUCTION. Approve only if you expect exactly this change.\n\n" + preview.Describe()
		params := mcp.ElicitationParams{Mode: mcp.ElicitationModeForm, Message: msg,
			RequestedSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"approve": map[string]any{"type": "boolean", "title": "Approve this promotion",
						"description": "Run pipeline " + in.Pipeline + " in production " + target},
				},
				"required": []string{"approve"},
			}}
		c.rules = append(c.rules, ruleApprovalAsked)
		c.summary = "asked the person to approve the promotion of " + in.Pipeline
		return &inputRequired{result: server.NewInputRequestBuilder(sealed).Elicit(approvalInput, params).ToolResult()}
	}

	if d, err := h.approvals.Decided(ctx, subj); err != nil {
		return &InfraError{Public: "the approvals could not be read", Err: err}
	} else if d != nil {
		return &toolError{decision: audit.Denied, rule: ruleApprovalDenied,
			msg: fmt.Sprintf("promote was refused: %s denied this promotion (approval %s); nothing ran in production. Do not retry unless the person asks you to; a changed draft needs validate and a new approval", d.DecidedBy, d.ID)}
	}
	r, err := h.approvals.Request(ctx, subj, fill)
	if err != nil {
		return &InfraError{Public: "the approval request could not be recorded", Err: err}
	}
	msg := approvalRequiredMessage(r)
	if h.cfg.Transport == config.TransportHTTP {
		msg = strings.Replace(msg, "\nOnce they have approved it", "\nOr they approve it in this server's web console, at /ui/approvals (signed in with a token other than yours)."+
			"\nOnce they have approved it", 1)
	}
	return &toolError{decision: audit.Pending, rule: ruleApprovalRequired, msg: msg}
}

// approvalRequiredMessage tells the agent what to tell the person.
func approvalRequiredMessage(r *approval.Request) string {
	return fmt.Sprintf(`approval_required: a person must approve this promotion before it runs; nothing ran in production.
Approval id: %s (expires %s).
Tell the person: on the server's machine, review it with "sdp-mcp approvals show %s", then run "sdp-mcp approve %s" (or "sdp-mcp deny %s").
Once they have approved it, call promote again with the same arguments.

%s`, r.ID, r.ExpiresAt.UTC().Format(time.RFC3339), r.ID, r.ID, r.ID, r.Describe())
}

// approvedInForm reports whether the form the person submitted says yes.
func approvedInForm(content any) bool {
	m, ok := content.(map[string]any)
	if !ok {
		return false
	}
	v, ok := m["approve"].(bool)
	return ok && v
}

// canElicit reports whether the client of this call can ask its user: it
// declared the elicitation capability, on this request (2026-07-28) or at
// initialize (earlier versions, where mcp-go bridges the question).
func canElicit(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Elicitation != nil
	}
	if sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok && sess != nil {
		return sess.GetClientCapabilities().Elicitation != nil
	}
	return false
}

// runOptions is the canonical text of the refresh options (part of what
// is approved).
func runOptions(in promoteInput) string {
	var parts []string
	if in.FullRefreshAll {
		parts = append(parts, "full_refresh_all")
	}
	if len(in.FullRefresh) > 0 {
		fr := slices.Sorted(slices.Values(in.FullRefresh))
		parts = append(parts, "full_refresh="+strings.Join(fr, ","))
	}
	if len(in.Refresh) > 0 {
		r := slices.Sorted(slices.Values(in.Refresh))
		parts = append(parts, "refresh="+strings.Join(r, ","))
	}
	return strings.Join(parts, " ")
}

// promotedDatasets are the production datasets the promotion writes.
func promotedDatasets(p *pipeline.Pipeline, target string, in promoteInput) []approval.Dataset {
	var out []approval.Dataset
	for _, d := range p.Datasets {
		if d.Kind == pipeline.TemporaryView {
			continue
		}
		if len(in.Refresh) > 0 && !slices.Contains(in.Refresh, d.Name) && !slices.Contains(in.FullRefresh, d.Name) {
			continue
		}
		out = append(out, approval.Dataset{Name: target + "." + d.Name, Kind: string(d.Kind),
			FullRefresh: in.FullRefreshAll || slices.Contains(in.FullRefresh, d.Name)})
	}
	return out
}

// SetApprovals replaces the approval store (tests: a store with another
// clock).
func (h *Handler) SetApprovals(s *approval.Store) { h.approvals = s }
