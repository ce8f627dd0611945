package tools

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const describeSourceDescription = `Show one source table's columns (name, Spark SQL type, nullability) and comment.

Use the name exactly as list_sources shows it. Only tables pipelines may read can be described.

Example:
{"name": "spark_catalog.raw.orders"}`

type describeSourceInput struct {
	Name string `json:"name" schema:"pattern=source;maxLength=400" desc:"The table: table, schema.table or catalog.schema.table."`
}

func (h *Handler) describeSourceTool() (server.ServerTool, error) {
	return define(h, meta{name: "describe_source", title: "Describe a source table",
		description: describeSourceDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false,
	}, h.describeSource)
}

func (h *Handler) describeSource(ctx context.Context, c *call, in describeSourceInput) (*sourceOutput, error) {
	c.outcome.Environment = config.Sandbox
	eng, err := h.engine(ctx, config.Sandbox)
	if err != nil {
		return nil, err
	}
	s, err := eng.DescribeSource(ctx, in.Name)
	if err != nil {
		return nil, engineErr(config.Sandbox, err)
	}
	if s == nil {
		return nil, pipeline.Problems{{On: "argument", Field: "name", Got: in.Name,
			Message: "no source table has this name", Fix: "use a name list_sources shows"}}
	}
	if ok, globs := h.sourceVisible(ctx, config.Sandbox, s.Name); !ok {
		// Outside the principal's narrowed sources: refused exactly like a
		// table that is not a source at all.
		return nil, pipeline.Problems{{On: "source", Name: in.Name, Got: in.Name,
			Message: "no such table among the sources " + strings.Join(globs, ", "),
			Fix:     "call list_sources to see the tables you may read"}}
	}
	out := sourceOut(*s)
	c.summary = "described " + s.Name
	return &out, nil
}
