package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// SourceDescriber describes the source tables of one environment.
// *Engine is one.
type SourceDescriber interface {
	DescribeSource(ctx context.Context, name string) (*Source, error)
}

var _ SourceDescriber = (*Engine)(nil)

// Preflight statuses of one source.
const (
	// SourceOK: the source exists in the target with every column of the
	// reference, of the same type.
	SourceOK = "ok"
	// SourceMissing: the target has no such table among its sources.
	SourceMissing = "missing"
	// SourceNotAllowed: the table lies outside the sources the target's
	// configuration lets pipelines read.
	SourceNotAllowed = "not_allowed"
	// SourceIncompatible: the table exists but lacks columns of the
	// reference, or has them with another type.
	SourceIncompatible = "incompatible"
	// SourceUnchecked: a table-valued function or another read that is
	// not a table; nothing to compare.
	SourceUnchecked = "unchecked"
)

// ColumnGap is one column of a source that differs between the reference
// environment (where the pipeline was validated) and the target.
type ColumnGap struct {
	Column string `json:"column"`
	// Want is the reference's type; Got the target's, "" when the target
	// lacks the column.
	Want string `json:"want"`
	Got  string `json:"got,omitempty"`
}

func (g ColumnGap) String() string {
	if g.Got == "" {
		return fmt.Sprintf("no column %s (%s)", g.Column, g.Want)
	}
	return fmt.Sprintf("column %s is %s, not %s", g.Column, g.Got, g.Want)
}

// SourceCheck is what the preflight found about one source.
type SourceCheck struct {
	// Name is the source as the pipeline's queries name it.
	Name string `json:"name"`
	// Target is the catalog.schema.table it resolves to in the target
	// environment, when it exists there.
	Target string `json:"target,omitempty"`
	// Status is one of the Source* constants.
	Status string      `json:"status"`
	Gaps   []ColumnGap `json:"gaps,omitempty"`
	// Message says what is wrong and what the operator can do, for every
	// status but ok.
	Message string `json:"message,omitempty"`
}

// PreflightReport lists every source a pipeline reads, checked in one
// target environment.
type PreflightReport struct {
	Environment string        `json:"environment"`
	Sources     []SourceCheck `json:"sources"`
}

// OK reports whether every source is usable in the target.
func (r *PreflightReport) OK() bool { return len(r.Problems()) == 0 }

// Problems returns one operator-facing problem per unusable source, all of
// them at once.
func (r *PreflightReport) Problems() pipeline.Problems {
	var ps pipeline.Problems
	for _, s := range r.Sources {
		switch s.Status {
		case SourceOK, SourceUnchecked:
			continue
		}
		ps = append(ps, pipeline.Problem{On: "source", Name: s.Name, Field: "preflight",
			Message: s.Message, Fix: preflightFix(r.Environment, s)})
	}
	return ps
}

func preflightFix(env string, s SourceCheck) string {
	switch s.Status {
	case SourceMissing:
		return "create it in " + env + " (an operator's task), or remove it from the pipeline"
	case SourceNotAllowed:
		return "ask the operator to add it to the " + env + " sources of the policy, or remove it from the pipeline"
	}
	return "ask the operator to align the " + env + " table with the sandbox's, or change the pipeline to read only the columns both have"
}

// Preflight checks that every table p reads exists in target with the
// columns it has in reference (the environment the pipeline was validated
// in; nil checks existence only), and reports every source at once. Names
// resolve as the environments' DescribeSource resolves them (inside their
// configured sources). Extra columns in the target are fine; a missing
// column or another type is a gap. A failure to reach either environment is
// an error; everything the environments answered is in the report.
func Preflight(ctx context.Context, p *pipeline.Pipeline, env string, reference, target SourceDescriber) (*PreflightReport, error) {
	rep := &PreflightReport{Environment: env, Sources: []SourceCheck{}}
	seen := map[string]bool{}
	for _, s := range pipeline.BuildGraph(p).Sources() {
		name := s.String()
		if len(s.Parts) == 0 || s.Path || s.Dynamic {
			rep.Sources = append(rep.Sources, SourceCheck{Name: name, Status: SourceUnchecked})
			continue
		}
		name = strings.Join(s.Parts, ".")
		if seen[strings.ToLower(name)] {
			continue
		}
		seen[strings.ToLower(name)] = true
		sc, err := preflightOne(ctx, name, env, reference, target)
		if err != nil {
			return nil, err
		}
		rep.Sources = append(rep.Sources, sc)
	}
	return rep, nil
}

func preflightOne(ctx context.Context, name, env string, reference, target SourceDescriber) (SourceCheck, error) {
	sc := SourceCheck{Name: name}
	got, err := target.DescribeSource(ctx, name)
	var ps pipeline.Problems
	switch {
	case errors.As(err, &ps):
		sc.Status, sc.Message = SourceMissing, env+" has no table "+name
		if len(ps) > 0 {
			sc.Message += " (" + ps[0].Message + ")"
			if strings.HasPrefix(ps[0].Message, "outside") {
				sc.Status, sc.Message = SourceNotAllowed, name+" is outside the sources "+env+" allows"
			}
		}
		return sc, nil
	case err != nil:
		return sc, fmt.Errorf("preflight of source %s in %s: %w", name, env, err)
	}
	sc.Target, sc.Status = got.Name, SourceOK
	if reference == nil {
		return sc, nil
	}
	want, err := reference.DescribeSource(ctx, name)
	switch {
	case errors.As(err, &ps):
		return sc, nil // not a source of the reference: nothing to compare with
	case err != nil:
		return sc, fmt.Errorf("preflight of source %s (reference): %w", name, err)
	}
	sc.Gaps = columnGaps(want.Columns, got.Columns)
	if len(sc.Gaps) > 0 {
		sc.Status = SourceIncompatible
		msgs := make([]string, len(sc.Gaps))
		for i, g := range sc.Gaps {
			msgs[i] = g.String()
		}
		sc.Message = fmt.Sprintf("%s's table %s differs from the sandbox's: %s", env, got.Name, strings.Join(msgs, "; "))
	}
	return sc, nil
}

// columnGaps lists the columns of want that have lacks or holds with
// another type (names compare case-insensitively, as Spark resolves them).
func columnGaps(want, have []connect.Column) []ColumnGap {
	types := map[string]string{}
	for _, c := range have {
		types[strings.ToLower(c.Name)] = c.Type
	}
	var out []ColumnGap
	for _, c := range want {
		t, ok := types[strings.ToLower(c.Name)]
		switch {
		case !ok:
			out = append(out, ColumnGap{Column: c.Name, Want: c.Type})
		case !strings.EqualFold(t, c.Type):
			out = append(out, ColumnGap{Column: c.Name, Want: c.Type, Got: t})
		}
	}
	return out
}
