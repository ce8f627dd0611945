package tools

import (
	"context"
	"errors"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

const promoteDescription = `Run a validated pipeline draft in production.

Promotes exactly the draft that the latest successful validate checked: pass the pipeline_hash
validate returned. It is refused when the hash does not match, when the draft changed after
that validation, or when the validation found problems — validate again, then promote the new
hash. It is refused when production's Spark minor version or table format differs from the
sandbox's (unless the policy only warns). The server first checks that every source table the
pipeline reads exists in production with the columns it has in the sandbox (every gap is
reported at once), then does a dry-run on the production engine (nothing is written if either
fails), computes the promotion plan (as plan_promotion shows it; returned in the result), then
runs the pipeline there with the same refresh options as run. Datasets are created in the production catalog and schema of the server's configuration. The promotion is
recorded with its result.

This changes production tables. Full refreshes recompute tables from scratch; use them only
when asked to.

Example:
{"pipeline": "sales", "pipeline_hash": "3f1c…(64 hex characters from validate)"}`

type promoteInput struct {
	Pipeline       string   `json:"pipeline" schema:"pattern=name" desc:"Pipeline to promote."`
	PipelineHash   string   `json:"pipeline_hash" schema:"pattern=hash" desc:"The pipeline_hash returned by the latest successful validate of the current draft."`
	Refresh        []string `json:"refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Refresh only these datasets (incrementally)."`
	FullRefresh    []string `json:"full_refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Recompute these datasets from scratch."`
	FullRefreshAll bool     `json:"full_refresh_all,omitempty" desc:"Recompute every dataset from scratch."`
}

type promoteOutput struct {
	OK           bool               `json:"ok" desc:"True when every selected dataset completed in production."`
	PipelineHash string             `json:"pipeline_hash" desc:"Hash of the draft that was promoted."`
	Environment  string             `json:"environment" desc:"Always production."`
	Target       string             `json:"target" desc:"The production catalog.schema the datasets live in."`
	Datasets     []datasetRunOutput `json:"datasets"`
	Failure      *failureOutput     `json:"failure,omitempty" desc:"Why the production run failed, when it did."`
	DurationMS   int64              `json:"duration_ms"`
	Plan         *planOutput        `json:"plan,omitempty" desc:"What the promotion was planned to do, computed right before it ran (as plan_promotion shows it)."`
}

func (h *Handler) promoteTool() (server.ServerTool, error) {
	return define(h, meta{name: Promote, title: "Promote to production",
		description: promoteDescription,
		readOnly:    false, destructive: true, idempotent: false, openWorld: true, long: true, bodies: true,
		effect: "the pipeline was promoted to production",
	}, h.promote)
}

func (h *Handler) promote(ctx context.Context, c *call, in promoteInput) (*promoteOutput, error) {
	prod := h.cfg.Environments.Production
	pp, sum, err := h.toProduction(ctx, c, Promote, in.Pipeline, in.PipelineHash,
		in.Refresh, in.FullRefresh, in.FullRefreshAll, func(p *pipeline.Pipeline) pipeline.Problems {
			return h.checkProtected(p, in.FullRefresh, in.FullRefreshAll)
		})
	if err != nil {
		return nil, err
	}

	eng, err := h.engine(ctx, config.Production)
	if err != nil {
		return nil, err
	}
	// The sandbox must look like production (plan_promotion.go).
	parity, err := h.parity(ctx, eng)
	if err != nil {
		return nil, err
	}
	if parity.Refuses() {
		return nil, parityRefused(parity)
	}
	started := h.now()
	// Source pre-flight, then a dry-run: nothing is written in production
	// if either finds problems.
	vps, err := h.preflight(ctx, pp, eng)
	if err != nil {
		return nil, err
	}
	refused := promotionRefused
	var v *engine.ValidationResult
	if len(vps) > 0 {
		refused = func(ps pipeline.Problems) error { return ps }
	} else {
		v, err = eng.ValidateFull(ctx, pp)
		switch {
		case errors.As(err, &vps):
		case err != nil:
			return nil, engineErr(config.Production, err)
		case !v.OK || len(v.Problems) > 0:
			vps = v.Problems
			if len(vps) == 0 {
				vps = pipeline.Problems{{On: "pipeline", Name: pp.Name, Message: "the production dry-run failed",
					Fix: "check the sources and permissions in production, then validate and promote again"}}
			}
		}
	}
	if len(vps) > 0 {
		rec := &pipeline.Record{PipelineHash: sum, StartedAt: started, FinishedAt: h.now(), OK: false, Problems: vps}
		if err := h.updateState(ctx, in.Pipeline, func(s *pipeline.State) { s.Promotion = rec }); err != nil {
			return nil, err
		}
		h.recordHistory(in.Pipeline, pipeline.HistoryPromotion, rec, nil)
		return nil, refused(vps)
	}

	// What this promotion does, computed right before it runs.
	opts := engine.RunOptions{Refresh: in.Refresh, FullRefresh: in.FullRefresh, FullRefreshAll: in.FullRefreshAll}
	plan, err := h.promotionPlan(ctx, eng, pp, v, nil, parity, opts)
	if err != nil {
		return nil, err
	}
	if plan.Blocked() {
		return nil, &toolcall.ToolError{Decision: audit.Denied, Rule: "promote.plan",
			Msg: "promote was refused and nothing ran: " + strings.Join(plan.Refusals, "; ") + "\n" + plan.Text()}
	}
	if parity != nil && !parity.Same {
		c.Warnings = append(c.Warnings, parity.Differences...)
	}

	// A person approves exactly this promotion, seeing its plan, before
	// anything is written in production (promotion.approval). Everything
	// above only reads.
	if h.approvals != nil {
		if err := h.approve(ctx, c, pp, in, qualified(prod.Catalog, prod.Schema, ""), plan); err != nil {
			return nil, err
		}
	}

	res, err := eng.Run(ctx, pp, opts, progress(ctx, c.Req))
	if err != nil {
		return nil, engineErr(config.Production, err)
	}
	if err := checkRunHash(res, sum); err != nil {
		return nil, err
	}
	rec := runRecord(sum, started, h.now(), res)
	if err := h.updateState(ctx, in.Pipeline, func(s *pipeline.State) { s.Promotion = rec }); err != nil {
		return nil, err
	}
	h.recordHistory(in.Pipeline, pipeline.HistoryPromotion, rec, nil)
	ro := runOut(res, sum)
	out := &promoteOutput{OK: ro.OK, PipelineHash: sum, Environment: config.Production,
		Target: qualified(prod.Catalog, prod.Schema, ""), Datasets: ro.Datasets, Failure: ro.Failure,
		DurationMS: ro.DurationMS, Plan: planOut(plan)}
	c.Summary = runSummary("promoted", in.Pipeline, ro)
	if c.approvalID != "" {
		c.Summary += " (approval " + c.approvalID + ")"
	}
	c.Failed = !ro.OK
	return out, nil
}

// preflight checks that every source p reads exists in production with the
// columns it has in the sandbox (engine.Preflight), and returns a problem
// per gap. When the sandbox cannot be reached, only existence is checked.
func (h *Handler) preflight(ctx context.Context, p *pipeline.Pipeline, prod Engine) (pipeline.Problems, error) {
	var ref engine.SourceDescriber
	if sb, err := h.engine(ctx, config.Sandbox); err == nil {
		ref = sb
	} else {
		h.log.Warn("promote pre-flight: the sandbox is unavailable; checking that the sources exist in production only", "err", err)
	}
	rep, err := engine.Preflight(ctx, p, config.Production, ref, prod)
	if err != nil {
		return nil, engineErr(config.Production, err)
	}
	return rep.Problems(), nil
}

// parityRefused is the refusal of a promotion across a different Spark
// minor version or table format.
func parityRefused(p *engine.Parity) error {
	msg := "promote was refused: the sandbox does not look like production: " + strings.Join(p.Differences, "; ") +
		". Nothing ran. The operator can run the sandbox on production's Spark line and table format, or set production_parity: warn in the policy"
	return &toolcall.ToolError{Decision: audit.Denied, Rule: "promote.parity", Msg: msg}
}

// promotionRefused marks the problems of a production dry-run so the agent
// knows nothing ran.
func promotionRefused(ps pipeline.Problems) error {
	out := make(pipeline.Problems, len(ps))
	for i, p := range ps {
		p.Message = "production dry-run: " + p.Message
		out[i] = p
	}
	return out
}

// loadWithState loads a draft and its state file together, under the lock.
func (h *Handler) loadWithState(ctx context.Context, name string) (*pipeline.Pipeline, *pipeline.State, error) {
	unlock, err := h.lock(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	p, err := h.load(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := pipeline.LoadState(h.dir(name))
	if err != nil {
		return nil, nil, &toolcall.InfraError{Public: "the pipeline state could not be read", Err: err}
	}
	return p, st, nil
}
