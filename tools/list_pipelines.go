package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const listPipelinesDescription = `List the pipelines in the workspace with their size and latest validation, run and promotion.

"current" on a record says whether it is about the draft as it is now. A pipeline whose folder
was edited by hand is listed with its problems.

Example:
{}`

type listPipelinesInput struct{}

type recordOutput struct {
	PipelineHash string    `json:"pipeline_hash"`
	OK           bool      `json:"ok"`
	FinishedAt   time.Time `json:"finished_at"`
	Current      bool      `json:"current" desc:"True when this record is about the current draft."`
}

type pipelineSummary struct {
	Name           string        `json:"name"`
	Datasets       int           `json:"datasets"`
	Flows          int           `json:"flows"`
	DraftHash      string        `json:"draft_hash,omitempty"`
	LastValidation *recordOutput `json:"last_validation,omitempty"`
	LastRun        *recordOutput `json:"last_run,omitempty"`
	LastPromotion  *recordOutput `json:"last_promotion,omitempty"`
	Problems       []string      `json:"problems,omitempty" desc:"Why the folder cannot be loaded, when it cannot."`
}

type listPipelinesOutput struct {
	Pipelines []pipelineSummary `json:"pipelines"`
}

func (h *Handler) listPipelinesTool() (server.ServerTool, error) {
	return define(h, meta{name: "list_pipelines", title: "List pipelines",
		description: listPipelinesDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false,
	}, h.listPipelines)
}

func (h *Handler) listPipelines(ctx context.Context, c *call, _ listPipelinesInput) (*listPipelinesOutput, error) {
	names, err := h.pipelineNames()
	if err != nil {
		return nil, err
	}
	out := &listPipelinesOutput{Pipelines: []pipelineSummary{}}
	for _, name := range names {
		s := pipelineSummary{Name: name}
		p, st, err := h.loadWithState(ctx, name)
		var ps pipeline.Problems
		switch {
		case errors.As(err, &ps):
			for _, prob := range ps {
				s.Problems = append(s.Problems, prob.String())
			}
			out.Pipelines = append(out.Pipelines, s)
			continue
		case err != nil:
			return nil, err
		}
		sum, err := hash(p)
		if err != nil {
			return nil, err
		}
		s.Datasets, s.Flows, s.DraftHash = len(p.Datasets), len(p.Flows), sum
		s.LastValidation = recordOut(st.Validation, sum)
		s.LastRun = recordOut(st.Run, sum)
		s.LastPromotion = recordOut(st.Promotion, sum)
		out.Pipelines = append(out.Pipelines, s)
	}
	c.Summary = fmt.Sprintf("%d pipeline(s)", len(out.Pipelines))
	return out, nil
}

func recordOut(r *pipeline.Record, draft string) *recordOutput {
	if r == nil {
		return nil
	}
	return &recordOutput{PipelineHash: r.PipelineHash, OK: r.OK, FinishedAt: r.FinishedAt.UTC(), Current: r.PipelineHash == draft}
}
