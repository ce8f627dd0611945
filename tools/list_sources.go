package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/engine"
)

const listSourcesDescription = `List the source tables pipelines may read, with their columns.

Start here: datasets can read only these tables (and each other). "pattern" filters by table
name (not case-sensitive), with * for any characters and ? for one, e.g. "orders_*"; leave it
out to list everything allowed. Use each table by the catalog.schema.table name shown here;
describe_source gives one table's schema.

Example:
{"pattern": "orders_*"}`

type listSourcesInput struct {
	Pattern string `json:"pattern,omitempty" schema:"pattern=glob" desc:"Table name filter with * and ? wildcards, e.g. orders_*."`
}

type sourceOutput struct {
	Name    string         `json:"name" desc:"The name to use in queries: catalog.schema.table."`
	Comment string         `json:"comment,omitempty"`
	Columns []columnOutput `json:"columns"`
}

type listSourcesOutput struct {
	Sources []sourceOutput `json:"sources"`
}

func (h *Handler) listSourcesTool() (server.ServerTool, error) {
	return define(h, meta{name: "list_sources", title: "List source tables",
		description: listSourcesDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false,
	}, h.listSources)
}

func (h *Handler) listSources(ctx context.Context, c *call, in listSourcesInput) (*listSourcesOutput, error) {
	c.outcome.Environment = config.Sandbox
	eng, err := h.engine(ctx, config.Sandbox)
	if err != nil {
		return nil, err
	}
	srcs, err := eng.ListSources(ctx, in.Pattern)
	if err != nil {
		return nil, engineErr(config.Sandbox, err)
	}
	out := &listSourcesOutput{Sources: []sourceOutput{}}
	for _, s := range srcs {
		if ok, _ := h.sourceVisible(ctx, config.Sandbox, s.Name); !ok {
			continue // outside the principal's narrowed sources
		}
		out.Sources = append(out.Sources, sourceOut(s))
	}
	c.summary = fmt.Sprintf("%d source(s)", len(out.Sources))
	return out, nil
}

func sourceOut(s engine.Source) sourceOutput {
	return sourceOutput{Name: s.Name, Comment: s.Comment, Columns: columnsOut(s.Columns)}
}
