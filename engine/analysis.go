package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Per-part analysis. Each dataset's and flow's query body ("part") is
// resolved against its direct upstreams' already known columns, each
// upstream standing in as a CTE of typed constants and no rows
// (pipeline.StandInSQL), so the work per part does not grow with its depth
// and a whole pass is O(datasets + edges). Parts are walked in dependency
// levels; the parts of one level are independent and go side by side.
//
// What a part's analysis established (its columns, its problems, its plan
// check) is kept in the engine's fact cache under a key that covers
// everything the answer depends on: the exact SQL sent (the part's body,
// the stand-ins, i.e. its upstreams' columns, and its expectation checks),
// the element's name and target, the schemas of the source tables it reads,
// the engine (Spark version, server session, lockdown settings, catalog and
// schema) and the policy (the allowed sources). A change to any of them is
// a new key: a cached fact never outlives what it depends on.

// partFacts is what analysis established about one element (a dataset or
// a flow).
type partFacts struct {
	cols     []connect.Column
	problems pipeline.Problems // analysis problems (the query, the expectations)
	plan     pipeline.Problems // plan-check refusals
	failed   bool              // the element's analysis failed: downstream is not analyzed
	target   bool              // its target dataset fails too (expectations that do not resolve)
}

// maxFacts bounds the fact cache; when full it is emptied.
const maxFacts = 50000

// factCache holds part facts and the dry-runs that passed. Its zero value is
// ready to use.
type factCache struct {
	mu    sync.Mutex
	facts map[string]*partFacts
	// dryRuns are the pipeline hashes (with the engine identity) whose
	// full dry-run passed.
	dryRuns map[string]bool
	// verified are, per engine identity and pipeline name, the element
	// declarations a passing dry-run covered (validate_dryrun.go).
	verified map[string]map[string]string
}

func (c *factCache) get(key string) (*partFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.facts[key]
	return f, ok
}

func (c *factCache) put(key string, f *partFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.facts == nil || len(c.facts) >= maxFacts {
		c.facts = map[string]*partFacts{}
	}
	c.facts[key] = f
}

func (c *factCache) dryRunPassed(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dryRuns[key]
}

func (c *factCache) recordDryRun(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dryRuns == nil || len(c.dryRuns) >= maxFacts {
		c.dryRuns = map[string]bool{}
	}
	c.dryRuns[key] = true
}

// walk is one analysis pass over a pipeline.
type walk struct {
	e     *Engine
	p     *pipeline.Pipeline
	g     *pipeline.Graph
	parts *pipeline.Parts
	ident string            // engine and policy identity
	srcs  map[string]string // source table → its schema (or the error reading it)

	mu       sync.Mutex
	a        *analysis
	plan     pipeline.Problems
	changed  map[string]bool             // elements analysed afresh (not from the cache)
	partCols map[string][]connect.Column // each analysed part's own columns
	analyzed int
	reused   int
}

// walkParts analyses every part of p (bound) against stand-ins, reusing
// cached facts.
//
// srcs are the schemas of the source tables g reads (sourceSchemas); nil
// reads them.
func (e *Engine) walkParts(ctx context.Context, p *pipeline.Pipeline, g *pipeline.Graph, ident string, srcs map[string]string) (*walk, error) {
	w := &walk{e: e, p: p, g: g, parts: pipeline.NewParts(p), changed: map[string]bool{}, partCols: map[string][]connect.Column{}, ident: ident,
		a: &analysis{columns: map[string][]connect.Column{}, failed: map[string]bool{}}}
	w.srcs = srcs
	if srcs == nil {
		var err error
		if w.srcs, err = e.sourceSchemas(ctx, g); err != nil {
			return nil, err
		}
	}
	order, err := g.Order()
	if err != nil {
		return nil, err // cannot happen: static checks found no cycle
	}
	for _, level := range levels(g, order) {
		var pending, alone []*pendingPart
		for _, name := range level {
			parts, err := w.prepare(name)
			if err != nil {
				return nil, err
			}
			for _, pp := range parts {
				if batchable(pp) {
					pending = append(pending, pp)
				} else {
					alone = append(alone, pp)
				}
			}
		}
		batch := analysisBatch
		if e.batch > 0 {
			batch = e.batch
		}
		var groups [][]*pendingPart
		for len(pending) > 0 {
			n := min(batch, len(pending))
			groups, pending = append(groups, pending[:n]), pending[n:]
		}
		for _, pp := range alone {
			groups = append(groups, []*pendingPart{pp})
		}
		var wg sync.WaitGroup
		var errs []error
		var emu sync.Mutex
		sem := make(chan struct{}, analysisParallelism)
		for _, group := range groups {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				facts, err := e.analyzeParts(ctx, p, group)
				if err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
					return
				}
				for i, pp := range group {
					e.facts.put(pp.key, facts[i])
					w.record(pp.name, pp.d, facts[i], false)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, name := range level {
			w.finish(name)
		}
	}
	w.a.problems = dedupe(w.a.problems)
	return w, nil
}

// levels groups order (a dependency order of g) into levels whose elements
// depend only on earlier levels.
func levels(g *pipeline.Graph, order []string) [][]string {
	at := map[string]int{}
	var out [][]string
	for _, name := range order {
		l := 0
		for _, dep := range g.Dependencies(name) {
			if dl, ok := at[dep]; ok && dl+1 > l {
				l = dl + 1
			}
		}
		at[name] = l
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], name)
	}
	return out
}

// prepare lists the parts of one dataset or flow whose upstreams are done
// that the cache does not answer; the facts of those it answers are
// recorded. An element reading one that failed is not analysed.
func (w *walk) prepare(name string) ([]*pendingPart, error) {
	w.mu.Lock()
	skip := slices.ContainsFunc(w.g.Dependencies(name), func(dep string) bool { return w.a.failed[dep] })
	if skip {
		w.a.failed[name] = true
	}
	w.mu.Unlock()
	if skip {
		return nil, nil
	}
	if f, ok := w.p.Flow(name); ok {
		target, _ := w.p.Dataset(f.Target)
		return w.part("flow", name, f.Query, target)
	}
	if d, ok := w.p.Dataset(name); ok && d.Query != "" {
		return w.part("dataset", name, d.Query, d)
	}
	return nil, nil
}

// finish sets the columns of one dataset or flow once its parts are
// analysed: a streaming table fed by flows has the union, by name, of its
// own query's and its flows' columns (each analysed on its own).
func (w *walk) finish(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cols, analysed := w.partCols[name]
	if _, ok := w.p.Flow(name); ok {
		if analysed {
			w.a.columns[name] = cols
		}
		return
	}
	flows := w.p.FlowsInto(name)
	if len(flows) == 0 {
		if analysed {
			w.a.columns[name] = cols
		}
		return
	}
	var parts [][]connect.Column
	if analysed {
		parts = append(parts, cols)
	}
	for _, f := range flows {
		parts = append(parts, w.a.columns[f.Name])
	}
	w.a.columns[name] = unionByName(parts)
}

// part prepares one body writing to d: nothing pending when the cache
// answers it or it cannot be built (a problem).
func (w *walk) part(on, name, query string, d pipeline.Dataset) ([]*pendingPart, error) {
	body, reads, err := w.parts.Body(on, name, query)
	if err != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		return nil, w.a.fail(name, err)
	}
	w.mu.Lock()
	sql, ok := pipeline.StandInSQL(body, reads, func(r string) []pipeline.StandInColumn {
		return standInColumns(w.a.columns[r])
	})
	w.mu.Unlock()
	if !ok { // a column a stand-in cannot carry: inline the upstreams instead
		if sql, err = pipeline.PreviewQuerySQL(w.p, query, 1); err != nil {
			w.mu.Lock()
			defer w.mu.Unlock()
			return nil, w.a.fail(name, err)
		}
	}
	checked := withChecks(sql, d.Expectations)
	key := w.key(on, name, d.Name, checked)
	if f, hit := w.e.facts.get(key); hit {
		w.record(name, d, f, true)
		return nil, nil
	}
	return []*pendingPart{{on: on, name: name, query: query, sql: sql, checked: checked, d: d, key: key}}, nil
}

// record adds what analysis established about part name (writing to d).
func (w *walk) record(name string, d pipeline.Dataset, f *partFacts, hit bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if hit {
		w.reused++
	} else {
		w.analyzed++
		w.changed[name] = true
	}
	w.partCols[name] = f.cols
	w.a.problems = append(w.a.problems, f.problems...)
	w.plan = append(w.plan, f.plan...)
	if f.failed {
		w.a.failed[name] = true
	}
	if f.target {
		w.a.failed[name], w.a.failed[d.Name] = true, true
	}
}

// key is the cache key of a part: everything its analysis depends on.
func (w *walk) key(on, name, target, sql string) string {
	h := sha256.New()
	fmt.Fprintf(h, "sdp-mcp/part-facts/v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00", w.ident, on, name, target, sql)
	if el, ok := w.g.Element(name); ok {
		for _, s := range el.Sources {
			if t := w.e.sourceTable(s); t != "" {
				fmt.Fprintf(h, "%s=%s\x00", t, w.srcs[t])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// analyzeFacts analyses one part afresh: its columns (with its expectation
// conditions resolved over them) and, side by side, its plan check.
func (e *Engine) analyzeFacts(ctx context.Context, p *pipeline.Pipeline, on, name, query, sql string, d pipeline.Dataset) (*partFacts, error) {
	la := &analysis{columns: map[string][]connect.Column{}, failed: map[string]bool{}}
	checked := withChecks(sql, d.Expectations)
	var (
		wg      sync.WaitGroup
		planPs  pipeline.Problems
		planErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		planPs, planErr = e.checkPlan(ctx, p, connect.SQL(checked), checked, subject{on: on, name: name, text: query})
	}()
	cols, err := e.analyzeSQL(ctx, la, on, name, sql, d)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if planErr != nil {
		if !agentFixable(planErr) {
			return nil, planErr
		}
		planPs = nil // the SQL does not analyze: analysis reports why
	}
	return &partFacts{cols: cols, problems: la.problems, plan: planPs,
		failed: la.failed[name], target: la.failed[d.Name] && d.Name != name}, nil
}

// standInColumns converts known columns for a stand-in.
func standInColumns(cols []connect.Column) []pipeline.StandInColumn {
	out := make([]pipeline.StandInColumn, len(cols))
	for i, c := range cols {
		out[i] = pipeline.StandInColumn{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return out
}

// identity names the engine and policy a fact was established under: the
// Spark version and server session of the shared session (a restarted
// server or a new session starts afresh), the lockdown settings, the
// pipeline's catalog and schema, and the allowed sources.
func (e *Engine) identity(ctx context.Context) (string, error) {
	var b strings.Builder
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		v, err := c.ServerVersion(cctx)
		if err != nil {
			return err
		}
		b.Reset()
		fmt.Fprintf(&b, "spark %d.%d.%d\nsession %s/%s\n", v.Major, v.Minor, v.Patch, c.SessionID(), c.ServerSessionID())
		return nil
	})
	if err != nil {
		return "", err
	}
	conf := lockdown()
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "conf %s=%s\n", k, conf[k])
	}
	fmt.Fprintf(&b, "target %s.%s\n", e.cfg.Catalog, e.cfg.Database)
	globs := e.sourceGlobs()
	sort.Strings(globs)
	fmt.Fprintf(&b, "sources %s\n", strings.Join(globs, ","))
	return b.String(), nil
}

// sourceSchemas reads the schema of every source table g reads, side by
// side: a part's facts depend on the schemas of the tables it reads. A
// table that cannot be read maps to Spark's error, which is part of the key
// as well.
func (e *Engine) sourceSchemas(ctx context.Context, g *pipeline.Graph) (map[string]string, error) {
	var tables []string
	for _, s := range g.Sources() {
		if t := e.sourceTable(s); t != "" && !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	out := make(map[string]string, len(tables))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	sem := make(chan struct{}, analysisParallelism)
	for _, t := range tables {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var cols []connect.Column
			err := e.withSession(ctx, func(c *connect.Client) error {
				if err := e.refresh(ctx, c, []string{t}); err != nil {
					return err
				}
				cctx, cancel := e.withCallTimeout(ctx)
				defer cancel()
				var err error
				cols, err = c.Schema(cctx, connect.Table(t))
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				var b strings.Builder
				for _, c := range cols {
					b.WriteString(c.String() + ",")
				}
				out[t] = b.String()
			case agentFixable(err):
				f, _ := failureOf(err)
				out[t] = "error " + f.Class
			default:
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
