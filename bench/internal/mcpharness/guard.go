package mcpharness

import (
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// guard is the SQL guard as `serve` wires it (cmd/sdp-mcp's, which is not
// importable): guardrails.Check with the environment's sources and the
// pipeline's datasets.
type guard struct{ env config.Environment }

func (g guard) CheckBody(p *pipeline.Pipeline, body, kind string) (pipeline.Problems, tools.BodyFacts) {
	opts := guardrails.CheckOptions{DefaultCatalog: g.env.Catalog, DefaultSchema: g.env.Schema,
		AllowStream: kind == tools.BodyStreamingQuery}
	opts.AllowedSources = append(opts.AllowedSources, g.env.Sources...)
	if p != nil {
		for _, d := range p.Datasets {
			opts.Datasets = append(opts.Datasets, d.Name)
		}
	}
	if kind == tools.BodyCondition {
		body = "SELECT\n" + body
	}
	rep := guardrails.Check(body, opts)
	var facts tools.BodyFacts
	for _, s := range rep.Sources {
		facts.Reads = append(facts.Reads, strings.ToLower(strings.Join(s.Parts, ".")))
	}
	facts.Functions = rep.Functions
	var ps pipeline.Problems
	for _, f := range rep.Findings {
		ps = append(ps, pipeline.Problem{Got: f.Got, Message: f.Rule + ": " + f.Message, Fix: f.Hint})
	}
	return ps, facts
}
