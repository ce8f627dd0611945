package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
)

// Rules of the policy's per-principal narrowing, as recorded in the audit
// log.
const (
	rulePrincipalSources = "policy.principal.sources"
	rulePrincipalLimits  = "policy.principal.limits"
)

// checkPrincipal applies the policy's narrowing for the principal of the
// call (principals: NAME: …): the sources it may read and its preview row
// limit. The tool switches and the rate are applied by the server.
func (h *Handler) checkPrincipal(ctx context.Context, c *call) error {
	who, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	pr := h.policy.ForPrincipal(who.Name)
	if pr == nil {
		return nil
	}
	env := c.facts.env
	if env == "" {
		env = config.Sandbox
	}
	own := h.ownSchema(env)
	var refused []string
	var globs []string
	for _, r := range c.facts.reads {
		if own != "" && strings.HasPrefix(strings.ToLower(r), own) {
			continue // the pipeline's own datasets
		}
		ok, g := h.policy.SourceAllowed(who.Name, env, r)
		if !ok {
			refused, globs = append(refused, r), g
		}
	}
	if len(refused) > 0 {
		return &toolError{decision: audit.Denied, rule: rulePrincipalSources,
			msg: fmt.Sprintf("%s was refused and changed nothing: %s may read only %s in %s; it reads %s. Use only those sources",
				c.req.Params.Name, who.Name, strings.Join(globs, ", "), env, strings.Join(refused, ", "))}
	}
	if max := pr.Limits.PreviewRowsMax; max > 0 && c.req.Params.Name == "preview" {
		limit := c.facts.limit
		if limit == 0 {
			limit = int64(h.cfg.Limits.PreviewRowsDefault)
		}
		if limit > int64(max) {
			return &toolError{decision: audit.Denied, rule: rulePrincipalLimits,
				msg: fmt.Sprintf("preview was refused: %s may preview at most %d rows; pass \"limit\": %d or less", who.Name, max, max)}
		}
	}
	return nil
}

// ownSchema is "catalog.schema." of the environment's datasets, lower
// case, or "".
func (h *Handler) ownSchema(env string) string {
	e := &h.cfg.Environments.Sandbox
	if env == config.Production {
		e = h.cfg.Environments.Production
	}
	if e == nil || e.Catalog == "" || e.Schema == "" {
		return ""
	}
	return strings.ToLower(e.Catalog + "." + e.Schema + ".")
}

// sourceVisible reports whether the principal of the call may read the
// source name (catalog.schema.table) in env, and the principal's globs
// for messages. Without a principal or a narrowing every source the
// engine shows is visible.
func (h *Handler) sourceVisible(ctx context.Context, env, name string) (bool, []string) {
	who, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return true, nil
	}
	return h.policy.SourceAllowed(who.Name, env, name)
}
