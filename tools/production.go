package tools

import (
	"context"
	"fmt"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// toProduction is what plan_promotion and promote share before they reach
// production: the mode and the configuration allow it, the draft is the one
// whose hash the agent names and that last validated, every body still
// passes the guard, the refresh selection names declared datasets, and the
// policy's rules allow the call. extra adds the tool's own problems to the
// same list, so the agent sees every problem at once. It returns the draft
// bound to production (the hash leaves the environment out, so it still
// identifies what was validated) and that hash.
func (h *Handler) toProduction(ctx context.Context, c *call, tool, name, wantHash string,
	refresh, full []string, all bool, extra func(*pipeline.Pipeline) pipeline.Problems,
) (*pipeline.Pipeline, string, error) {
	prod := h.cfg.Environments.Production
	switch {
	case h.cfg.Mode.SandboxOnly || h.cfg.Mode.ReadOnly:
		return nil, "", &toolcall.ToolError{Decision: audit.Denied, Rule: "mode",
			Msg: tool + " is not available: this server runs in a mode that never contacts production"}
	case prod == nil:
		return nil, "", &toolcall.ToolError{Decision: audit.Denied, Rule: "promote.no_production",
			Msg: tool + " is not available: this server has no production environment configured; ask its operator"}
	}
	p, st, err := h.loadWithState(ctx, name)
	if err != nil {
		return nil, "", err
	}
	sum, err := hash(p)
	if err != nil {
		return nil, "", err
	}
	c.Outcome.PipelineHash, c.Outcome.Environment = sum, config.Production
	if err := st.CheckPromotable(wantHash, sum); err != nil {
		return nil, "", err
	}
	ps := h.guardPipeline(&c.facts, p)
	ps = append(ps, checkSelection(p, refresh, full, all)...)
	if extra != nil {
		ps = append(ps, extra(p)...)
	}
	if len(ps) > 0 {
		return nil, "", ps
	}
	c.facts.env = config.Production
	if err := h.applyRules(ctx, c); err != nil {
		return nil, "", err
	}
	pp := p.Clone()
	pp.Catalog, pp.Database, pp.Storage = prod.Catalog, prod.Schema, prod.Storage
	if ph, err := hash(pp); err != nil || ph != sum {
		return nil, "", &toolcall.InfraError{Public: "the production draft does not match the validated one",
			Err: fmt.Errorf("hash %s vs %s: %v", ph, sum, err)}
	}
	return pp, sum, nil
}
