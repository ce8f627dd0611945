package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const validateDescription = `Check a whole pipeline draft in the sandbox without writing any data.

Runs the static checks (names, SQL guard, dependency graph: missing upstreams, cycles), asks
Spark to analyse every dataset, and does an SDP dry-run of the whole graph. Returns every
problem found, each with a fix hint, the columns of every dataset, the dependency graph as
Mermaid, and the pipeline_hash of the draft that was checked. The result is recorded: promote
accepts only the pipeline_hash of the latest successful validation of the current draft, so
validate again after any change.

Example:
{"pipeline": "sales"}`

type validateInput struct {
	Pipeline string `json:"pipeline" schema:"pattern=name" desc:"Pipeline to validate."`
}

type datasetInfoOutput struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Columns   []columnOutput `json:"columns"`
	DependsOn []string       `json:"depends_on"`
}

type problemOutput struct {
	Dataset string `json:"dataset,omitempty" desc:"The dataset or flow the problem is about."`
	Code    string `json:"code" desc:"Which check found it, e.g. dataset.query."`
	Field   string `json:"field,omitempty" desc:"The declaration field at fault, e.g. expectations[0].condition."`
	Message string `json:"message"`
	Hint    string `json:"hint" desc:"How to fix it."`
}

type validateOutput struct {
	OK           bool                  `json:"ok" desc:"True when the draft can be run and promoted."`
	PipelineHash string                `json:"pipeline_hash" desc:"Hash of the validated draft; pass it to promote."`
	Datasets     []datasetInfoOutput   `json:"datasets"`
	Problems     []problemOutput       `json:"problems"`
	GraphMermaid string                `json:"graph_mermaid" desc:"The dependency graph as a Mermaid flowchart."`
	Checks       *validateChecksOutput `json:"checks,omitempty" desc:"Which checks ran against Spark, and what an earlier validation established that was reused."`
}

// validateChecksOutput says which checks a validation ran.
type validateChecksOutput struct {
	Analyzed       int    `json:"analyzed" desc:"Dataset and flow queries analysed afresh."`
	Reused         int    `json:"reused" desc:"Queries whose analysis an earlier validation established, nothing they depend on having changed since."`
	DryRun         string `json:"dry_run" desc:"The SDP dry-run that ran: full (the whole graph), partial (only what changed since a full one passed, unchanged upstreams standing in), or reused (a full one passed for this very draft)."`
	DryRunElements int    `json:"dry_run_elements" desc:"Datasets and flows the dry-run covered."`
}

func (h *Handler) validateTool() (server.ServerTool, error) {
	return define(h, meta{name: "validate", title: "Validate a pipeline",
		description: validateDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false, bodies: true,
	}, h.validate)
}

func (h *Handler) validate(ctx context.Context, c *call, in validateInput) (*validateOutput, error) {
	p, err := h.loadLocked(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	sum, err := hash(p)
	if err != nil {
		return nil, err
	}
	c.outcome.PipelineHash, c.outcome.Environment = sum, config.Sandbox
	started := h.now()

	var res *engine.ValidationResult
	if ps := h.guardPipeline(&c.facts, p); len(ps) > 0 {
		// The guard's findings are the result; nothing goes to Spark.
		res = &engine.ValidationResult{OK: false, PipelineHash: sum, Problems: ps}
	} else {
		if err := h.applyRules(ctx, c); err != nil {
			return nil, err
		}
		eng, err := h.engine(ctx, config.Sandbox)
		if err != nil {
			return nil, err
		}
		res, err = eng.Validate(ctx, p)
		var ps pipeline.Problems
		switch {
		case errors.As(err, &ps):
			res = &engine.ValidationResult{OK: false, PipelineHash: sum, Problems: ps}
		case err != nil:
			return nil, engineErr(config.Sandbox, err)
		case res.PipelineHash != "" && res.PipelineHash != sum:
			return nil, &InfraError{Public: "the engine validated a different draft than the one on disk",
				Err: fmt.Errorf("engine hash %s, draft hash %s", res.PipelineHash, sum)}
		}
	}
	if res.OK && len(res.Problems) > 0 {
		res.OK = false
	}
	rec := &pipeline.Record{PipelineHash: sum, StartedAt: started, FinishedAt: h.now(), OK: res.OK, Problems: res.Problems}
	if err := h.updateState(ctx, in.Pipeline, func(s *pipeline.State) { s.Validation = rec }); err != nil {
		return nil, err
	}
	h.recordHistory(in.Pipeline, pipeline.HistoryValidation, rec, res.Datasets)

	out := &validateOutput{OK: res.OK, PipelineHash: sum, Datasets: []datasetInfoOutput{},
		Problems: problemsOut(res.Problems), GraphMermaid: res.Mermaid}
	for _, d := range res.Datasets {
		out.Datasets = append(out.Datasets, datasetInfoOutput{Name: d.Name, Kind: string(d.Kind),
			Columns: columnsOut(d.Columns), DependsOn: nonNil(d.DependsOn)})
	}
	if ch := res.Checks; ch != nil {
		out.Checks = &validateChecksOutput{Analyzed: ch.Analyzed, Reused: ch.Reused, DryRun: ch.DryRun, DryRunElements: ch.DryRunElements}
	}
	if out.GraphMermaid == "" {
		out.GraphMermaid = pipeline.BuildGraph(p).Mermaid()
	}
	if res.OK {
		c.summary = "valid: " + sum
	} else {
		c.outcome.Rules = problemCodes(res.Problems)
		c.summary = fmt.Sprintf("invalid: %d problem(s)", len(res.Problems))
	}
	return out, nil
}

// loadLocked loads a draft under its lock.
func (h *Handler) loadLocked(ctx context.Context, name string) (*pipeline.Pipeline, error) {
	unlock, err := h.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return h.load(name)
}

func problemsOut(ps pipeline.Problems) []problemOutput {
	out := []problemOutput{}
	for _, p := range ps {
		po := problemOutput{Code: problemCode(p), Field: p.Field, Message: p.Message, Hint: p.Fix}
		if p.On == "dataset" || p.On == "flow" {
			po.Dataset = p.Name
		}
		if p.Got != "" && p.Field != "" && p.On != "dataset" && p.On != "flow" {
			po.Message = fmt.Sprintf("%s (got %q)", p.Message, clip(p.Got, 120))
		}
		if po.Hint == "" {
			po.Hint = "see the message"
		}
		out = append(out, po)
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
