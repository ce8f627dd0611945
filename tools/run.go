package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

const runDescription = `Run a pipeline draft in the sandbox: create or refresh its tables and report what happened to each dataset.

With no selection every dataset is refreshed incrementally. "refresh" limits the run to some
datasets; "full_refresh" recomputes some datasets from scratch (streaming tables lose their
checkpoints); "full_refresh_all" recomputes everything. The result lists each dataset's status
and its expectation counts (rows passed and failed); a failed run says which dataset failed
and why. A streaming table keeps its rows on an incremental run, so a declaration that removes,
renames or retypes its existing columns needs "full_refresh" (added columns do not).
Progress is reported while it runs when the client sends a progress token.

This only ever touches the sandbox. To run in production, validate and then promote.

Example:
{"pipeline": "sales", "full_refresh": ["daily_totals"]}`

type runInput struct {
	Pipeline       string   `json:"pipeline" schema:"pattern=name" desc:"Pipeline to run."`
	Refresh        []string `json:"refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Refresh only these datasets (incrementally)."`
	FullRefresh    []string `json:"full_refresh,omitempty" schema:"maxItems=200;unique;item.pattern=name" desc:"Recompute these datasets from scratch."`
	FullRefreshAll bool     `json:"full_refresh_all,omitempty" desc:"Recompute every dataset from scratch."`
}

type expectationOutput struct {
	Name        string `json:"name"`
	OnViolation string `json:"on_violation"`
	Passed      int64  `json:"passed" desc:"Rows that passed."`
	Failed      int64  `json:"failed" desc:"Rows that failed (warned, dropped, or the row that stopped the run)."`
}

type datasetRunOutput struct {
	Name         string              `json:"name"`
	Kind         string              `json:"kind"`
	Status       string              `json:"status" desc:"completed, failed, skipped or excluded."`
	Expectations []expectationOutput `json:"expectations"`
}

type failureOutput struct {
	Dataset    string `json:"dataset,omitempty" desc:"The dataset or flow that failed."`
	ErrorClass string `json:"error_class,omitempty" desc:"Spark's error class, e.g. DIVIDE_BY_ZERO."`
	Message    string `json:"message"`
	Hint       string `json:"hint,omitempty" desc:"How to fix it."`
}

type runOutput struct {
	OK           bool               `json:"ok" desc:"True when every selected dataset completed."`
	PipelineHash string             `json:"pipeline_hash" desc:"Hash of the draft that ran."`
	Datasets     []datasetRunOutput `json:"datasets"`
	Failure      *failureOutput     `json:"failure,omitempty" desc:"Why the run failed, when it did."`
	DurationMS   int64              `json:"duration_ms"`
}

func (h *Handler) runTool() (server.ServerTool, error) {
	return define(h, meta{name: "run", title: "Run in the sandbox",
		description: runDescription,
		readOnly:    false, destructive: true, idempotent: false, openWorld: false, long: true, bodies: true,
		effect: "the pipeline ran in the sandbox",
	}, h.run)
}

func (h *Handler) run(ctx context.Context, c *call, in runInput) (*runOutput, error) {
	p, err := h.loadLocked(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	ps := h.guardPipeline(&c.facts, p)
	ps = append(ps, checkSelection(p, in.Refresh, in.FullRefresh, in.FullRefreshAll)...)
	ps = append(ps, h.checkProtected(p, in.FullRefresh, in.FullRefreshAll)...)
	if len(ps) > 0 {
		return nil, ps
	}
	if err := h.applyRules(ctx, c); err != nil {
		return nil, err
	}
	sum, err := hash(p)
	if err != nil {
		return nil, err
	}
	c.Outcome.PipelineHash, c.Outcome.Environment = sum, config.Sandbox
	eng, err := h.engine(ctx, config.Sandbox)
	if err != nil {
		return nil, err
	}
	started := h.now()
	res, err := eng.Run(ctx, p, engine.RunOptions{Refresh: in.Refresh, FullRefresh: in.FullRefresh,
		FullRefreshAll: in.FullRefreshAll}, progress(ctx, c.Req))
	if err != nil {
		return nil, engineErr(config.Sandbox, err)
	}
	if err := checkRunHash(res, sum); err != nil {
		return nil, err
	}
	rec := runRecord(sum, started, h.now(), res)
	if err := h.updateState(ctx, in.Pipeline, func(s *pipeline.State) { s.Run = rec }); err != nil {
		return nil, err
	}
	h.recordHistory(in.Pipeline, pipeline.HistoryRun, rec, nil)
	out := runOut(res, sum)
	c.Summary = runSummary("run", in.Pipeline, out)
	c.Failed = !out.OK
	return out, nil
}

func checkRunHash(res *engine.RunResult, sum string) error {
	if res.PipelineHash != "" && res.PipelineHash != sum {
		return &toolcall.InfraError{Public: "the engine ran a different draft than the one on disk",
			Err: fmt.Errorf("engine hash %s, draft hash %s", res.PipelineHash, sum)}
	}
	return nil
}

func runOut(res *engine.RunResult, sum string) *runOutput {
	out := &runOutput{OK: res.OK, PipelineHash: sum, Datasets: []datasetRunOutput{},
		DurationMS: res.Duration.Milliseconds()}
	for _, d := range res.Datasets {
		do := datasetRunOutput{Name: d.Name, Kind: d.Kind, Status: d.Status, Expectations: []expectationOutput{}}
		for _, e := range d.Expectations {
			do.Expectations = append(do.Expectations, expectationOutput{Name: e.Name,
				OnViolation: string(e.OnViolation), Passed: e.Passed, Failed: e.Failed})
		}
		out.Datasets = append(out.Datasets, do)
	}
	if f := res.Failure; f != nil {
		out.Failure = &failureOutput{Dataset: f.Dataset, ErrorClass: f.ErrorClass, Message: f.Message, Hint: f.Hint}
	}
	return out
}

func runSummary(verb, name string, out *runOutput) string {
	if out.OK {
		return fmt.Sprintf("%s %s: %d dataset(s) ok", verb, name, len(out.Datasets))
	}
	s := fmt.Sprintf("%s %s failed", verb, name)
	if out.Failure != nil && out.Failure.Dataset != "" {
		s += " at " + out.Failure.Dataset
	}
	return s
}

// runRecord is what the state file keeps about a run or promotion.
func runRecord(sum string, started, finished time.Time, res *engine.RunResult) *pipeline.Record {
	rec := &pipeline.Record{PipelineHash: sum, StartedAt: started, FinishedAt: finished, OK: res.OK}
	for _, d := range res.Datasets {
		o := pipeline.Outcome{Name: d.Name, Status: d.Status}
		for _, e := range d.Expectations {
			o.Expectations = append(o.Expectations, pipeline.ExpectationCount{Name: e.Name, Passed: e.Passed, Failed: e.Failed})
		}
		if f := res.Failure; f != nil && f.Dataset == d.Name {
			o.Message = f.Message
		}
		rec.Datasets = append(rec.Datasets, o)
	}
	return rec
}
