package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind is the kind of a dataset.
type Kind string

// The dataset kinds SDP knows.
const (
	// MaterializedView is recomputed (or incrementally refreshed) from its
	// query on every run.
	MaterializedView Kind = "materialized_view"
	// StreamingTable is appended to by streaming flows: its own query (if
	// any) and any number of [Flow]s targeting it.
	StreamingTable Kind = "streaming_table"
	// TemporaryView exists only while the pipeline runs; it is not
	// materialized and other datasets read it like a table.
	TemporaryView Kind = "temporary_view"
)

// Kinds lists the dataset kinds in a stable order, for schemas and messages.
func Kinds() []Kind { return []Kind{MaterializedView, StreamingTable, TemporaryView} }

// Action is what happens to a row that violates an expectation.
type Action string

// The expectation actions.
const (
	// Warn keeps the row; violations are only counted, after the run.
	Warn Action = "warn"
	// Drop removes the row from the dataset.
	Drop Action = "drop"
	// Fail makes the run fail on the first violating row.
	Fail Action = "fail"
)

// Actions lists the expectation actions in a stable order.
func Actions() []Action { return []Action{Warn, Drop, Fail} }

// Pipeline is one SDP pipeline: its datasets and flows, and the environment
// it is bound to.
//
// Datasets and Flows are kept sorted by name by the methods that change them,
// and [Load] returns them sorted, so that a saved pipeline loads back
// identical.
type Pipeline struct {
	// Name is the pipeline's name (the spec file's name).
	Name string `json:"name"`
	// Catalog and Database are the graph defaults every dataset is created
	// in. They come from the server's environment config (sandbox or
	// production), never from an agent.
	Catalog  string `json:"catalog,omitempty"`
	Database string `json:"database,omitempty"`
	// Storage is the storage root of the environment, a URI; SDP keeps
	// this pipeline's checkpoints and metadata under StoragePath.
	Storage string `json:"storage"`
	// TableFormat is the environment's table format (delta, iceberg,
	// parquet): materialized views and streaming tables are rendered with
	// USING <format>. Empty leaves it to the server's default. Like
	// Catalog, it comes from the environment config, never from an agent.
	TableFormat string `json:"table_format,omitempty"`
	// Configuration holds Spark confs set for every flow of the pipeline.
	Configuration map[string]string `json:"configuration,omitempty"`
	// Datasets are the declared datasets.
	Datasets []Dataset `json:"datasets,omitempty"`
	// Flows are the declared append flows.
	Flows []Flow `json:"flows,omitempty"`

	// scans remembers what the bodies read, for a draft a [Store] keeps
	// (shared by its copies); nil scans every time.
	scans *scanMemo
}

// Dataset is a declared dataset.
type Dataset struct {
	// Name is a single-part name matching ^[a-z][a-z0-9_]{0,62}$.
	Name string `json:"name"`
	// Kind is the dataset kind.
	Kind Kind `json:"kind"`
	// Query is the agent's query body. It is required for materialized and
	// temporary views; a streaming table without a query is fed by flows.
	Query string `json:"query,omitempty"`
	// Comment is the dataset's description.
	Comment string `json:"comment,omitempty"`
	// PartitionBy lists partition columns (not for temporary views).
	PartitionBy []string `json:"partition_by,omitempty"`
	// ClusterBy lists clustering columns (not for temporary views).
	ClusterBy []string `json:"cluster_by,omitempty"`
	// TableProperties are table properties (not for temporary views).
	TableProperties map[string]string `json:"table_properties,omitempty"`
	// Schema is an optional DDL column list, e.g. "id BIGINT NOT NULL, name
	// STRING COMMENT 'display name'" (not for temporary views).
	Schema string `json:"schema,omitempty"`
	// Expectations are row-level checks applied to the dataset.
	Expectations []Expectation `json:"expectations,omitempty"`
}

// Flow is an append flow: its query's rows are appended to the target
// streaming table.
type Flow struct {
	// Name is a single-part name, unique across datasets and flows.
	Name string `json:"name"`
	// Target is the name of a declared streaming table.
	Target string `json:"target"`
	// Query is the agent's query body.
	Query string `json:"query"`
	// Comment is the flow's description.
	Comment string `json:"comment,omitempty"`
}

// Expectation is a row-level check on a dataset.
type Expectation struct {
	// Name is unique within its dataset and matches the name pattern.
	Name string `json:"name"`
	// Condition is a boolean SQL expression over the dataset's columns. A row
	// passes only when it is TRUE: FALSE and NULL are both violations.
	Condition string `json:"condition"`
	// OnViolation is what happens to a violating row.
	OnViolation Action `json:"on_violation"`
}

// Dataset returns a copy of the dataset with the given name.
func (p *Pipeline) Dataset(name string) (Dataset, bool) {
	i, ok := p.datasetIndex(name)
	if !ok {
		return Dataset{}, false
	}
	return cloneDataset(p.Datasets[i]), true
}

// Flow returns the flow with the given name.
func (p *Pipeline) Flow(name string) (Flow, bool) {
	i, ok := p.flowIndex(name)
	if !ok {
		return Flow{}, false
	}
	return p.Flows[i], true
}

// FlowsInto returns the flows whose target is the named dataset, sorted by name.
func (p *Pipeline) FlowsInto(target string) []Flow {
	var out []Flow
	for _, f := range p.Flows {
		if f.Target == target {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Flow) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// PutDataset adds d, or replaces the dataset of the same name. It reports
// whether a dataset was replaced. Nothing changes when it returns an error;
// the error is [Problems] listing everything wrong with d.
//
// PutDataset checks the declaration itself, its relation to the other
// declarations (the name is free, as flows share the name space; a streaming
// table that flows append to stays a streaming table) and, with
// [BuildGraph], its dependencies: it refuses a query that cannot be scanned,
// reads a missing upstream, or closes a cycle.
func (p *Pipeline) PutDataset(d Dataset) (replaced bool, err error) {
	d = normalizeDataset(d)
	ps := validateDataset(d)
	if _, ok := p.flowIndex(d.Name); ok {
		ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: "name", Got: d.Name,
			Message: "a flow already has this name; datasets and flows share one name space",
			Fix:     "choose another name, or remove the flow first"})
	}
	if d.Kind != StreamingTable {
		if fs := p.FlowsInto(d.Name); len(fs) > 0 {
			ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: "kind", Got: string(d.Kind),
				Message: fmt.Sprintf("flows %s append to this dataset, so it must stay a streaming_table", flowNames(fs)),
				Fix:     "keep kind streaming_table, or remove those flows first"})
		}
	}
	if len(ps) > 0 {
		return false, ps
	}
	next := slices.Clone(p.Datasets)
	i, found := p.datasetIndex(d.Name)
	if found {
		next[i] = d
	} else {
		next = slices.Insert(next, i, d)
	}
	if err := p.checkGraphWith(d.Name, next, p.Flows); err != nil {
		return false, err
	}
	p.Datasets = next
	return found, nil
}

// checkGraphWith refuses a change that would give the named declaration a
// dependency problem: a cycle, a missing upstream, an unscannable query, a
// condition that reads a table.
func (p *Pipeline) checkGraphWith(name string, datasets []Dataset, flows []Flow) error {
	next := *p
	next.Datasets, next.Flows = datasets, flows
	if lf, ok := next.local(name); ok && !lf.cyclic {
		return lf.problems.Err()
	}
	return BuildGraph(&next).problemsFor(name).Err()
}

// PutFlow adds f, or replaces the flow of the same name. It reports whether a
// flow was replaced. Nothing changes when it returns an error; the error is
// [Problems] listing everything wrong with f. The target must already be a
// declared streaming table, and the flow must not close a cycle.
func (p *Pipeline) PutFlow(f Flow) (replaced bool, err error) {
	ps := validateFlow(f)
	if _, ok := p.datasetIndex(f.Name); ok {
		ps = append(ps, Problem{On: "flow", Name: f.Name, Field: "name", Got: f.Name,
			Message: "a dataset already has this name; datasets and flows share one name space",
			Fix:     "choose another flow name, e.g. " + suggestFlowName(f.Name, f.Target)})
	}
	ps = append(ps, p.checkTarget(f)...)
	if len(ps) > 0 {
		return false, ps
	}
	next := slices.Clone(p.Flows)
	i, found := p.flowIndex(f.Name)
	if found {
		next[i] = f
	} else {
		next = slices.Insert(next, i, f)
	}
	if err := p.checkGraphWith(f.Name, p.Datasets, next); err != nil {
		return false, err
	}
	p.Flows = next
	return found, nil
}

// RemoveDataset removes the named dataset. It refuses, with [Problems], when
// the dataset does not exist, when flows append to it, or when other datasets
// or flows read it (removing it would silently turn those reads into reads of
// whatever table of that name the engine finds).
func (p *Pipeline) RemoveDataset(name string) error {
	i, ok := p.datasetIndex(name)
	if !ok {
		return Problems{{On: "dataset", Name: name, Field: "name", Got: name,
			Message: "no dataset has this name",
			Fix:     "use one of the declared datasets: " + orNone(p.datasetNames())}}
	}
	var ps Problems
	if fs := p.FlowsInto(name); len(fs) > 0 {
		ps = append(ps, Problem{On: "dataset", Name: name,
			Message: fmt.Sprintf("flows %s append to this dataset", flowNames(fs)),
			Fix:     "remove those flows first"})
	}
	if readers := readersOf(p, name); len(readers) > 0 {
		ps = append(ps, Problem{On: "dataset", Name: name,
			Message: fmt.Sprintf("%s read this dataset", quoteList(readers)),
			Fix:     "remove them first, or change their queries so they no longer read it"})
	}
	if len(ps) > 0 {
		return ps
	}
	p.Datasets = slices.Delete(p.Datasets, i, i+1)
	return nil
}

// RemoveFlow removes the named flow.
func (p *Pipeline) RemoveFlow(name string) error {
	i, ok := p.flowIndex(name)
	if !ok {
		return Problems{{On: "flow", Name: name, Field: "name", Got: name,
			Message: "no flow has this name",
			Fix:     "use one of the declared flows: " + orNone(p.flowNames())}}
	}
	p.Flows = slices.Delete(p.Flows, i, i+1)
	return nil
}

// checkTarget checks that f's target is a declared streaming table.
func (p *Pipeline) checkTarget(f Flow) Problems {
	if !validName(f.Target) {
		return nil // reported by validateFlow
	}
	t, ok := p.Dataset(f.Target)
	switch {
	case !ok:
		return Problems{{On: "flow", Name: f.Name, Field: "target", Got: f.Target,
			Message: "no dataset has this name; a flow appends to a declared streaming table",
			Fix:     "declare it first with declare_table kind streaming_table (a query is optional), or use one of: " + orNone(p.namesOfKind(StreamingTable))}}
	case t.Kind != StreamingTable:
		return Problems{{On: "flow", Name: f.Name, Field: "target", Got: f.Target,
			Message: fmt.Sprintf("the target is a %s; flows can only append to a streaming_table", t.Kind),
			Fix:     "target a streaming table, or re-declare " + f.Target + " as kind streaming_table"}}
	}
	return nil
}

// datasetIndex finds name in the sorted Datasets (or where it would go).
// It tolerates unsorted slices built by hand by falling back to a scan.
func (p *Pipeline) datasetIndex(name string) (int, bool) {
	if !slices.IsSortedFunc(p.Datasets, func(a, b Dataset) int { return cmp.Compare(a.Name, b.Name) }) {
		i := slices.IndexFunc(p.Datasets, func(d Dataset) bool { return d.Name == name })
		if i < 0 {
			return len(p.Datasets), false
		}
		return i, true
	}
	return slices.BinarySearchFunc(p.Datasets, name, func(d Dataset, n string) int { return cmp.Compare(d.Name, n) })
}

// flowIndex finds name in the sorted Flows (or where it would go).
func (p *Pipeline) flowIndex(name string) (int, bool) {
	if !slices.IsSortedFunc(p.Flows, func(a, b Flow) int { return cmp.Compare(a.Name, b.Name) }) {
		i := slices.IndexFunc(p.Flows, func(f Flow) bool { return f.Name == name })
		if i < 0 {
			return len(p.Flows), false
		}
		return i, true
	}
	return slices.BinarySearchFunc(p.Flows, name, func(f Flow, n string) int { return cmp.Compare(f.Name, n) })
}

func (p *Pipeline) datasetNames() []string {
	out := make([]string, len(p.Datasets))
	for i, d := range p.Datasets {
		out[i] = d.Name
	}
	return out
}

func (p *Pipeline) flowNames() []string {
	out := make([]string, len(p.Flows))
	for i, f := range p.Flows {
		out[i] = f.Name
	}
	return out
}

func (p *Pipeline) namesOfKind(k Kind) []string {
	var out []string
	for _, d := range p.Datasets {
		if d.Kind == k {
			out = append(out, d.Name)
		}
	}
	return out
}

// Clone returns a deep copy of p.
func (p *Pipeline) Clone() *Pipeline {
	c := *p
	c.Configuration = maps.Clone(p.Configuration)
	c.Datasets = make([]Dataset, len(p.Datasets))
	for i, d := range p.Datasets {
		c.Datasets[i] = cloneDataset(d)
	}
	c.Flows = slices.Clone(p.Flows)
	return &c
}

func cloneDataset(d Dataset) Dataset {
	d.PartitionBy = slices.Clone(d.PartitionBy)
	d.ClusterBy = slices.Clone(d.ClusterBy)
	d.TableProperties = maps.Clone(d.TableProperties)
	d.Expectations = slices.Clone(d.Expectations)
	return d
}

// normalizeDataset makes empty slices and maps nil, so that a dataset
// declared with [] and one declared without the field are the same model.
func normalizeDataset(d Dataset) Dataset {
	d = cloneDataset(d)
	if len(d.PartitionBy) == 0 {
		d.PartitionBy = nil
	}
	if len(d.ClusterBy) == 0 {
		d.ClusterBy = nil
	}
	if len(d.TableProperties) == 0 {
		d.TableProperties = nil
	}
	if len(d.Expectations) == 0 {
		d.Expectations = nil
	}
	return d
}

func flowNames(fs []Flow) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return quoteList(names)
}

// quoteList renders names as "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(none declared yet)"
	}
	return strings.Join(names, ", ")
}

// suggestFlowName proposes a free-looking flow name for messages.
func suggestFlowName(name, target string) string {
	s := name + "_flow"
	if target != "" && target != name {
		s = target + "_from_" + name
	}
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// StoragePath is where SDP keeps this pipeline's checkpoints and metadata:
// <Storage>/<Name>. The saved spark-pipeline.yml names it, and the engine
// runs with it, so engine runs and spark-pipelines runs of the folder share
// one state.
func (p *Pipeline) StoragePath() string {
	return strings.TrimRight(p.Storage, "/") + "/" + p.Name
}
