package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const declareFlowDescription = `Add an append flow to a pipeline's draft, or replace the flow of the same name.

A flow appends the rows of its query to a streaming table of the same pipeline (the "target",
declared first with declare_table kind streaming_table; its own query is optional). Use flows
to merge several streams into one table. Give only the SELECT body in "query", reading the
stream with STREAM(name). Flows and datasets share one name space.

Nothing runs on Spark: the declaration is checked and saved. Use validate, then run.

Example:
{"pipeline": "sales", "name": "events_from_web", "target": "events",
 "query": "SELECT id, ts, 'web' AS channel FROM STREAM(web_events_raw)"}`

type declareFlowInput struct {
	Pipeline string `json:"pipeline" schema:"pattern=name" desc:"Pipeline name; it must already declare the target."`
	Name     string `json:"name" schema:"pattern=name" desc:"Flow name: one lower-case identifier, distinct from every dataset name."`
	Target   string `json:"target" schema:"pattern=name" desc:"The streaming table of this pipeline the flow appends to."`
	Query    string `json:"query" schema:"minLength=1;maxLength=1048576" desc:"The SELECT body whose rows are appended, without a trailing semicolon."`
	Comment  string `json:"comment,omitempty" schema:"maxLength=4096" desc:"Description of the flow."`
}

type declareFlowOutput struct {
	QualifiedTarget string   `json:"qualified_target" desc:"The table the flow appends to: catalog.schema.target."`
	Replaced        bool     `json:"replaced" desc:"True when an earlier flow of the same name was replaced."`
	DependsOn       []string `json:"depends_on" desc:"Datasets of this pipeline the query reads."`
	Sources         []string `json:"sources" desc:"External tables the query reads."`
	Warnings        []string `json:"warnings" desc:"Things to fix before validate succeeds."`
	DraftHash       string   `json:"draft_hash" desc:"Hash of the whole draft after this change."`
}

func (h *Handler) declareFlowTool() (server.ServerTool, error) {
	return define(h, meta{name: "declare_flow", title: "Declare an append flow",
		description: declareFlowDescription,
		readOnly:    false, destructive: false, idempotent: true, openWorld: false, bodies: true,
		effect: "the flow was saved in the draft",
	}, h.declareFlow)
}

func (h *Handler) declareFlow(ctx context.Context, c *call, in declareFlowInput) (*declareFlowOutput, error) {
	unlock, err := h.lock(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := h.load(in.Pipeline)
	if err != nil {
		return nil, err
	}
	ps := h.guardBody(&c.facts, p, in.Query, BodyStreamingQuery, "flow", in.Name, "query")
	if ps = append(ps, h.checkDatasetCap(p, in.Name)...); len(ps) > 0 {
		return nil, ps
	}
	c.facts.kind = "flow"
	if err := h.applyRules(ctx, c); err != nil {
		return nil, err
	}
	replaced, err := p.PutFlow(pipeline.Flow{Name: in.Name, Target: in.Target, Query: in.Query, Comment: in.Comment})
	if err != nil {
		return nil, err
	}
	sum, deps, sources, warnings, err := h.declared(c, p, in.Name)
	if err != nil {
		return nil, err
	}
	verb := "declared"
	if replaced {
		verb = "replaced"
	}
	c.summary = fmt.Sprintf("%s flow %s.%s into %s", verb, in.Pipeline, in.Name, in.Target)
	return &declareFlowOutput{
		QualifiedTarget: qualified(p.Catalog, p.Database, in.Target),
		Replaced:        replaced,
		DependsOn:       deps,
		Sources:         sources,
		Warnings:        warnings,
		DraftHash:       sum,
	}, nil
}
