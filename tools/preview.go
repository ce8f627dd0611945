package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const previewDescription = `Show the schema and first rows of a declared dataset, or of an ad-hoc query body, in the sandbox.

Give either "dataset" (a dataset of the pipeline: its upstream declarations are inlined, so no
run is needed first; drop expectations are applied) or "query" (a SELECT body that may read the
pipeline's datasets by name and the sources list_sources shows) — not both. Rows are capped by
"limit" (the server applies the limit; do not write LIMIT yourself) and by a byte and time
budget; "truncated" says whether more rows exist. Values that JSON cannot hold exactly
(decimals, timestamps, dates, intervals, binary as base64) come back as strings.

Example:
{"pipeline": "sales", "dataset": "daily_totals", "limit": 20}`

type previewInput struct {
	Pipeline string `json:"pipeline" schema:"pattern=name" desc:"Pipeline whose datasets the preview may read."`
	Dataset  string `json:"dataset,omitempty" schema:"pattern=name" desc:"A declared dataset to preview. Give this or query, not both."`
	Query    string `json:"query,omitempty" schema:"maxLength=1048576" desc:"An ad-hoc SELECT body to preview. Give this or dataset, not both."`
	Limit    int    `json:"limit,omitempty" schema:"min=1;max={preview_rows_max};default={preview_rows_default}" desc:"Maximum number of rows to return."`
}

type columnOutput struct {
	Name     string `json:"name"`
	Type     string `json:"type" desc:"Spark SQL type, e.g. bigint, decimal(10,2), array<string>."`
	Nullable bool   `json:"nullable"`
}

type previewOutput struct {
	Columns   []columnOutput `json:"columns"`
	Rows      [][]any        `json:"rows" desc:"One array per row, values in column order."`
	RowCount  int            `json:"row_count"`
	Truncated bool           `json:"truncated" desc:"True when more rows exist than were returned."`
	ElapsedMS int64          `json:"elapsed_ms"`
}

func (h *Handler) previewTool() (server.ServerTool, error) {
	return define(h, meta{name: "preview", title: "Preview rows",
		description: previewDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false, bodies: true,
		timeoutHint: "preview a narrower query or a smaller limit",
	}, h.preview)
}

func (h *Handler) preview(ctx context.Context, c *call, in previewInput) (*previewOutput, error) {
	switch {
	case in.Dataset != "" && in.Query != "":
		return nil, pipeline.Problems{{On: "argument", Field: "query",
			Message: "both dataset and query were given", Fix: "give only one: dataset to preview a declaration, query for an ad-hoc body"}}
	case in.Dataset == "" && in.Query == "":
		return nil, pipeline.Problems{{On: "argument", Field: "dataset",
			Message: "neither dataset nor query was given", Fix: `give "dataset" (a declared dataset) or "query" (a SELECT body)`}}
	}
	if in.Limit == 0 {
		in.Limit = h.cfg.Limits.PreviewRowsDefault
	}
	var p *pipeline.Pipeline
	ok, err := h.exists(in.Pipeline)
	switch {
	case err != nil:
		return nil, err
	case ok:
		if p, err = h.load(in.Pipeline); err != nil {
			return nil, err
		}
	case in.Dataset != "":
		return nil, h.noPipeline(in.Pipeline)
	default:
		// An ad-hoc query against a pipeline that does not exist yet can
		// read sources only.
		p = &pipeline.Pipeline{Name: in.Pipeline}
		h.bindSandbox(p)
	}
	if in.Dataset != "" {
		if _, ok := p.Dataset(in.Dataset); !ok {
			return nil, pipeline.Problems{{On: "argument", Field: "dataset", Got: in.Dataset,
				Message: "no dataset of this pipeline has this name", Fix: "use one of: " + orNone(datasetNames(p))}}
		}
	}
	// The declarations a preview reads are inlined into what goes to Spark,
	// so they pass the guard again (its policy may have changed since).
	// The policy's rules see what the previewed text reads: the query, or
	// the dataset's own query and flows.
	ps := h.guardPipeline(nil, p)
	if in.Query != "" {
		ps = append(ps, h.guardBody(&c.facts, p, in.Query, BodyQuery, "query", "", "query")...)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	c.facts.limit = int64(in.Limit)
	if d, ok := p.Dataset(in.Dataset); ok {
		c.facts.kind = string(d.Kind)
		if d.Query != "" {
			h.guardBody(&c.facts, p, d.Query, queryKind(d.Kind), "dataset", d.Name, "query")
		}
		for _, f := range p.FlowsInto(d.Name) {
			h.guardBody(&c.facts, p, f.Query, BodyStreamingQuery, "flow", f.Name, "query")
		}
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
	res, err := eng.Preview(ctx, p, engine.PreviewRequest{Dataset: in.Dataset, Query: in.Query,
		Limit: in.Limit, MaxBytes: h.cfg.Limits.PreviewMaxBytes})
	if err != nil {
		return nil, engineErr(config.Sandbox, err)
	}
	out := &previewOutput{
		Columns:   columnsOut(res.Columns),
		Rows:      nonNil(jsonRows(res.Columns, res.Rows)),
		RowCount:  len(res.Rows),
		Truncated: res.Truncated,
		ElapsedMS: res.Elapsed.Milliseconds(),
	}
	what := in.Dataset
	if what == "" {
		what = "query"
	}
	c.Summary = fmt.Sprintf("previewed %s.%s: %d rows", in.Pipeline, what, out.RowCount)
	if out.Truncated {
		c.Summary += " (truncated)"
	}
	return out, nil
}

func (h *Handler) noPipeline(name string) error {
	names, err := h.pipelineNames()
	if err != nil {
		return err
	}
	return pipeline.Problems{{On: "argument", Field: "pipeline", Got: name,
		Message: "no pipeline has this name",
		Fix:     "create it by declaring a dataset with declare_table, or use one of: " + orNone(names)}}
}

func columnsOut(cols []connect.Column) []columnOutput {
	out := make([]columnOutput, len(cols))
	for i, c := range cols {
		out[i] = columnOutput{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return out
}

func datasetNames(p *pipeline.Pipeline) []string {
	names := make([]string, len(p.Datasets))
	for i, d := range p.Datasets {
		names[i] = d.Name
	}
	return names
}
