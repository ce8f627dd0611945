package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// The SDP dry-run of a validation. A dry-run of the whole graph is the
// ground truth: it runs on a cold validation. Once one passed, the engine
// remembers every element's declaration as verified; a later validation of
// the same pipeline dry-runs only what changed since (elements whose
// declaration changed, their direct dependents, and the elements analysis
// had to analyse afresh), with each unchanged upstream standing in as a
// dataset of typed constants and no rows. When a full dry-run already
// passed for the very same draft, none runs. Where a partial dry-run could
// not stand for the change (a streaming read of an unchanged upstream, a
// changed configuration), the whole graph is dry-run again.

// dryRunPlan is what a validation's dry-run is to be.
type dryRunPlan struct {
	full, skip bool
	kind       string
	elements   int
	passedKey  string // the key recording that a full dry-run passed for this draft
	verifyKey  string // the key of the pipeline's verified declarations
}

// Dry-run kinds, as ValidationChecks.DryRun reports them.
const (
	dryRunFull    = "full"
	dryRunPartial = "partial"
	dryRunReused  = "reused"
)

// configElement keys the pipeline's configuration among the verified
// declarations; it cannot clash with an element name.
const configElement = "\x00configuration"

// srcs keys the schemas of the source tables p reads: a dry-run that passed
// stands for the draft only while they are unchanged. (What changed in them
// is re-analysed, and a partial dry-run covers it.)
func (e *Engine) planDryRun(p *pipeline.Pipeline, hash, ident, srcs string) *dryRunPlan {
	dr := &dryRunPlan{passedKey: ident + "\x00" + hash + "\x00" + srcs, verifyKey: ident + "\x00" + p.Name}
	switch {
	case e.facts.dryRunPassed(dr.passedKey):
		dr.skip, dr.kind = true, dryRunReused
	case e.facts.verifiedDecls(dr.verifyKey) == nil:
		dr.full, dr.kind, dr.elements = true, dryRunFull, len(p.Datasets)+len(p.Flows)
	default:
		dr.kind = dryRunPartial
	}
	return dr
}

// fullDryRun dry-runs the whole graph of p (bound) and, when it passes,
// records p's declarations as verified.
func (e *Engine) fullDryRun(ctx context.Context, p *pipeline.Pipeline, dr *dryRunPlan) (pipeline.Problems, error) {
	dr.full, dr.kind, dr.elements = true, dryRunFull, len(p.Datasets)+len(p.Flows)
	ps, err := e.dryRun(ctx, p, nil)
	if err != nil || len(ps) > 0 {
		return ps, err
	}
	e.facts.recordDryRun(dr.passedKey)
	e.facts.setVerified(dr.verifyKey, declarations(p), false)
	return nil, nil
}

// partialDryRun dry-runs what changed in p (bound) since its declarations
// were last verified, against stand-ins for the unchanged upstreams, or
// the whole graph when a part cannot stand for the change.
func (e *Engine) partialDryRun(ctx context.Context, p *pipeline.Pipeline, g *pipeline.Graph, w *walk, dr *dryRunPlan) (pipeline.Problems, error) {
	verified := e.facts.verifiedDecls(dr.verifyKey)
	decls := declarations(p)
	if verified == nil || verified[configElement] != decls[configElement] {
		return e.fullDryRun(ctx, p, dr)
	}
	include := map[string]bool{}
	for name, h := range decls {
		if name == configElement || verified[name] == h {
			continue
		}
		include[name] = true
		for _, dep := range g.Dependents(name) {
			include[dep] = true
		}
	}
	for name := range w.changed {
		include[name] = true
	}
	// A flow's target, and every flow of an included streaming table.
	for name := range include {
		if f, ok := p.Flow(name); ok {
			include[f.Target] = true
		}
	}
	for name := range include {
		for _, f := range p.FlowsInto(name) {
			include[f.Name] = true
		}
	}
	if len(include) == 0 {
		dr.skip, dr.kind = true, dryRunReused
		return nil, nil
	}
	sub := p.Clone()
	sub.Datasets, sub.Flows = nil, nil
	standIns := map[string]bool{}
	for _, d := range p.Datasets {
		if include[d.Name] {
			sub.Datasets = append(sub.Datasets, d)
		}
	}
	for _, f := range p.Flows {
		if include[f.Name] {
			sub.Flows = append(sub.Flows, f)
		}
	}
	for name := range include {
		query := ""
		if f, ok := p.Flow(name); ok {
			query = f.Query
		} else if d, ok := p.Dataset(name); ok {
			query = d.Query
		}
		for _, dep := range g.Dependencies(name) {
			if include[dep] || standIns[dep] {
				continue
			}
			up, ok := p.Dataset(dep)
			if !ok {
				continue
			}
			if slices.Contains(w.parts.StreamReads(query), dep) {
				return e.fullDryRun(ctx, p, dr) // no stand-in streams
			}
			q, ok := pipeline.StandInQuery(standInColumns(w.a.columns[dep]))
			if !ok {
				return e.fullDryRun(ctx, p, dr)
			}
			kind := pipeline.MaterializedView
			if up.Kind == pipeline.TemporaryView {
				kind = pipeline.TemporaryView
			}
			standIns[dep] = true
			sub.Datasets = append(sub.Datasets, pipeline.Dataset{Name: dep, Kind: kind, Query: q})
		}
	}
	dr.elements = len(include)
	ps, err := e.dryRun(ctx, sub, standIns)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		changed := map[string]string{}
		for name := range include {
			if h, ok := decls[name]; ok {
				changed[name] = h
			}
		}
		e.facts.setVerified(dr.verifyKey, changed, true)
	}
	return ps, nil
}

// declarations hashes each dataset's and flow's declaration, and the
// pipeline's configuration.
func declarations(p *pipeline.Pipeline) map[string]string {
	out := make(map[string]string, len(p.Datasets)+len(p.Flows)+1)
	hash := func(v any) string {
		data, _ := json.Marshal(v) // plain structs: cannot fail
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	}
	for _, d := range p.Datasets {
		out[d.Name] = hash(d)
	}
	for _, f := range p.Flows {
		out[f.Name] = hash(f)
	}
	out[configElement] = hash(p.Configuration)
	return out
}

func (c *factCache) verifiedDecls(key string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified[key]
}

// setVerified records decls as verified under key; with merge, on top of
// what was verified before.
func (c *factCache) setVerified(key string, decls map[string]string, merge bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verified == nil || len(c.verified) >= maxFacts {
		c.verified = map[string]map[string]string{}
	}
	if !merge || c.verified[key] == nil {
		c.verified[key] = decls
		return
	}
	next := make(map[string]string, len(c.verified[key])+len(decls))
	for k, v := range c.verified[key] {
		next[k] = v
	}
	for k, v := range decls {
		next[k] = v
	}
	c.verified[key] = next
}
