package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// where is the part of a Problem the tests pin down: what it is about and
// the offending value. Messages and fixes are pinned by golden files.
type where struct {
	On, Name, Field, Got string
}

func wheres(t *testing.T, err error) []where {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T (%v), want Problems", err, err)
	}
	out := make([]where, len(ps))
	for i, p := range ps {
		if p.Message == "" || p.Fix == "" {
			t.Errorf("problem %+v lacks a message or a fix", p)
		}
		out[i] = where{p.On, p.Name, p.Field, p.Got}
	}
	return out
}

func basePipeline(t *testing.T) *Pipeline {
	return mustPut(t, &Pipeline{Name: "p", Catalog: "c", Database: "d", Storage: "s3a://b/p"},
		Dataset{Name: "raw", Kind: StreamingTable, Query: "SELECT * FROM STREAM(src.events)"},
		Dataset{Name: "target", Kind: StreamingTable},
		Dataset{Name: "mv", Kind: MaterializedView, Query: "SELECT * FROM raw"},
		Flow{Name: "into_target", Target: "target", Query: "SELECT * FROM STREAM(raw)"},
	)
}

func TestPutDatasetProblems(t *testing.T) {
	mv := func(mod func(*Dataset)) Dataset {
		d := Dataset{Name: "x", Kind: MaterializedView, Query: "SELECT 1 AS a"}
		mod(&d)
		return d
	}
	tests := []struct {
		name string
		d    Dataset
		want []where
	}{
		{"valid", mv(func(*Dataset) {}), nil},
		{"bad name", mv(func(d *Dataset) { d.Name = "Orders-1" }),
			[]where{{"dataset", "Orders-1", "name", "Orders-1"}}},
		{"name too long", mv(func(d *Dataset) { d.Name = "a" + strings.Repeat("b", 63) }),
			[]where{{"dataset", "a" + strings.Repeat("b", 63), "name", "a" + strings.Repeat("b", 63)}}},
		{"unknown kind", mv(func(d *Dataset) { d.Kind = "table" }),
			[]where{{"dataset", "x", "kind", "table"}}},
		{"empty query", mv(func(d *Dataset) { d.Query = "  " }),
			[]where{{"dataset", "x", "query", "  "}}},
		{"streaming table without query", mv(func(d *Dataset) { d.Kind = StreamingTable; d.Query = "" }), nil},
		{"query with semicolon", mv(func(d *Dataset) { d.Query = "SELECT 1; DROP TABLE t" }),
			[]where{{"dataset", "x", "query", "SELECT 1; DROP TABLE t"}}},
		{"query breaking out", mv(func(d *Dataset) { d.Query = "SELECT 1) AS x UNION (SELECT 2" }),
			[]where{{"dataset", "x", "query", "SELECT 1) AS x UNION (SELECT 2"}}},
		{"query with continued comment", mv(func(d *Dataset) { d.Query = "SELECT 1 -- c \\\n" }),
			[]where{{"dataset", "x", "query", "SELECT 1 -- c \\\n"}}},
		{"semicolon in string is fine", mv(func(d *Dataset) { d.Query = "SELECT ';' AS a, `x)` FROM t -- ;)" }), nil},
		{"temporary view with storage fields", Dataset{Name: "v", Kind: TemporaryView, Query: "SELECT 1",
			PartitionBy: []string{"a"}, ClusterBy: []string{"b"}, TableProperties: map[string]string{"k": "v"}, Schema: "a INT"},
			[]where{{"dataset", "v", "partition_by", ""}, {"dataset", "v", "cluster_by", ""},
				{"dataset", "v", "table_properties", ""}, {"dataset", "v", "schema", ""}}},
		{"bad and duplicate columns", mv(func(d *Dataset) { d.PartitionBy = []string{"a b", "c", "C"} }),
			[]where{{"dataset", "x", "partition_by[0]", "a b"}, {"dataset", "x", "partition_by[2]", "C"}}},
		{"partition and cluster", mv(func(d *Dataset) { d.PartitionBy = []string{"a"}; d.ClusterBy = []string{"b"} }),
			[]where{{"dataset", "x", "cluster_by", "b"}}},
		{"reserved and bad properties", mv(func(d *Dataset) {
			d.TableProperties = map[string]string{"Comment": "x", "bad key": "v", "ok": "line\nbreak"}
		}),
			[]where{{"dataset", "x", "table_properties", "Comment"}, {"dataset", "x", "table_properties", "bad key"},
				{"dataset", "x", "table_properties[ok]", "line\nbreak"}}},
		{"comment with control character", mv(func(d *Dataset) { d.Comment = "bell\a" }),
			[]where{{"dataset", "x", "comment", "bell\a"}}},
		{"schema with default", mv(func(d *Dataset) { d.Schema = "a INT DEFAULT 1" }),
			[]where{{"dataset", "x", "schema", "a INT DEFAULT 1"}}},
		{"schema with expression", mv(func(d *Dataset) { d.Schema = "a INT, b INT GENERATED ALWAYS AS (a + 1)" }),
			[]where{{"dataset", "x", "schema", "a INT, b INT GENERATED ALWAYS AS (a + 1)"}}},
		{"schema breaking out", mv(func(d *Dataset) { d.Schema = "a INT) AS SELECT 1 --" }),
			[]where{{"dataset", "x", "schema", "a INT) AS SELECT 1 --"}}},
		{"expectations", mv(func(d *Dataset) {
			d.Expectations = []Expectation{
				{Name: "ok", Condition: "a > 0", OnViolation: Drop},
				{Name: "ok", Condition: "a < 9", OnViolation: Warn},
				{Name: "Bad", Condition: "a -- no\n > 0", OnViolation: "ignore"},
				{Name: "empty", Condition: " ", OnViolation: Fail},
			}
		}),
			[]where{{"dataset", "x", "expectations[1].name", "ok"},
				{"dataset", "x", "expectations[2].name", "Bad"},
				{"dataset", "x", "expectations[2].on_violation", "ignore"},
				{"dataset", "x", "expectations[2].condition", "a -- no\n > 0"},
				{"dataset", "x", "expectations[3].condition", " "}}},
		{"name taken by a flow", mv(func(d *Dataset) { d.Name = "into_target" }),
			[]where{{"dataset", "into_target", "name", "into_target"}}},
		{"closes a cycle", Dataset{Name: "raw", Kind: StreamingTable, Query: "SELECT * FROM STREAM(mv)"},
			[]where{{"dataset", "mv", "query", "mv -> raw -> mv"}}},
		{"undeclared name in its own schema is a source", mv(func(d *Dataset) { d.Query = "SELECT * FROM d.gone" }), nil},
		{"condition reading a table", mv(func(d *Dataset) {
			d.Expectations = []Expectation{{Name: "e", Condition: "a IN (SELECT a FROM t)", OnViolation: Drop}}
		}), []where{{"dataset", "x", "expectations[0].condition", "a IN (SELECT a FROM t)"}}},
		{"flow target must stay streaming", mv(func(d *Dataset) { d.Name = "target" }),
			[]where{{"dataset", "target", "kind", "materialized_view"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePipeline(t)
			before := p.Clone()
			_, err := p.PutDataset(tc.d)
			if diff := cmp.Diff(tc.want, wheres(t, err), ignoreMemo); diff != "" {
				t.Errorf("PutDataset problems (-want +got):\n%s", diff)
			}
			if err != nil {
				if diff := cmp.Diff(before, p, ignoreMemo); diff != "" {
					t.Errorf("a failed PutDataset changed the pipeline (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestPutFlowProblems(t *testing.T) {
	tests := []struct {
		name string
		f    Flow
		want []where
	}{
		{"valid", Flow{Name: "f2", Target: "target", Query: "SELECT * FROM STREAM(src.more)"}, nil},
		{"undeclared target", Flow{Name: "f2", Target: "nope", Query: "SELECT 1"},
			[]where{{"flow", "f2", "target", "nope"}}},
		{"target not streaming", Flow{Name: "f2", Target: "mv", Query: "SELECT 1"},
			[]where{{"flow", "f2", "target", "mv"}}},
		{"bad names and empty query", Flow{Name: "F", Target: "T"},
			[]where{{"flow", "F", "name", "F"}, {"flow", "F", "target", "T"}, {"flow", "F", "query", ""}}},
		{"name taken by a dataset", Flow{Name: "target", Target: "target", Query: "SELECT 1"},
			[]where{{"flow", "target", "name", "target"}}},
		{"reads its own target", Flow{Name: "f2", Target: "target", Query: "SELECT * FROM STREAM(target)"},
			[]where{{"flow", "f2", "query", "f2 -> target -> f2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePipeline(t)
			_, err := p.PutFlow(tc.f)
			if diff := cmp.Diff(tc.want, wheres(t, err), ignoreMemo); diff != "" {
				t.Errorf("PutFlow problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPutKeepsSortedAndNormalized(t *testing.T) {
	p := &Pipeline{Name: "p", Storage: "s3a://b/p"}
	for _, name := range []string{"m", "c", "x", "a"} {
		replaced, err := p.PutDataset(Dataset{Name: name, Kind: MaterializedView, Query: "SELECT 1",
			PartitionBy: []string{}, TableProperties: map[string]string{}, Expectations: []Expectation{}})
		if err != nil || replaced {
			t.Fatalf("PutDataset(%s) = %v, %v", name, replaced, err)
		}
	}
	replaced, err := p.PutDataset(Dataset{Name: "c", Kind: TemporaryView, Query: "SELECT 2"})
	if err != nil || !replaced {
		t.Fatalf("replacing c = %v, %v; want true, nil", replaced, err)
	}
	want := []Dataset{
		{Name: "a", Kind: MaterializedView, Query: "SELECT 1"},
		{Name: "c", Kind: TemporaryView, Query: "SELECT 2"},
		{Name: "m", Kind: MaterializedView, Query: "SELECT 1"},
		{Name: "x", Kind: MaterializedView, Query: "SELECT 1"},
	}
	if diff := cmp.Diff(want, p.Datasets, ignoreMemo); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		name   string
		remove func(p *Pipeline) error
		want   []where
	}{
		{"unknown dataset", func(p *Pipeline) error { return p.RemoveDataset("nope") },
			[]where{{"dataset", "nope", "name", "nope"}}},
		{"dataset read by others and fed by a flow", func(p *Pipeline) error { return p.RemoveDataset("raw") },
			[]where{{"dataset", "raw", "", ""}}},
		{"dataset with flows", func(p *Pipeline) error { return p.RemoveDataset("target") },
			[]where{{"dataset", "target", "", ""}}},
		{"leaf dataset", func(p *Pipeline) error { return p.RemoveDataset("mv") }, nil},
		{"flow", func(p *Pipeline) error { return p.RemoveFlow("into_target") }, nil},
		{"unknown flow", func(p *Pipeline) error { return p.RemoveFlow("mv") },
			[]where{{"flow", "mv", "name", "mv"}}},
		{"flow, then its target", func(p *Pipeline) error {
			if err := p.RemoveFlow("into_target"); err != nil {
				return err
			}
			return p.RemoveDataset("target")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePipeline(t)
			if diff := cmp.Diff(tc.want, wheres(t, tc.remove(p)), ignoreMemo); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveDatasetNamesReaders(t *testing.T) {
	p := basePipeline(t)
	err := p.RemoveDataset("raw")
	for _, want := range []string{`"into_target" and "mv" read this dataset`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RemoveDataset(raw) = %v, want it to contain %q", err, want)
		}
	}
}

func TestValidatePipeline(t *testing.T) {
	p := &Pipeline{Name: "Bad Name", Catalog: "a.b", Storage: "",
		Configuration: map[string]string{"": "x"},
		Datasets: []Dataset{
			{Name: "dup", Kind: MaterializedView, Query: "SELECT 1"},
			{Name: "dup", Kind: MaterializedView, Query: "SELECT 2"},
		},
		Flows: []Flow{{Name: "dup", Target: "dup", Query: "SELECT 3"}},
	}
	want := []where{
		{"pipeline", "Bad Name", "name", "Bad Name"},
		{"pipeline", "Bad Name", "storage", ""},
		{"pipeline", "Bad Name", "catalog", "a.b"},
		{"pipeline", "Bad Name", "configuration", ""},
		{"dataset", "dup", "name", "dup"},
		{"flow", "dup", "name", "dup"},
		{"flow", "dup", "target", "dup"},
	}
	if diff := cmp.Diff(want, wheres(t, p.Validate()), ignoreMemo); diff != "" {
		t.Errorf("Validate problems (-want +got):\n%s", diff)
	}
}

// TestProblemText pins the exact wording agents see, in a golden file.
func TestProblemText(t *testing.T) {
	p := basePipeline(t)
	var out strings.Builder
	record := func(title string, err error) {
		out.WriteString("## " + title + "\n")
		if err != nil {
			out.WriteString(err.Error() + "\n")
		}
		out.WriteString("\n")
	}
	_, err := p.PutDataset(Dataset{Name: "Orders", Kind: "view", Query: "SELECT 1;",
		PartitionBy: []string{"a b"}, TableProperties: map[string]string{"location": "/tmp"},
		Expectations: []Expectation{{Name: "e", Condition: "a >", OnViolation: "skip"}}})
	record("bad dataset", err)
	_, err = p.PutDataset(Dataset{Name: "v", Kind: TemporaryView, Query: "SELECT 1", Schema: "a INT"})
	record("temporary view with schema", err)
	_, err = p.PutFlow(Flow{Name: "f", Target: "mv", Query: "SELECT 1"})
	record("flow into a materialized view", err)
	_, err = p.PutFlow(Flow{Name: "target", Target: "target", Query: "SELECT 1"})
	record("flow named like its target", err)
	record("remove a dataset others read", p.RemoveDataset("raw"))
	g := BuildGraph(graphPipeline([]Dataset{
		mvd("a", "SELECT * FROM b JOIN db.missing ON true"), mvd("b", "SELECT * FROM a"),
		{Name: "t", Kind: StreamingTable},
	}))
	record("graph problems", g.Problems())
	checkGolden(t, "problems.txt", []byte(out.String()))
}
