package main

import (
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// sqlGuard adapts the SQL guard (package guardrails) to the tools: it
// checks every body against the sources of the environment the pipeline is
// bound to, allowing the pipeline's own datasets.
type sqlGuard struct {
	envs      []config.Environment
	functions *guardrails.FunctionPolicy
	maxBytes  int
}

var _ tools.BodyChecker = sqlGuard{}

// newSQLGuard builds the guard for the configured environments and the
// policy's function lists (nil: every built-in), and checks the source lists
// once so that a bad list stops the server at start.
func newSQLGuard(cfg *config.Config, fp *guardrails.FunctionPolicy) (sqlGuard, error) {
	g := sqlGuard{envs: []config.Environment{cfg.Environments.Sandbox}, functions: fp, maxBytes: cfg.Limits.MaxQueryBytes}
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
	opts := guardrails.CheckOptions{DefaultCatalog: env.Catalog, DefaultSchema: env.Schema, AllowStream: stream,
		Functions: g.functions, MaxBytes: g.maxBytes, SparkLine: env.Spark}
	for _, s := range env.Sources {
		if strings.Count(s, ".") == 1 {
			s += ".*" // a whole schema
		}
		opts.AllowedSources = append(opts.AllowedSources, s)
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
func (g sqlGuard) CheckBody(p *pipeline.Pipeline, body, kind string) (pipeline.Problems, tools.BodyFacts) {
	opts := g.options(g.env(p), p, kind == tools.BodyStreamingQuery)
	text, lineShift := body, 0
	if kind == tools.BodyCondition {
		text, lineShift = conditionPrefix+body, 1
	}
	rep := guardrails.Check(text, opts)
	facts := tools.BodyFacts{Functions: make([]string, 0, len(rep.Functions))}
	for _, s := range rep.Sources {
		if !s.Function {
			facts.Reads = append(facts.Reads, strings.ToLower(strings.Join(s.Parts, ".")))
		}
	}
	for _, f := range rep.Functions {
		facts.Functions = append(facts.Functions, strings.ToLower(f))
	}
	if len(rep.Findings) == 0 {
		return nil, facts
	}
	ps := make(pipeline.Problems, 0, len(rep.Findings))
	for _, f := range rep.Findings {
		line := max(int(f.Start.Line)-lineShift, 1)
		ps = append(ps, pipeline.Problem{
			Got:     f.Got,
			Message: fmt.Sprintf("%s at line %d, column %d: %s", f.Rule, line, f.Start.Col, f.Message),
			Fix:     f.Hint,
		})
	}
	return ps, facts
}
