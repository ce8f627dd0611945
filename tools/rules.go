package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/policy"
)

// facts are what the policy's rules see of a call, gathered as the tool
// checks it.
type facts struct {
	pipeline, kind, env string
	limit               int64
	reads, functions    []string
}

func (f *facts) add(b BodyFacts) {
	f.reads = append(f.reads, b.Reads...)
	f.functions = append(f.functions, b.Functions...)
}

func (f *facts) request(tool string) policy.Request {
	env := f.env
	if env == "" {
		env = config.Sandbox
	}
	return policy.Request{Tool: tool, Pipeline: f.pipeline, Kind: f.kind, Reads: sortedSet(f.reads),
		Functions: sortedSet(f.functions), Limit: f.limit, Env: env}
}

func sortedSet(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		out = append(out, strings.ToLower(v))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// applyRules evaluates the policy's rules on the call's facts, once, before
// the call has any effect. Deny rules refuse the call; warn rules add a
// warning to its result; every rule that matched is recorded in the audit
// log.
func (h *Handler) applyRules(ctx context.Context, c *call) error {
	if c.rulesDone {
		return nil
	}
	c.rulesDone = true
	if err := h.checkPrincipal(ctx, c); err != nil {
		return err
	}
	ds := h.policy.RuleSet().Evaluate(ctx, c.facts.request(c.req.Params.Name))
	var denied []string
	for _, d := range ds {
		c.rules = append(c.rules, d.Rule)
		switch d.Action {
		case policy.ActionDeny:
			denied = append(denied, d.Rule+": "+d.Message)
		case policy.ActionWarn:
			c.warnings = append(c.warnings, d.Rule+": "+d.Message)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return &toolError{decision: audit.Denied, rule: policy.Denied(ds)[0].Rule,
		msg: c.req.Params.Name + " was refused by the server's policy and changed nothing:\n- " + strings.Join(denied, "\n- ")}
}

// withWarnings adds the policy's warnings to a successful result, after the
// structured content's JSON text.
func withWarnings(res *mcp.CallToolResult, warnings []string) *mcp.CallToolResult {
	for _, w := range warnings {
		res.Content = append(res.Content, mcp.NewTextContent("policy warning: "+w))
	}
	return res
}

// checkProtected refuses a full refresh of a dataset the policy protects.
func (h *Handler) checkProtected(p *pipeline.Pipeline, full []string, all bool) pipeline.Problems {
	var ps pipeline.Problems
	if all {
		for _, d := range p.Datasets {
			if g := h.policy.Protected(p.Name, d.Name); g != "" {
				ps = append(ps, pipeline.Problem{On: "argument", Field: "full_refresh_all", Got: "true",
					Message: fmt.Sprintf("dataset %s is protected from full refresh by the policy (full_refresh_protected: %s)", d.Name, g),
					Fix:     "refresh without full_refresh_all; list in full_refresh only datasets that are not protected"})
			}
		}
	}
	for i, n := range full {
		if g := h.policy.Protected(p.Name, n); g != "" {
			ps = append(ps, pipeline.Problem{On: "argument", Field: fmt.Sprintf("full_refresh[%d]", i), Got: n,
				Message: fmt.Sprintf("dataset %s is protected from full refresh by the policy (full_refresh_protected: %s)", n, g),
				Fix:     "remove it from full_refresh; a normal refresh (refresh, or no selection) updates it incrementally"})
		}
	}
	return ps
}

// checkDatasetCap refuses a declaration that would take p over the
// policy's max_datasets_per_pipeline.
func (h *Handler) checkDatasetCap(p *pipeline.Pipeline, name string) pipeline.Problems {
	limit := h.cfg.Limits.MaxDatasetsPerPipeline
	if limit <= 0 {
		return nil
	}
	n := len(p.Datasets) + len(p.Flows)
	if _, ok := p.Dataset(name); ok {
		return nil
	}
	if _, ok := p.Flow(name); ok {
		return nil
	}
	if n < limit {
		return nil
	}
	return pipeline.Problems{{On: "pipeline", Name: p.Name, Field: "datasets", Got: fmt.Sprint(n),
		Message: fmt.Sprintf("the pipeline already has %d datasets and flows, the most the policy allows (limits.max_datasets_per_pipeline)", n),
		Fix:     "remove datasets you no longer need (remove_dataset) or split the work into another pipeline"}}
}
