package main

import (
	"fmt"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// sqlGuard adapts the SQL guard (package guardrails) to the tools: it
// checks every body against the sources of the environment the pipeline is
// bound to, allowing the pipeline's own datasets.
type sqlGuard struct {
	envs []config.Environment
}

var _ tools.BodyChecker = sqlGuard{}

// newSQLGuard builds the guard for the configured environments, and checks
// their source lists once so that a bad list stops the server at start.
func newSQLGuard(cfg *config.Config) (sqlGuard, error) {
	g := sqlGuard{envs: []config.Environment{cfg.Environments.Sandbox}}
	if cfg.Environments.Production != nil {
		g.envs = append(g.envs, *cfg.Environments.Production)
	}
	for _, env := range g.envs {
		if err := g.options(env, nil, false).Validate(); err != nil {
			return sqlGuard{}, fmt.Errorf("environments.%s.sources: %w", env.Name, err)
		}
	}
	return g, nil
}

// env is the environment whose catalog and schema p is bound to; the
// sandbox when none matches.
func (g sqlGuard) env(p *pipeline.Pipeline) config.Environment {
	for _, e := range g.envs {
		if p != nil && e.Catalog == p.Catalog && e.Schema == p.Database {
			return e
		}
	}
	return g.envs[0]
}

func (g sqlGuard) options(env config.Environment, p *pipeline.Pipeline, stream bool) guardrails.CheckOptions {
	opts := guardrails.CheckOptions{DefaultCatalog: env.Catalog, DefaultSchema: env.Schema, AllowStream: stream}
	for _, s := range env.Sources {
		opts.AllowedSources = append(opts.AllowedSources, s+".*")
	}
	if p != nil {
		for _, d := range p.Datasets {
			opts.Datasets = append(opts.Datasets, d.Name)
		}
	}
	return opts
}

// conditionPrefix turns an expectation's boolean expression into a query
// the guard can check; findings are moved back by its one line.
const conditionPrefix = "SELECT\n"

// CheckBody implements tools.BodyChecker.
func (g sqlGuard) CheckBody(p *pipeline.Pipeline, body, kind string) pipeline.Problems {
	opts := g.options(g.env(p), p, kind == tools.BodyStreamingQuery)
	text, lineShift := body, 0
	if kind == tools.BodyCondition {
		text, lineShift = conditionPrefix+body, 1
	}
	findings := guardrails.CheckBody(text, opts)
	if len(findings) == 0 {
		return nil
	}
	ps := make(pipeline.Problems, 0, len(findings))
	for _, f := range findings {
		line := max(f.Start.Line-lineShift, 1)
		ps = append(ps, pipeline.Problem{
			Got:     f.Got,
			Message: fmt.Sprintf("%s at line %d, column %d: %s", f.Rule, line, f.Start.Col, f.Message),
			Fix:     f.Hint,
		})
	}
	return ps
}
