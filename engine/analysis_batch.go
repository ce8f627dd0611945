package engine

import (
	"context"
	"errors"
	"sync"

	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/guardrails/plan"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Batched analysis. Most of the cost of analysing one small part is the
// server's cost per request, not the part, so parts of one dependency
// level that the cache does not answer are analysed several at a time: one
// query holds them side by side (plan.BatchSQL), each in a FROM subquery of
// its own packed into one struct column, and one schema request and one
// explain answer for all of them. A subquery in FROM cannot see its
// siblings, so each part resolves exactly as it would alone. The struct fields are each part's columns (with their
// nullability); plan.Split cuts the analyzed plan into each part's own
// plan, which passes the same plan check, with that part's own static scan
// and text, as the plan of the part sent alone. Whenever the batch is not
// the easy case — Spark refuses it, the plan does not split exactly, a
// part has a plan finding — the batch is halved, down to single parts,
// which take the one-part path (analyzeFacts) and its precise problems.
// Parts that hold line breaks in literals or quoted names (which could
// shift the lines of the plan text) always take the one-part path.

// analysisBatch is the most parts one batched analysis answers for.
// Measured on the sandbox (two cores, wide-500 shape): a part costs about
// 7.8 ms alone (schema and explain), 3.3 ms in batches of 10, and more again
// in batches of 50.
const analysisBatch = 10

// pendingPart is a part the cache did not answer.
type pendingPart struct {
	on, name, query string
	sql             string // the part over its upstreams' stand-ins
	checked         string // sql with its expectation checks (withChecks)
	d               pipeline.Dataset
	key             string // its fact cache key
}

// analyzeParts returns the facts of every part, in order, batching them
// where it can.
func (e *Engine) analyzeParts(ctx context.Context, p *pipeline.Pipeline, parts []*pendingPart) ([]*partFacts, error) {
	if len(parts) == 1 {
		pp := parts[0]
		f, err := e.analyzeFacts(ctx, p, pp.on, pp.name, pp.query, pp.sql, pp.d)
		if err != nil {
			return nil, err
		}
		return []*partFacts{f}, nil
	}
	out, ok, err := e.analyzeTogether(ctx, p, parts)
	if err != nil || ok {
		return out, err
	}
	mid := len(parts) / 2
	var (
		wg         sync.WaitGroup
		left       []*partFacts
		lErr, rErr error
	)
	wg.Add(1)
	go func() { defer wg.Done(); left, lErr = e.analyzeParts(ctx, p, parts[:mid]) }()
	right, rErr := e.analyzeParts(ctx, p, parts[mid:])
	wg.Wait()
	if lErr != nil || rErr != nil {
		return nil, errors.Join(lErr, rErr)
	}
	return append(left, right...), nil
}

// batchable reports whether a part may be analysed in a batch.
func batchable(pp *pendingPart) bool {
	return len(plan.LineBreaks(pp.checked)) == 0
}

// analyzeTogether analyses parts with one schema and one explain request.
// ok is false when the batch is not the easy case and must be split.
func (e *Engine) analyzeTogether(ctx context.Context, p *pipeline.Pipeline, parts []*pendingPart) (out []*partFacts, ok bool, err error) {
	queries := make([]string, len(parts))
	for i, pp := range parts {
		queries[i] = pp.checked
	}
	sql, names := plan.BatchSQL(queries)
	var (
		wg     sync.WaitGroup
		text   string
		xErr   error
		fields [][]connect.Column
	)
	wg.Add(1)
	go func() { defer wg.Done(); text, xErr = e.explain(ctx, connect.SQL(sql)) }()
	e.analyzeCalls.Add(1)
	sErr := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		fields, err = c.StructFields(cctx, connect.SQL(sql))
		return err
	})
	wg.Wait()
	for _, err := range []error{sErr, xErr} {
		if err != nil && !sparkAnswered(err) {
			return nil, false, err
		}
	}
	if sErr != nil || xErr != nil || len(fields) != len(parts) {
		return nil, false, nil
	}
	pl, err := plan.Parse(text)
	if err != nil {
		return nil, false, nil
	}
	subs, err := pl.Split(names)
	if err != nil {
		e.log.Debug("a batched plan did not split; analysing its parts apart", "err", err)
		return nil, false, nil
	}
	gopts := e.guardOptions(p)
	out = make([]*partFacts, len(parts))
	for i, pp := range parts {
		fs, err := e.planFindings(ctx, p, gopts, subs[i], pp.checked)
		if err != nil {
			return nil, false, err
		}
		n := len(fields[i]) - len(pp.d.Expectations)
		if len(fs) > 0 || n <= 0 {
			return nil, false, nil
		}
		out[i] = &partFacts{cols: fields[i][:n]}
	}
	return out, true, nil
}

// sparkAnswered reports whether err is Spark's answer to the query (any
// error it raised analysing it, including an internal one), not a failure
// to ask: the parts are then analysed apart, where each gets its own
// answer.
func sparkAnswered(err error) bool {
	var se *connect.SparkError
	return agentFixable(err) || errors.As(err, &se) && se.Code == codes.Internal
}
