package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/server"
)

const removeDatasetDescription = `Remove a dataset from a pipeline's draft.

Only the declaration is removed: tables already created by run or promote are left alone. It
is refused while flows append to the dataset or other datasets or flows read it; remove or
change those first. The result lists what is left.

Example:
{"pipeline": "sales", "name": "daily_totals"}`

type removeDatasetInput struct {
	Pipeline string `json:"pipeline" schema:"pattern=name" desc:"Pipeline name."`
	Name     string `json:"name" schema:"pattern=name" desc:"Name of the dataset to remove."`
}

type removeDatasetOutput struct {
	Removed   string   `json:"removed" desc:"The dataset that was removed."`
	Remaining []string `json:"remaining" desc:"Datasets still declared."`
	DraftHash string   `json:"draft_hash" desc:"Hash of the whole draft after this change."`
}

func (h *Handler) removeDatasetTool() (server.ServerTool, error) {
	return define(h, meta{name: "remove_dataset", title: "Remove a dataset declaration",
		description: removeDatasetDescription,
		readOnly:    false, destructive: true, idempotent: true, openWorld: false,
		effect: "the dataset was removed from the draft",
	}, h.removeDataset)
}

func (h *Handler) removeDataset(ctx context.Context, c *call, in removeDatasetInput) (*removeDatasetOutput, error) {
	unlock, err := h.lock(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := h.load(in.Pipeline)
	if err != nil {
		return nil, err
	}
	if err := p.RemoveDataset(in.Name); err != nil {
		return nil, err
	}
	if err := h.save(p); err != nil {
		return nil, err
	}
	sum, err := hash(p)
	if err != nil {
		return nil, err
	}
	c.outcome.PipelineHash = sum
	remaining := []string{}
	for _, d := range p.Datasets {
		remaining = append(remaining, d.Name)
	}
	c.summary = fmt.Sprintf("removed %s.%s", in.Pipeline, in.Name)
	return &removeDatasetOutput{Removed: in.Name, Remaining: remaining, DraftHash: sum}, nil
}
