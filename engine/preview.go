package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Preview limits.
const (
	// DefaultPreviewLimit is the row limit when PreviewRequest.Limit is 0.
	DefaultPreviewLimit = 20
	// MaxPreviewLimit is the largest row limit a preview accepts.
	MaxPreviewLimit = 1000
	// DefaultPreviewMaxBytes is the Arrow byte cap when
	// PreviewRequest.MaxBytes is 0.
	DefaultPreviewMaxBytes = 4 << 20
)

// shrinkSteps is how often a preview that passed its byte cap is tried
// again with a quarter of the rows.
const shrinkSteps = 3

// Preview returns the schema and first rows of a declared dataset, computed
// from the declarations without any prior run (upstream declarations
// inlined, STREAM reads previewed as batch reads, drop expectations
// applied), or of an ad-hoc query body over the pipeline's datasets. With
// req.Materialized it reads the dataset's table instead, as the last run
// wrote it.
//
// The row limit is a Limit relation built by the server, one row more than
// asked so that Truncated is known; the Arrow bytes are capped (a preview
// over the cap is retried with fewer rows and marked truncated); the call
// is tagged and interrupted at the engine's call timeout. Errors the agent
// can fix are pipeline.Problems.
func (e *Engine) Preview(ctx context.Context, p *pipeline.Pipeline, req PreviewRequest) (*PreviewResult, error) {
	started := time.Now()
	b := e.bind(p)
	limit, maxBytes, err := previewLimits(req)
	if err != nil {
		return nil, err
	}
	on, name := "dataset", req.Dataset
	if req.Query != "" {
		on, name = "query", ""
	}
	build := func(n int) (connect.Plan, string, error) {
		var sql string
		var err error
		switch {
		case req.Materialized:
			return connect.Limit(connect.Table(e.qualified(req.Dataset)), int32(n)), "", nil
		case req.Query != "":
			sql, err = pipeline.PreviewQuerySQL(b, req.Query, n)
		default:
			sql, err = pipeline.PreviewSQL(b, req.Dataset, n)
		}
		return connect.Limit(connect.SQL(sql), int32(n)), sql, err
	}
	var tables []string
	switch {
	case req.Materialized:
		if err := materializable(b, req.Dataset); err != nil {
			return nil, err
		}
		tables = []string{e.qualified(req.Dataset)}
	case req.Query != "":
		tables = e.readsOf(b, nil, req.Query, false)
	default:
		tables = e.readsOf(b, []string{req.Dataset}, "", false)
	}

	if !req.Materialized {
		roots := []string{req.Dataset}
		if req.Query != "" {
			roots = previewRoots(b, req.Query)
		}
		if err := e.raiseAnalyzerLimit(ctx, depthOf(b, roots)); err != nil {
			return nil, err
		}
	}

	shrunk := false
	for step := 0; ; step++ {
		plan, sql, err := build(limit + 1)
		if err != nil {
			return nil, err
		}
		if sql != "" { // an agent's text: its plan is checked first
			subj := subject{on: on, name: name, text: req.Query}
			if d, ok := b.Dataset(req.Dataset); ok {
				subj.text = d.Query
			}
			ps, err := e.checkPlan(ctx, b, plan, sql, subj)
			if err == nil && len(ps) > 0 {
				err = ps
			}
			if err != nil {
				return nil, e.previewError(ctx, b, err, on, name, req, maxBytes)
			}
		}
		res, err := e.collect(ctx, plan, maxBytes, tables)
		if errors.Is(err, connect.ErrResultTooLarge) && limit > 1 && step < shrinkSteps {
			limit = max(1, limit/4)
			shrunk = true
			continue
		}
		if err != nil {
			return nil, e.previewError(ctx, b, err, on, name, req, maxBytes)
		}
		out := &PreviewResult{Columns: res.Columns, Rows: res.Rows, Truncated: shrunk, Materialized: req.Materialized}
		if len(out.Rows) > limit {
			out.Rows, out.Truncated = out.Rows[:limit], true
		}
		out.Elapsed = time.Since(started)
		return out, nil
	}
}

func previewLimits(req PreviewRequest) (limit int, maxBytes int64, err error) {
	var ps pipeline.Problems
	switch {
	case (req.Dataset == "") == (req.Query == ""):
		ps = append(ps, pipeline.Problem{On: "preview", Field: "dataset",
			Message: "give exactly one of dataset (a declared dataset) and query (an ad-hoc query body)",
			Fix:     "set dataset to preview a declaration, or query to preview a query body"})
	case req.Materialized && req.Dataset == "":
		ps = append(ps, pipeline.Problem{On: "preview", Field: "materialized",
			Message: "only a declared dataset has a table to read", Fix: "name the dataset, or drop materialized"})
	}
	limit = req.Limit
	if limit == 0 {
		limit = DefaultPreviewLimit
	}
	if limit < 1 || limit > MaxPreviewLimit {
		ps = append(ps, pipeline.Problem{On: "preview", Field: "limit", Got: strconv.Itoa(req.Limit),
			Message: fmt.Sprintf("the row limit must be between 1 and %d", MaxPreviewLimit),
			Fix:     fmt.Sprintf("ask for at most %d rows, e.g. %d", MaxPreviewLimit, DefaultPreviewLimit)})
	}
	maxBytes = req.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultPreviewMaxBytes
	}
	if maxBytes < 0 {
		ps = append(ps, pipeline.Problem{On: "preview", Field: "max_bytes", Got: strconv.FormatInt(req.MaxBytes, 10),
			Message: "the byte cap must be positive", Fix: "leave it out for the default"})
	}
	return limit, maxBytes, ps.Err()
}

// materializable checks that name is a dataset a run writes to a table.
func materializable(p *pipeline.Pipeline, name string) error {
	d, ok := p.Dataset(name)
	switch {
	case !ok:
		return pipeline.Problems{{On: "preview", Field: "dataset", Got: name,
			Message: "no dataset has this name", Fix: "preview one of the declared datasets"}}
	case d.Kind == pipeline.TemporaryView:
		return pipeline.Problems{{On: "preview", Field: "materialized", Got: name,
			Message: "a temporary view is not stored, so a run leaves no table to read",
			Fix:     "preview its declaration (materialized false)"}}
	}
	return nil
}

// collect refreshes tables, then runs plan on the shared session with the
// byte cap, a tag of its own and the call timeout; when the timeout
// strikes, everything carrying the tag is interrupted.
func (e *Engine) collect(ctx context.Context, plan connect.Plan, maxBytes int64, tables []string) (*connect.Result, error) {
	tag := "sdp-mcp-preview-" + uuid.NewString()
	var res *connect.Result
	err := e.withSession(ctx, func(c *connect.Client) error {
		if err := e.refresh(ctx, c, tables); err != nil {
			return err
		}
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		res, err = c.Collect(cctx, plan, connect.ExecOptions{MaxBytes: maxBytes, Tags: []string{tag}})
		if err != nil && cctx.Err() != nil {
			ictx, icancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if ids, ierr := c.InterruptTag(ictx, tag); ierr != nil {
				e.log.Warn("interrupt preview", "tag", tag, "err", ierr)
			} else if len(ids) > 0 {
				e.log.Info("interrupted preview", "tag", tag, "operations", ids)
			}
			icancel()
		}
		return err
	})
	return res, err
}

// previewError turns a failed preview into problems when the agent can do
// something about it.
func (e *Engine) previewError(ctx context.Context, p *pipeline.Pipeline, err error, on, name string, req PreviewRequest, maxBytes int64) error {
	field := "query"
	if on == "query" {
		field = "" // the ad-hoc body is the whole subject
	}
	switch {
	case ctx.Err() != nil:
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return pipeline.Problems{{On: on, Name: name, Field: field,
			Message: fmt.Sprintf("the preview did not finish within %s and was interrupted", e.cfg.CallTimeout),
			Fix:     "preview an upstream dataset, filter the rows early, or avoid expensive joins and aggregations"}}
	case errors.Is(err, connect.ErrResultTooLarge):
		return pipeline.Problems{{On: "preview", Field: "max_bytes", Got: strconv.FormatInt(maxBytes, 10),
			Message: "even a single row is larger than the byte cap",
			Fix:     "select fewer or smaller columns"}}
	case !agentFixable(err):
		return err
	}
	f, _ := failureOf(err)
	if req.Materialized && f.Class == "TABLE_OR_VIEW_NOT_FOUND" {
		return pipeline.Problems{{On: "dataset", Name: name,
			Message: "no run has written this dataset's table in this environment",
			Fix:     "run the pipeline first, or preview the declaration (materialized false)"}}
	}
	// The failing text may be an inlined upstream's: name that one.
	if n := locate(p, f.Fragment, name); n != name && !strings.Contains(req.Query, f.Fragment) {
		return pipeline.Problems{f.problem(kindOn(p, n), n, "query", e.hints())}
	}
	return pipeline.Problems{f.problem(on, name, field, e.hints())}
}

// locate returns the one dataset or flow whose query holds fragment, or
// dflt when it is dflt's, nobody's, or several.
func locate(p *pipeline.Pipeline, fragment, dflt string) string {
	if strings.TrimSpace(fragment) == "" {
		return dflt
	}
	var hits []string
	for _, d := range p.Datasets {
		if strings.Contains(d.Query, fragment) {
			if d.Name == dflt {
				return dflt
			}
			hits = append(hits, d.Name)
		}
	}
	for _, f := range p.Flows {
		if strings.Contains(f.Query, fragment) {
			hits = append(hits, f.Name)
		}
	}
	if len(hits) == 1 {
		return hits[0]
	}
	return dflt
}
