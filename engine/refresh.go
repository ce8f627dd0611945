package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// A Spark session caches the file listing of every table it has read, and
// does not see files that other sessions (a pipeline run, an external
// writer) add or replace later: it reads stale rows, or fails with
// FAILED_READ_FILE.FILE_NOT_EXIST after a materialized view was rewritten.
// The shared session lives long, so before it reads rows the engine
// refreshes the tables the query reads.

// adhocName names an ad-hoc query body in the dependency graph; it cannot
// clash with a declared name, which must start with a letter.
const adhocName = "__sdp_mcp_query"

// readsOf lists the tables a batch query over p reads, fully qualified and
// quoted: the external sources of the named roots and of every declared
// dataset they read, directly or not. With materialized, declared
// materialized views and streaming tables are read from their tables (as
// ViolationCountSQL does) rather than inlined. query, when not empty, is an
// ad-hoc body that is a root too.
func (e *Engine) readsOf(p *pipeline.Pipeline, roots []string, query string, materialized bool) []string {
	if query != "" {
		p = p.Clone()
		p.Datasets = append(p.Datasets, pipeline.Dataset{Name: adhocName, Kind: pipeline.TemporaryView, Query: query})
		roots = append(slices.Clone(roots), adhocName)
	}
	g := pipeline.BuildGraph(p)
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		el, ok := g.Element(name)
		if !ok {
			return
		}
		for _, s := range el.Sources {
			if t := e.sourceTable(s); t != "" {
				add(t)
			}
		}
		for _, dep := range g.Dependencies(name) {
			d, isDataset := p.Dataset(dep)
			if isDataset && materialized && d.Kind != pipeline.TemporaryView {
				add(e.qualified(dep))
				continue
			}
			visit(dep)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	return out
}

// sourceTable qualifies a source the way the pipeline resolves it, or
// returns "" for a table-valued function or a path.
func (e *Engine) sourceTable(s pipeline.Source) string {
	if s.Function != "" || s.Path {
		return ""
	}
	parts := s.Parts
	switch len(parts) {
	case 1:
		parts = []string{e.cfg.Catalog, e.cfg.Database, parts[0]}
	case 2:
		parts = []string{e.cfg.Catalog, parts[0], parts[1]}
	case 3:
	default:
		return ""
	}
	q := make([]string, len(parts))
	for i, part := range parts {
		q[i] = quoteIdent(part)
	}
	return strings.Join(q, ".")
}

// refresh makes c's session drop what it cached about tables. A table that
// cannot be refreshed (it does not exist yet, say) is left to the query
// that follows, which reports it properly.
func (e *Engine) refresh(ctx context.Context, c *connect.Client, tables []string) error {
	for _, t := range tables {
		cctx, cancel := e.withCallTimeout(ctx)
		_, err := c.Collect(cctx, connect.SQLCommand("REFRESH TABLE "+t), connect.ExecOptions{})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !agentFixable(err) {
				return err
			}
			e.log.Debug("refresh table", "table", t, "err", err)
		}
	}
	return nil
}
