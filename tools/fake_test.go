package tools

import (
	"context"
	"math"
	"math/big"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// fakeEngine stands in for *engine.Engine. Its behaviour is driven by the
// query bodies, so golden cases need no per-case wiring:
//
//   - a dataset whose query contains "missing_col" fails validation;
//   - a dataset whose query contains "1/0" fails a run;
//   - ListSources/DescribeSource know a fixed catalog;
//   - infra, when set, is returned by every call (an infrastructure failure).
type fakeEngine struct {
	env     string
	infra   error
	tables  map[string]engine.TableState // what InspectTables finds
	profile *engine.Profile              // what Profile reports; nil: 4.3.0 parquet

	mu    sync.Mutex
	calls []string
}

func (f *fakeEngine) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

var fakeSources = []engine.Source{
	{Name: "spark_catalog.raw.customers", Comment: "CRM export", Columns: []connect.Column{
		{Name: "customer_id", Type: "bigint"}, {Name: "name", Type: "string", Nullable: true}}},
	{Name: "spark_catalog.raw.orders", Comment: "Orders, one row per order", Columns: []connect.Column{
		{Name: "order_id", Type: "bigint"}, {Name: "customer_id", Type: "bigint"},
		{Name: "amount", Type: "decimal(10,2)", Nullable: true}, {Name: "order_ts", Type: "timestamp", Nullable: true}}},
}

func (f *fakeEngine) ListSources(_ context.Context, pattern string) ([]engine.Source, error) {
	f.record("ListSources " + pattern)
	if f.infra != nil {
		return nil, f.infra
	}
	var out []engine.Source
	for _, s := range fakeSources {
		if pattern == "" || matchSource(pattern, s.Name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// matchSource matches a glob against the table name, as the engine does.
func matchSource(pattern, name string) bool {
	table := name[strings.LastIndexByte(name, '.')+1:]
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(table))
	return ok
}

func (f *fakeEngine) DescribeSource(_ context.Context, name string) (*engine.Source, error) {
	f.record("DescribeSource " + name)
	if f.infra != nil {
		return nil, f.infra
	}
	for _, s := range fakeSources {
		if s.Name == name || strings.HasSuffix(s.Name, "."+name) {
			return &s, nil
		}
	}
	return nil, pipeline.Problems{{On: "argument", Field: "name", Got: name,
		Message: "no source table has this name, or it is not allowed",
		Fix:     "use a name list_sources shows"}}
}

func (f *fakeEngine) Preview(_ context.Context, p *pipeline.Pipeline, req engine.PreviewRequest) (*engine.PreviewResult, error) {
	f.record("Preview " + p.Name + " " + req.Dataset)
	if f.infra != nil {
		return nil, f.infra
	}
	if strings.Contains(req.Query, "missing_col") {
		return nil, pipeline.Problems{{On: "query", Field: "query", Got: "missing_col",
			Message: "[UNRESOLVED_COLUMN] a column cannot be resolved", Fix: "use one of the columns of the sources it reads"}}
	}
	cols := []connect.Column{
		{Name: "id", Type: "bigint"},
		{Name: "amount", Type: "decimal(10,2)", Nullable: true},
		{Name: "ts", Type: "timestamp", Nullable: true},
		{Name: "day", Type: "date", Nullable: true},
		{Name: "ratio", Type: "double", Nullable: true},
		{Name: "raw", Type: "binary", Nullable: true},
		{Name: "tags", Type: "array<string>", Nullable: true},
		{Name: "attrs", Type: "map<string,int>", Nullable: true},
		{Name: "point", Type: "struct<x:int,seen:timestamp_ntz>", Nullable: true},
		{Name: "wait", Type: "interval day to second", Nullable: true},
	}
	ts := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	all := [][]any{
		{int64(1), connect.Decimal{Unscaled: big.NewInt(12345), Scale: 2, Precision: 10}, ts,
			time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC), 0.25, []byte("hi"), []any{"a", "b"},
			[]connect.MapEntry{{Key: "k", Value: int32(7)}}, connect.Row{int32(3), ts}, 90*time.Minute + 1500*time.Millisecond},
		{int64(9007199254740993), nil, nil, nil, math.NaN(), nil, []any{}, nil, nil, -time.Hour},
		{int64(3), connect.Decimal{Unscaled: big.NewInt(-5), Scale: 2, Precision: 10}, nil, nil, math.Inf(1), nil, nil, nil, nil, nil},
	}
	rows := all
	truncated := false
	if req.Limit < len(all) {
		rows, truncated = all[:req.Limit], true
	}
	return &engine.PreviewResult{Columns: cols, Rows: rows, Truncated: truncated, Elapsed: 42 * time.Millisecond}, nil
}

func (f *fakeEngine) ValidateFull(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	f.record("ValidateFull " + p.Name + " " + p.Catalog + "." + p.Database)
	return f.validate(ctx, p)
}

func (f *fakeEngine) Validate(ctx context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	f.record("Validate " + p.Name + " " + p.Catalog + "." + p.Database)
	return f.validate(ctx, p)
}

func (f *fakeEngine) validate(_ context.Context, p *pipeline.Pipeline) (*engine.ValidationResult, error) {
	if f.infra != nil {
		return nil, f.infra
	}
	sum, err := p.Hash()
	if err != nil {
		return nil, err
	}
	g := pipeline.BuildGraph(p)
	res := &engine.ValidationResult{OK: true, PipelineHash: sum, Mermaid: g.Mermaid(), Problems: g.Problems()}
	for _, d := range p.Datasets {
		info := engine.DatasetInfo{Name: d.Name, Kind: d.Kind, DependsOn: nonNil(g.Dependencies(d.Name)),
			Columns: []connect.Column{{Name: "id", Type: "bigint"}, {Name: "total", Type: "decimal(20,2)", Nullable: true}}}
		res.Datasets = append(res.Datasets, info)
		if strings.Contains(d.Query, "missing_col") {
			res.Problems = append(res.Problems, pipeline.Problem{On: "dataset", Name: d.Name, Field: "query", Got: "missing_col",
				Message: "[UNRESOLVED_COLUMN] A column, variable, or function parameter with name `missing_col` cannot be resolved",
				Fix:     "use one of the columns: id, customer_id, amount, order_ts"})
		}
	}
	res.OK = len(res.Problems) == 0
	return res, nil
}

func (f *fakeEngine) Run(_ context.Context, p *pipeline.Pipeline, opts engine.RunOptions, progress func(engine.Progress)) (*engine.RunResult, error) {
	f.record("Run " + p.Name + " " + p.Catalog + "." + p.Database)
	if f.infra != nil {
		return nil, f.infra
	}
	sum, err := p.Hash()
	if err != nil {
		return nil, err
	}
	res := &engine.RunResult{OK: true, PipelineHash: sum, Duration: 1500 * time.Millisecond}
	total := len(p.Datasets)
	progress(engine.Progress{Message: "run started", Total: total})
	for i, d := range p.Datasets {
		dr := engine.DatasetRun{Name: d.Name, Kind: string(d.Kind), Status: "completed"}
		if len(opts.Refresh) > 0 && !contains(opts.Refresh, d.Name) && !contains(opts.FullRefresh, d.Name) {
			dr.Status = "excluded"
		}
		for _, e := range d.Expectations {
			dr.Expectations = append(dr.Expectations, engine.ExpectationResult{Name: e.Name, OnViolation: e.OnViolation, Passed: 98, Failed: 2})
		}
		if res.OK && strings.Contains(d.Query, "1/0") {
			dr.Status = "failed"
			res.OK = false
			res.Failure = &engine.RunFailure{Dataset: d.Name, ErrorClass: "DIVIDE_BY_ZERO",
				Message: "[DIVIDE_BY_ZERO] Division by zero.", Hint: "guard the divisor, e.g. try_divide(a, b)"}
		} else if !res.OK {
			dr.Status = "skipped"
		}
		res.Datasets = append(res.Datasets, dr)
		progress(engine.Progress{Message: "flow " + d.Name + " " + dr.Status, Done: i + 1, Total: total})
	}
	return res, nil
}

// Profile reports f.profile, by default the sandbox's pinned line.
func (f *fakeEngine) Profile(context.Context) (engine.Profile, error) {
	f.record("Profile")
	if f.infra != nil {
		return engine.Profile{}, f.infra
	}
	if f.profile != nil {
		return *f.profile, nil
	}
	return engine.Profile{SparkVersion: "4.3.0", TableFormat: "parquet"}, nil
}

// InspectTables reports tables for the datasets in f.tables.
func (f *fakeEngine) InspectTables(_ context.Context, p *pipeline.Pipeline) (map[string]engine.TableState, error) {
	f.record("InspectTables " + p.Name + " " + p.Catalog + "." + p.Database)
	if f.infra != nil {
		return nil, f.infra
	}
	out := map[string]engine.TableState{}
	for name, ts := range f.tables {
		if _, ok := p.Dataset(name); ok {
			out[name] = ts
		}
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// denyGuard rejects bodies that call reflect, like the real guard would.
type denyGuard struct{}

func (denyGuard) CheckBody(_ *pipeline.Pipeline, body, kind string) (pipeline.Problems, BodyFacts) {
	facts := fakeFacts(body)
	if strings.Contains(strings.ToLower(body), "reflect(") {
		return pipeline.Problems{{Got: "reflect", Message: "the function reflect is not allowed",
			Fix: "compute the value with built-in SQL functions"}}, facts
	}
	return nil, facts
}

// fakeFacts approximates what the real guard reports: the word after each
// FROM or JOIN is read, every word before "(" is called.
func fakeFacts(body string) BodyFacts {
	var f BodyFacts
	words := strings.FieldsFunc(strings.ToLower(body), func(r rune) bool {
		return r == ' ' || r == '\n' || r == ',' || r == ')'
	})
	for i, w := range words {
		if (w == "from" || w == "join") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "(") {
			f.Reads = append(f.Reads, words[i+1])
		}
		if name, _, ok := strings.Cut(w, "("); ok && name != "" {
			f.Functions = append(f.Functions, name)
		}
	}
	return f
}

// noGuard allows everything.
type noGuard struct{}

func (noGuard) CheckBody(*pipeline.Pipeline, string, string) (pipeline.Problems, BodyFacts) {
	return nil, BodyFacts{}
}
