package engine

import (
	"context"
	"strconv"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// A preview still needs real rows, so it inlines the upstream closure of
// what it shows. Spark's analyzer resolves nested WITH queries a level per
// pass of its Resolution batch and stops at spark.sql.analyzer.maxIterations
// (100 by default): a chain about 50 deep no longer resolves. Before a deep
// preview the engine raises that limit on the session, in proportion to the
// depth; it is a bound on the analyzer's work, not a permission, and the
// call timeout still bounds the preview.

// analyzerIterationsKey is Spark's bound on analyzer passes per batch.
const analyzerIterationsKey = "spark.sql.analyzer.maxIterations"

// defaultAnalyzerIterations is Spark's default for analyzerIterationsKey.
const defaultAnalyzerIterations = 100

// depthOf returns the longest chain of declared datasets (and flows) that
// roots read, directly or not: the nesting of a preview's inlined WITH.
func depthOf(p *pipeline.Pipeline, roots []string) int {
	g := pipeline.BuildGraph(p)
	memo := map[string]int{}
	var depth func(name string, seen map[string]bool) int
	depth = func(name string, seen map[string]bool) int {
		if d, ok := memo[name]; ok {
			return d
		}
		if seen[name] {
			return 0 // a cycle: static checks report it
		}
		seen[name] = true
		best := 0
		for _, dep := range g.Dependencies(name) {
			best = max(best, 1+depth(dep, seen))
		}
		delete(seen, name)
		memo[name] = best
		return best
	}
	out := 0
	for _, r := range roots {
		out = max(out, depth(r, map[string]bool{}))
	}
	return out
}

// analyzerIterations is the iteration bound a preview of that depth needs.
func analyzerIterations(depth int) int {
	return max(defaultAnalyzerIterations, 4*depth+50)
}

// raiseAnalyzerLimit makes sure the session's analyzer can resolve a
// preview whose inlined closure is depth deep.
func (e *Engine) raiseAnalyzerLimit(ctx context.Context, depth int) error {
	want := analyzerIterations(depth)
	if want <= defaultAnalyzerIterations {
		return nil
	}
	return e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		got, err := c.GetConf(cctx, analyzerIterationsKey)
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(got[analyzerIterationsKey]); err == nil && n >= want {
			return nil
		}
		return c.SetConf(cctx, map[string]string{analyzerIterationsKey: strconv.Itoa(want)})
	})
}

// previewRoots are the declared datasets an ad-hoc body reads.
func previewRoots(p *pipeline.Pipeline, query string) []string {
	_, reads, err := pipeline.NewParts(p).Body("query", "", query)
	if err != nil {
		return nil
	}
	return reads
}
