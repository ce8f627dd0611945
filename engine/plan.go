package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/guardrails"
	"github.com/sdp-mcp/sdp-mcp/guardrails/plan"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// The plan check. Before the engine sends SQL holding an agent's text for
// execution (previews, expectation counts, runs), it asks Spark for the
// analyzed plan of that exact SQL (AnalyzePlan, explain mode EXTENDED, which
// executes nothing) and checks it with package guardrails/plan: the tables
// and views Spark resolved must be allowed sources or the pipeline's
// datasets and must agree with the static scan of the same text; a view's
// definition is checked against the view's own plan; script transforms,
// unknown leaf operators, nameless file relations and unreadable plans are
// refused. Validate checks the plan of every part next to its analysis.
// Refusals are pipeline.Problems; a server that does not answer is an error.

// sourceGlobs is the allow-list of the plan check, as catalog.schema.table
// globs: the configured table globs of each source schema.
func (e *Engine) sourceGlobs() []string {
	var out []string
	for _, s := range e.sources {
		for _, t := range s.tables {
			out = append(out, s.String()+"."+t)
		}
	}
	return out
}

// maxCheckedSQL bounds the SQL the static scan reads for the plan check;
// generated SQL (upstreams inlined) may exceed the cap on an agent's body.
const maxCheckedSQL = 16 << 20

// guardOptions are the options of the static scan of SQL over p (bound to
// the engine). Only the relations it finds are used, so STREAM is allowed.
func (e *Engine) guardOptions(p *pipeline.Pipeline) guardrails.CheckOptions {
	o := guardrails.CheckOptions{AllowedSources: e.sourceGlobs(), DefaultCatalog: p.Catalog, DefaultSchema: p.Database,
		AllowStream: true, MaxBytes: maxCheckedSQL}
	for _, d := range p.Datasets {
		o.Datasets = append(o.Datasets, d.Name)
	}
	return o
}

// subject is the element SQL is sent for: a dataset or flow, or the ad-hoc
// query (on "query", no name), with its own text.
type subject struct{ on, name, text string }

// checkPlan checks the analyzed plan of rel, whose SQL text is sql, sent for
// subj over p (bound). It returns the refusals as problems, nil when the
// plan passes. An error is Spark's answer to the explain (the SQL does not
// analyze; callers decide what that means) or an infrastructure failure.
func (e *Engine) checkPlan(ctx context.Context, p *pipeline.Pipeline, rel connect.Plan, sql string, subj subject) (pipeline.Problems, error) {
	gopts := e.guardOptions(p)
	text, err := e.explain(ctx, rel)
	if err != nil {
		return nil, err
	}
	var fs []guardrails.Finding
	pl, err := plan.Parse(text)
	if err != nil {
		fs = append(plan.LineBreaks(sql), plan.Unreadable(err))
	} else if fs, err = e.planFindings(ctx, p, gopts, pl, sql); err != nil {
		return nil, err
	}
	if len(fs) > 0 {
		e.log.Warn("plan check refused a query", "on", subj.on, "name", subj.name, "rules", rules(fs))
	}
	return planProblems(p, gopts, fs, subj), nil
}

// planFindings applies the plan rules to pl, the analyzed plan of sql over
// p (bound), with the plans of the views it reads.
func (e *Engine) planFindings(ctx context.Context, p *pipeline.Pipeline, gopts guardrails.CheckOptions, pl *plan.Plan, sql string) ([]guardrails.Finding, error) {
	opts := plan.Options{AllowedSources: gopts.AllowedSources, Catalog: p.Catalog, Schema: p.Database,
		Datasets: gopts.Datasets, Static: guardrails.Check(sql, gopts).Sources, SQL: sql}
	var err error
	if opts.ViewReads, err = e.viewReads(ctx, pl); err != nil {
		return nil, err
	}
	return plan.Check(pl, opts), nil
}

// explain returns the extended explain of rel, on the Spark session of the
// agent in ctx.
func (e *Engine) explain(ctx context.Context, rel connect.Plan) (string, error) {
	var text string
	e.analyzeCalls.Add(1)
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		text, err = c.Explain(cctx, rel, connect.ExplainExtended)
		return err
	})
	return text, err
}

// viewReads asks for the plan of each view pl reads directly, on its own,
// and lists what it reads: what may appear under the view in pl. A view
// whose plan cannot be had or read is left out, so Check refuses what it
// covers.
func (e *Engine) viewReads(ctx context.Context, pl *plan.Plan) (map[string][]string, error) {
	out := map[string][]string{}
	for _, v := range pl.Views() {
		q := make([]string, len(v))
		for i, part := range v {
			q[i] = quoteIdent(part)
		}
		text, err := e.explain(ctx, connect.SQL("SELECT * FROM "+strings.Join(q, ".")))
		if err != nil {
			if agentFixable(err) {
				continue
			}
			return nil, err
		}
		if vp, err := plan.Parse(text); err == nil {
			out[plan.JoinName(v)] = vp.Reads()
		}
	}
	return out, nil
}

func rules(fs []guardrails.Finding) []string {
	var out []string
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

// planProblems turns findings into problems on subj, or on the dataset or
// flow of p whose own text holds what a finding is about (SQL over p
// inlines the upstream datasets' bodies).
func planProblems(p *pipeline.Pipeline, gopts guardrails.CheckOptions, fs []guardrails.Finding, subj subject) pipeline.Problems {
	var ps pipeline.Problems
	for _, f := range fs {
		on, name := owner(p, gopts, f, subj)
		field := "query"
		if on == "query" {
			field = "" // the ad-hoc body is the whole subject
		}
		ps = append(ps, pipeline.Problem{On: on, Name: name, Field: field, Got: f.Got, Message: f.Rule + ": " + f.Message, Fix: f.Hint})
	}
	return dedupe(ps)
}

// owner is the element a finding is about: subj when its own text holds
// the relation read or the text found, else the one other dataset or flow
// of p whose text does, else subj.
func owner(p *pipeline.Pipeline, gopts guardrails.CheckOptions, f guardrails.Finding, subj subject) (on, name string) {
	var holds func(text string) bool
	switch f.Rule {
	case plan.RuleSource:
		holds = func(text string) bool {
			return slices.ContainsFunc(guardrails.Check(text, gopts).Sources, func(s guardrails.Source) bool {
				return !s.Function && plan.JoinName(lower(s.Parts)) == f.Got
			})
		}
	case plan.RuleLineBreak, plan.RuleScript:
		holds = func(text string) bool { return f.Got != "" && strings.Contains(text, f.Got) }
	default:
		return subj.on, subj.name
	}
	if holds(subj.text) {
		return subj.on, subj.name
	}
	var hits []string
	for _, d := range p.Datasets {
		if d.Name != subj.name && holds(d.Query) {
			hits = append(hits, d.Name)
		}
	}
	for _, fl := range p.Flows {
		if fl.Name != subj.name && holds(fl.Query) {
			hits = append(hits, fl.Name)
		}
	}
	if len(hits) == 1 {
		return kindOn(p, hits[0]), hits[0]
	}
	return subj.on, subj.name
}

func lower(parts []string) []string {
	out := make([]string, len(parts))
	for i, s := range parts {
		out[i] = strings.ToLower(s)
	}
	return out
}

// checkParts checks the plan of every part of p (bound) — each dataset's
// and flow's query as analysis sends it (its direct upstreams standing in,
// expectation conditions evaluated, see analysis.go) — a part whose
// upstream does not analyze being skipped (its problem is the upstream's).
// With analysisErrs, a part that does not analyze is a problem too (Run: a
// plan that cannot be had is not run). It also returns the columns each
// dataset that analysed will have.
func (e *Engine) checkParts(ctx context.Context, p *pipeline.Pipeline, g *pipeline.Graph, analysisErrs bool) (pipeline.Problems, map[string][]connect.Column, error) {
	ident, err := e.identity(ctx)
	if err != nil {
		return nil, nil, err
	}
	w, err := e.walkParts(ctx, p, g, ident, nil)
	if err != nil {
		return nil, nil, err
	}
	out := w.plan
	if analysisErrs {
		out = append(out, w.a.problems...)
	}
	return dedupe(out), w.a.columns, nil
}
