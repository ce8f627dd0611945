package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// PlanPromotion is the name of the tool that shows what promote would do.
const PlanPromotion = "plan_promotion"

const planPromotionDescription = `Show what promoting a validated pipeline draft would do in production, without changing anything.

Pass the pipeline_hash of the latest successful validate, and the same refresh selection you
would give promote. For each materialized view and streaming table the plan says:
- action: "create" (production has no such table), "replace definition" (the table exists and
  its definition differs from the draft's, or production cannot say what it is), or
  "unchanged" (the table carries the draft's definition hash and has the columns the draft
  computes);
- for existing tables, the column changes (added, removed, retyped, nullability), whether they
  break readers, and the current row count;
- refresh: "recompute" (materialized views), "incremental" (streaming tables), "full refresh"
  (emptied and recomputed from scratch) or "not refreshed".
It also shows the source pre-flight (every source exists in production with compatible columns,
and the draft registers there), the comparison of the sandbox's and production's Spark version
and table format, and every reason promote would refuse it (refusals). promote computes the
same plan again right before it runs and returns it.

Example:
{"pipeline": "sales", "pipeline_hash": "3f1c…(64 hex characters from validate)"}`

type planPromotionInput struct {
	Pipeline       string   `json:"pipeline" schema:"pattern=name" desc:"Pipeline to plan the promotion of."`
	PipelineHash   string   `json:"pipeline_hash" schema:"pattern=hash" desc:"The pipeline_hash returned by the latest successful validate of the current draft."`
	Refresh        []string `json:"refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Refresh only these datasets (incrementally), as promote would."`
	FullRefresh    []string `json:"full_refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Recompute these datasets from scratch, as promote would."`
	FullRefreshAll bool     `json:"full_refresh_all,omitempty" desc:"Recompute every dataset from scratch, as promote would."`
}

type columnChangeOutput struct {
	Column   string `json:"column"`
	Change   string `json:"change" schema:"enum=added|removed|retyped|nullability"`
	Before   string `json:"before,omitempty" desc:"Type or nullability in production now."`
	After    string `json:"after,omitempty" desc:"Type or nullability after the promotion."`
	Breaking bool   `json:"breaking" desc:"Readers of the table may fail or see values they did not see before."`
}

type datasetPlanOutput struct {
	Name           string               `json:"name"`
	Kind           string               `json:"kind"`
	Table          string               `json:"table" desc:"The production table, catalog.schema.name."`
	Action         string               `json:"action" schema:"enum=create|replace definition|unchanged"`
	Why            string               `json:"why,omitempty" desc:"Why the definition is replaced."`
	ProductionRows *int64               `json:"production_rows,omitempty" desc:"Rows in the production table now."`
	Format         string               `json:"format,omitempty" desc:"The production table's format."`
	SchemaChanges  []columnChangeOutput `json:"schema_changes,omitempty"`
	BreaksReaders  bool                 `json:"breaks_readers"`
	Refresh        string               `json:"refresh" schema:"enum=recompute|incremental|full refresh|not refreshed"`
	Protected      string               `json:"protected,omitempty" desc:"The full_refresh_protected glob covering it."`
}

type profileOutput struct {
	SparkVersion string `json:"spark_version"`
	TableFormat  string `json:"table_format"`
}

type parityOutput struct {
	Sandbox     profileOutput `json:"sandbox"`
	Production  profileOutput `json:"production"`
	Same        bool          `json:"same" desc:"Same Spark minor version and table format."`
	Differences []string      `json:"differences,omitempty"`
	Policy      string        `json:"policy" schema:"enum=refuse|warn" desc:"What promote does about a difference (policy production_parity)."`
}

// planOutput is a promotion plan as the agent sees it (plan_promotion, and
// the plan inside promote's result).
type planOutput struct {
	Pipeline     string              `json:"pipeline"`
	PipelineHash string              `json:"pipeline_hash"`
	Target       string              `json:"target" desc:"The production catalog.schema."`
	Blocked      bool                `json:"blocked" desc:"True when promote would refuse this plan; refusals say why."`
	Parity       *parityOutput       `json:"parity,omitempty" desc:"The sandbox's and production's Spark version and table format."`
	Datasets     []datasetPlanOutput `json:"datasets"`
	FullRefresh  []string            `json:"full_refresh,omitempty" desc:"Tables emptied and recomputed from scratch."`
	Preflight    []problemOutput     `json:"preflight" desc:"Problems of the source pre-flight and production dry-run; empty when it passed."`
	Refusals     []string            `json:"refusals,omitempty"`
	Warnings     []string            `json:"warnings,omitempty"`
	Text         string              `json:"text" desc:"The plan in a few lines, for people."`
}

func (h *Handler) planPromotionTool() (server.ServerTool, error) {
	return define(h, meta{name: PlanPromotion, title: "Plan a promotion",
		description: planPromotionDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: true, bodies: true,
	}, h.planPromotion)
}

func (h *Handler) planPromotion(ctx context.Context, c *call, in planPromotionInput) (*planOutput, error) {
	pp, _, err := h.toProduction(ctx, c, PlanPromotion, in.Pipeline, in.PipelineHash,
		in.Refresh, in.FullRefresh, in.FullRefreshAll, nil)
	if err != nil {
		return nil, err
	}
	eng, err := h.engine(ctx, config.Production)
	if err != nil {
		return nil, err
	}
	opts := engine.RunOptions{Refresh: in.Refresh, FullRefresh: in.FullRefresh, FullRefreshAll: in.FullRefreshAll}
	parity, err := h.parity(ctx, eng)
	if err != nil {
		return nil, err
	}
	// The source pre-flight (promote.go), then the dry-run when it passed.
	preflight, err := h.preflight(ctx, pp, eng)
	if err != nil {
		return nil, err
	}
	var v *engine.ValidationResult
	if len(preflight) == 0 {
		if v, preflight, err = dryRun(ctx, eng, pp); err != nil {
			return nil, err
		}
	}
	plan, err := h.promotionPlan(ctx, eng, pp, v, preflight, parity, opts)
	if err != nil {
		return nil, err
	}
	c.Summary = planSummary(plan)
	return planOut(plan), nil
}

// Inspector is what a promotion plan asks production's engine beyond
// [Engine]; *engine.Engine implements it.
type Inspector interface {
	Profile(ctx context.Context) (engine.Profile, error)
	InspectTables(ctx context.Context, p *pipeline.Pipeline) (map[string]engine.TableState, error)
}

func (l limitedEngine) Profile(ctx context.Context) (engine.Profile, error) {
	in, ok := l.e.(Inspector)
	if !ok {
		return engine.Profile{}, errNoInspector
	}
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return engine.Profile{}, err
	}
	defer release()
	return in.Profile(ctx)
}

func (l limitedEngine) InspectTables(ctx context.Context, p *pipeline.Pipeline) (map[string]engine.TableState, error) {
	in, ok := l.e.(Inspector)
	if !ok {
		return nil, errNoInspector
	}
	release, err := l.h.acquireSpark(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return in.InspectTables(ctx, p)
}

var _ Inspector = (*engine.Engine)(nil)

var errNoInspector = errors.New("the engine cannot inspect its environment")

// inspector returns e as an Inspector.
func inspector(e Engine) (Inspector, error) {
	in, ok := e.(Inspector)
	if !ok {
		return nil, &toolcall.InfraError{Public: "the engine cannot plan promotions", Err: errNoInspector}
	}
	return in, nil
}

// parity compares the sandbox's and production's profiles under the
// policy. Production must answer. The sandbox is asked too; when it cannot
// answer, its configured profile (environments.sandbox.spark and
// table_format) stands in, and without one the comparison is left out
// (nil), which the plan reports as a warning.
func (h *Handler) parity(ctx context.Context, prod Engine) (*engine.Parity, error) {
	pin, err := inspector(prod)
	if err != nil {
		return nil, err
	}
	pp, err := pin.Profile(ctx)
	if err != nil {
		return nil, engineErr(config.Production, err)
	}
	sp, err := h.sandboxProfile(ctx)
	if err != nil {
		h.log.Warn("the sandbox's profile could not be read", "err", err)
		conf := h.cfg.Environments.Sandbox
		if conf.Spark == "" || conf.TableFormat == "" {
			return nil, nil
		}
		sp = engine.Profile{SparkVersion: conf.Spark, TableFormat: conf.TableFormat}
	}
	return engine.Compare(sp, pp, h.policy.ProductionParity), nil
}

// sandboxProfile asks the sandbox what it runs.
func (h *Handler) sandboxProfile(ctx context.Context) (engine.Profile, error) {
	sb, err := h.engine(ctx, config.Sandbox)
	if err != nil {
		return engine.Profile{}, err
	}
	in, err := inspector(sb)
	if err != nil {
		return engine.Profile{}, err
	}
	return in.Profile(ctx)
}

// dryRun validates pp on production: its problems are the pre-flight's.
func dryRun(ctx context.Context, eng Engine, pp *pipeline.Pipeline) (*engine.ValidationResult, pipeline.Problems, error) {
	v, err := eng.Validate(ctx, pp)
	var vps pipeline.Problems
	switch {
	case errors.As(err, &vps):
		return nil, vps, nil
	case err != nil:
		return nil, nil, engineErr(config.Production, err)
	case !v.OK || len(v.Problems) > 0:
		vps = v.Problems
		if len(vps) == 0 {
			vps = pipeline.Problems{{On: "pipeline", Name: pp.Name, Message: "the production dry-run failed",
				Fix: "check the sources and permissions in production, then validate and promote again"}}
		}
	}
	return v, vps, nil
}

// promotionPlan builds the plan of promoting pp (the draft bound to
// production) from the production dry-run v (nil when it failed), its
// problems and the environment comparison.
func (h *Handler) promotionPlan(ctx context.Context, eng Engine, pp *pipeline.Pipeline, v *engine.ValidationResult,
	preflight pipeline.Problems, parity *engine.Parity, opts engine.RunOptions) (*engine.PromotionPlan, error) {
	in, err := inspector(eng)
	if err != nil {
		return nil, err
	}
	tables, err := in.InspectTables(ctx, pp)
	if err != nil {
		return nil, engineErr(config.Production, err)
	}
	cols := map[string][]connect.Column{}
	if v != nil {
		for _, d := range v.Datasets {
			cols[d.Name] = d.Columns
		}
	}
	plan, err := engine.BuildPlan(engine.PlanInput{Pipeline: pp, Columns: cols, Tables: tables, Options: opts,
		Protected: func(d string) string { return h.policy.Protected(pp.Name, d) },
		Parity:    parity, Preflight: preflight})
	if err != nil {
		return nil, &toolcall.InfraError{Public: "the promotion plan could not be built", Err: err}
	}
	if parity == nil {
		plan.Warnings = append(plan.Warnings, "the sandbox did not say which Spark version and table format it runs, so they were not compared with production's")
	}
	return plan, nil
}

// planSummary counts the actions of a plan, for the audit log.
func planSummary(p *engine.PromotionPlan) string {
	n := map[string]int{}
	for _, d := range p.Datasets {
		n[d.Action]++
	}
	s := fmt.Sprintf("plan for %s: %d create, %d replace definition, %d unchanged", p.Pipeline,
		n[engine.ActionCreate], n[engine.ActionReplace], n[engine.ActionUnchanged])
	if p.Blocked() {
		s += fmt.Sprintf("; blocked (%d refusal(s))", len(p.Refusals))
	}
	return s
}

// planOut converts a plan for the agent.
func planOut(p *engine.PromotionPlan) *planOutput {
	out := &planOutput{Pipeline: p.Pipeline, PipelineHash: p.PipelineHash, Target: p.Target, Blocked: p.Blocked(),
		Datasets: []datasetPlanOutput{}, FullRefresh: p.FullRefresh, Preflight: problemsOut(p.Preflight),
		Refusals: p.Refusals, Warnings: p.Warnings, Text: p.Text()}
	if pa := p.Parity; pa != nil {
		out.Parity = &parityOutput{Sandbox: profileOutput(pa.Sandbox), Production: profileOutput(pa.Production),
			Same: pa.Same, Differences: pa.Differences, Policy: pa.Policy}
	}
	for _, d := range p.Datasets {
		do := datasetPlanOutput{Name: d.Name, Kind: string(d.Kind), Table: d.Table, Action: d.Action, Why: d.Why,
			ProductionRows: d.ProductionRows, Format: d.Format, BreaksReaders: d.BreaksReaders, Refresh: d.Refresh,
			Protected: d.Protected}
		for _, c := range d.SchemaChanges {
			do.SchemaChanges = append(do.SchemaChanges, columnChangeOutput(c))
		}
		out.Datasets = append(out.Datasets, do)
	}
	return out
}
