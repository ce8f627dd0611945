package engine

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// DefinitionProperty is the table property every run writes on each
// materialized view and streaming table it defines: the dataset's
// [DefinitionHash]. A promotion plan reads it back from production to tell
// an unchanged definition from a replaced one, whichever workspace promoted
// it.
const DefinitionProperty = "sdp_mcp.definition_sha256"

// definitionFormat versions the hashed form of a definition.
const definitionFormat = "sdp-mcp/definition/v1"

// DefinitionHash is a SHA-256 (lower-case hex) of everything that defines
// the table of the named dataset: its declaration (kind, query, comment,
// partitioning, clustering, table properties, schema, expectations), the
// append flows into it, the temporary views it reads directly or through
// other temporary views (their text is part of its query), and the
// pipeline's configuration. Upstream materialized views and streaming
// tables are tables of their own and are not part of it. Catalog, schema
// and storage are left out, like in [pipeline.Pipeline.Hash].
func DefinitionHash(p *pipeline.Pipeline, name string) (string, error) {
	d, ok := p.Dataset(name)
	if !ok {
		return "", fmt.Errorf("definition hash: no dataset %q", name)
	}
	g := pipeline.BuildGraph(p)
	def := struct {
		Format        string             `json:"format"`
		Dataset       pipeline.Dataset   `json:"dataset"`
		Flows         []pipeline.Flow    `json:"flows,omitempty"`
		Views         []pipeline.Dataset `json:"views,omitempty"`
		Configuration map[string]string  `json:"configuration,omitempty"`
	}{Format: definitionFormat, Dataset: d, Flows: p.FlowsInto(name)}
	if len(p.Configuration) > 0 {
		def.Configuration = p.Configuration
	}
	delete(def.Dataset.TableProperties, DefinitionProperty) // the server writes it, whatever a declaration says
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, dep := range g.Dependencies(n) {
			v, ok := p.Dataset(dep)
			if !ok || v.Kind != pipeline.TemporaryView || seen[dep] {
				continue
			}
			seen[dep] = true
			def.Views = append(def.Views, v)
			visit(dep)
		}
	}
	visit(name)
	for _, f := range def.Flows {
		visit(f.Name)
	}
	slices.SortFunc(def.Views, func(a, b pipeline.Dataset) int { return cmp.Compare(a.Name, b.Name) })
	data, err := json.Marshal(def)
	if err != nil {
		return "", fmt.Errorf("definition hash of %s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// stamp returns a copy of p whose materialized views and streaming tables
// carry their DefinitionProperty. It is applied after the static checks,
// to what is registered for a run only.
func stamp(p *pipeline.Pipeline) (*pipeline.Pipeline, error) {
	out := p.Clone()
	for i, d := range out.Datasets {
		if d.Kind == pipeline.TemporaryView {
			continue
		}
		h, err := DefinitionHash(p, d.Name)
		if err != nil {
			return nil, err
		}
		props := make(map[string]string, len(d.TableProperties)+1)
		for k, v := range d.TableProperties {
			props[k] = v
		}
		props[DefinitionProperty] = h
		out.Datasets[i].TableProperties = props
	}
	return out, nil
}

// Plan actions of a dataset.
const (
	// ActionCreate: production has no table of this name yet.
	ActionCreate = "create"
	// ActionReplace: production has the table, and its definition differs
	// from the draft's, or production does not say what it is.
	ActionReplace = "replace definition"
	// ActionUnchanged: production's table carries the draft's definition
	// hash and has the columns the draft computes.
	ActionUnchanged = "unchanged"
)

// Refresh modes of a dataset in a plan.
const (
	// RefreshFull: the table is emptied and recomputed from scratch (a full
	// refresh was selected); a streaming table loses the history its
	// sources no longer hold.
	RefreshFull = "full refresh"
	// RefreshRecompute: a materialized view, recomputed from its query on
	// every run.
	RefreshRecompute = "recompute"
	// RefreshIncremental: a streaming table that processes only the input
	// that arrived since its last run.
	RefreshIncremental = "incremental"
	// RefreshNone: left out of the run by the refresh selection.
	RefreshNone = "not refreshed"
)

// ColumnChange is one difference between production's table and the
// draft's columns.
type ColumnChange struct {
	Column string `json:"column"`
	// Change is added, removed, retyped or nullability.
	Change string `json:"change"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Breaking is true when readers of the table may fail or get values
	// they did not get before: a removed column, a type that is not a
	// widening, a NOT NULL column that becomes nullable.
	Breaking bool `json:"breaking"`
}

// DatasetPlan is what promoting does to one materialized view or streaming
// table.
type DatasetPlan struct {
	Name string        `json:"name"`
	Kind pipeline.Kind `json:"kind"`
	// Table is the production table, catalog.schema.name.
	Table string `json:"table"`
	// Action is ActionCreate, ActionReplace or ActionUnchanged.
	Action string `json:"action"`
	// Why explains a replacement.
	Why string `json:"why,omitempty"`
	// ProductionRows counts the rows of the table now, when it exists.
	ProductionRows *int64 `json:"production_rows,omitempty"`
	// Format is the table's provider in production (parquet, delta, ...).
	Format string `json:"format,omitempty"`
	// SchemaChanges lists the column differences, when the table exists.
	SchemaChanges []ColumnChange `json:"schema_changes,omitempty"`
	// BreaksReaders is true when a schema change is breaking.
	BreaksReaders bool `json:"breaks_readers"`
	// Refresh is one of the Refresh* modes.
	Refresh string `json:"refresh"`
	// Protected is the full_refresh_protected glob that covers the
	// dataset, when one does.
	Protected string `json:"protected,omitempty"`
}

// Profile is what an environment runs: its Spark version and the table
// format datasets are written in.
type Profile struct {
	SparkVersion string `json:"spark_version"`
	TableFormat  string `json:"table_format"`
}

// Minor is the major.minor of the Spark version, or the version itself when
// it cannot be read.
func (p Profile) Minor() string {
	v, err := connect.ParseVersion(p.SparkVersion)
	if err != nil {
		return p.SparkVersion
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// Parity compares the sandbox with production.
type Parity struct {
	Sandbox    Profile `json:"sandbox"`
	Production Profile `json:"production"`
	// Same is true when the Spark minor versions and the table formats are
	// equal.
	Same bool `json:"same"`
	// Differences names what differs, one sentence each.
	Differences []string `json:"differences,omitempty"`
	// Policy is what the policy does about a difference: refuse or warn.
	Policy string `json:"policy"`
}

// Parity policies.
const (
	ParityRefuse = "refuse"
	ParityWarn   = "warn"
)

// Compare compares the two profiles under a policy (ParityRefuse or
// ParityWarn).
func Compare(sandbox, production Profile, policy string) *Parity {
	p := &Parity{Sandbox: sandbox, Production: production, Policy: policy}
	if a, b := sandbox.Minor(), production.Minor(); a != b {
		p.Differences = append(p.Differences, fmt.Sprintf("the sandbox runs Spark %s, production Spark %s: a pipeline validated on one minor version may behave differently on the other",
			sandbox.SparkVersion, production.SparkVersion))
	}
	if a, b := sandbox.TableFormat, production.TableFormat; !strings.EqualFold(a, b) {
		p.Differences = append(p.Differences, fmt.Sprintf("the sandbox writes %s tables, production %s tables: what the sandbox showed (streaming writes, merges, schema changes) may not hold in production", a, b))
	}
	p.Same = len(p.Differences) == 0
	return p
}

// Refuses reports whether the comparison stops a promotion.
func (p *Parity) Refuses() bool { return p != nil && !p.Same && p.Policy != ParityWarn }

// PromotionPlan is what promoting a validated draft would do in production,
// computed without changing anything there. Promote computes it again right
// before it runs and returns it with its result.
type PromotionPlan struct {
	Pipeline     string `json:"pipeline"`
	PipelineHash string `json:"pipeline_hash"`
	// Target is the production catalog.schema.
	Target string `json:"target"`
	// Parity compares the sandbox and production, when both answered.
	Parity *Parity `json:"parity,omitempty"`
	// Datasets are the materialized views and streaming tables, in
	// dependency order. Temporary views are not stored, so not listed.
	Datasets []DatasetPlan `json:"datasets"`
	// FullRefresh lists the tables that will be emptied and recomputed
	// from scratch.
	FullRefresh []string `json:"full_refresh,omitempty"`
	// Preflight are the problems of the source pre-flight and the
	// production dry-run: every source must exist in production with
	// compatible columns, and the draft must register there. Empty means
	// it passed.
	Preflight pipeline.Problems `json:"preflight,omitempty"`
	// Refusals say why promote would refuse to run this plan (protected
	// full refreshes, a parity difference the policy refuses, a failed
	// pre-flight). Empty means promote would go ahead.
	Refusals []string `json:"refusals,omitempty"`
	// Warnings are risks that do not stop the promotion.
	Warnings []string `json:"warnings,omitempty"`
}

// PlanInput is what [BuildPlan] combines; the engine gathers the
// production side with [Engine.InspectTables] and [Engine.Profile].
type PlanInput struct {
	// Pipeline is the draft, bound to production.
	Pipeline *pipeline.Pipeline
	// Columns are the columns the draft computes for each dataset
	// (ValidationResult.Datasets of the production dry-run).
	Columns map[string][]connect.Column
	// Tables is what production has now, by dataset name (absent: no
	// table).
	Tables map[string]TableState
	// Options is the refresh selection of the promotion.
	Options RunOptions
	// Protected returns the full_refresh_protected glob covering a
	// dataset, or "".
	Protected func(dataset string) string
	// Parity is the environment comparison, nil when it could not be made.
	Parity *Parity
	// Preflight are the source pre-flight and dry-run problems.
	Preflight pipeline.Problems
}

// TableState is what production has for one dataset's table.
type TableState struct {
	Columns []connect.Column `json:"columns"`
	// Definition is the table's DefinitionProperty, "" when absent.
	Definition string `json:"definition,omitempty"`
	// Format is the table's provider (parquet, delta, iceberg, ...).
	Format string `json:"format,omitempty"`
	// Rows is the table's row count, nil when it could not be counted.
	Rows *int64 `json:"rows,omitempty"`
}

// BuildPlan computes the promotion plan from what the draft computes and
// what production has. It talks to nothing.
func BuildPlan(in PlanInput) (*PromotionPlan, error) {
	p := in.Pipeline
	sum, err := p.Hash()
	if err != nil {
		return nil, err
	}
	plan := &PromotionPlan{Pipeline: p.Name, PipelineHash: sum, Target: p.Catalog + "." + p.Database,
		Parity: in.Parity, Datasets: []DatasetPlan{}, Preflight: in.Preflight}
	order, err := pipeline.BuildGraph(p).Order()
	if err != nil {
		return nil, err
	}
	selected := func(name string) bool {
		return len(in.Options.Refresh)+len(in.Options.FullRefresh) == 0 || in.Options.FullRefreshAll ||
			slices.Contains(in.Options.Refresh, name) || slices.Contains(in.Options.FullRefresh, name)
	}
	for _, name := range order {
		d, ok := p.Dataset(name)
		if !ok || d.Kind == pipeline.TemporaryView {
			continue
		}
		dp := DatasetPlan{Name: name, Kind: d.Kind, Table: p.Catalog + "." + p.Database + "." + name}
		if in.Protected != nil {
			dp.Protected = in.Protected(name)
		}
		switch {
		case in.Options.FullRefreshAll || slices.Contains(in.Options.FullRefresh, name):
			dp.Refresh = RefreshFull
		case !selected(name):
			dp.Refresh = RefreshNone
		case d.Kind == pipeline.MaterializedView:
			dp.Refresh = RefreshRecompute
		default:
			dp.Refresh = RefreshIncremental
		}
		def, err := DefinitionHash(p, name)
		if err != nil {
			return nil, err
		}
		cols, analyzed := in.Columns[name]
		ts, exists := in.Tables[name]
		switch {
		case !exists:
			dp.Action = ActionCreate
		default:
			dp.ProductionRows, dp.Format = ts.Rows, ts.Format
			if analyzed {
				dp.SchemaChanges = DiffColumns(ts.Columns, cols, fileBased(ts.Format))
			}
			for _, c := range dp.SchemaChanges {
				dp.BreaksReaders = dp.BreaksReaders || c.Breaking
			}
			switch {
			case ts.Definition == "":
				dp.Action, dp.Why = ActionReplace, "production's table carries no "+DefinitionProperty+" property: it was not written by this server, so its definition is unknown"
			case ts.Definition != def:
				dp.Action, dp.Why = ActionReplace, "the declaration differs from the one production's table was last written with"
			case len(dp.SchemaChanges) > 0:
				dp.Action, dp.Why = ActionReplace, "the declaration is the same but its columns differ in production (its sources changed)"
			default:
				dp.Action = ActionUnchanged
			}
		}
		if exists && analyzed && rebuildsTable(d.Kind, ts.Definition, def, dp.Refresh != RefreshNone, dp.Refresh == RefreshFull) && !slices.Equal(ts.Columns, cols) {
			dp.Why += "; the run drops the table and creates it anew with the new columns (its history starts anew)"
			if dp.Protected != "" && dp.Refresh != RefreshFull { // a full refresh is refused below
				plan.Refusals = append(plan.Refusals, fmt.Sprintf("%s would be dropped and created anew with its new columns, but the policy protects it "+
					"(full_refresh_protected: %s); keep its columns, or declare the new shape under a new dataset name", name, dp.Protected))
			}
		} else if msg := keptColumns(ts.Columns, cols); exists && analyzed && d.Kind == pipeline.StreamingTable && dp.Refresh == RefreshIncremental && msg != "" {
			plan.Refusals = append(plan.Refusals, fmt.Sprintf("%s: %s; a streaming table keeps its rows on an incremental run, so its table's "+
				"existing columns cannot go away or change type (the run would fail); promote with full_refresh: [%q], or keep the existing columns with their types",
				name, msg, name))
		} else if exists && analyzed && fileBased(ts.Format) {
			if msg := inPlaceChange(ts.Columns, cols); msg != "" {
				plan.Refusals = append(plan.Refusals, fmt.Sprintf("%s: %s; production's table is a %s table in the metastore, "+
					"which refuses to change a column's type in place (Unable to alter table … incompatible), so the run would fail, "+
					"even as a full refresh, which empties the table first; declare the new shape under a new dataset name, or have "+
					"the operator drop the production table %s", name, msg, ts.Format, dp.Table))
			}
		}
		if dp.Refresh == RefreshFull {
			plan.FullRefresh = append(plan.FullRefresh, dp.Table)
			if dp.Protected != "" {
				plan.Refusals = append(plan.Refusals, fmt.Sprintf("%s would be fully refreshed, but the policy protects it (full_refresh_protected: %s)", name, dp.Protected))
			}
		}
		if dp.BreaksReaders {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s: %s breaks readers of %s", name, changeList(dp.SchemaChanges, true), dp.Table))
		}
		plan.Datasets = append(plan.Datasets, dp)
	}
	if in.Parity != nil && !in.Parity.Same {
		for _, d := range in.Parity.Differences {
			if in.Parity.Refuses() {
				plan.Refusals = append(plan.Refusals, d+" (production_parity: refuse)")
			} else {
				plan.Warnings = append(plan.Warnings, d+" (production_parity: warn)")
			}
		}
	}
	if len(in.Preflight) > 0 {
		plan.Refusals = append(plan.Refusals, fmt.Sprintf("the source pre-flight in production found %d problem(s)", len(in.Preflight)))
	}
	return plan, nil
}

// fileBased reports whether a table format stores every column as
// nullable (Spark's file sources do), so a NOT NULL the query computes is
// not what the table will hold.
func fileBased(format string) bool {
	switch strings.ToLower(format) {
	case "parquet", "orc", "json", "csv", "avro", "text", "hive":
		return true
	}
	return false
}

// DiffColumns compares the columns of production's table (before) with
// those the draft computes (after), by name, case-insensitively. When
// nullableStore is set, the table stores every column as nullable, so
// after's nullability is not compared.
func DiffColumns(before, after []connect.Column, nullableStore bool) []ColumnChange {
	var out []ColumnChange
	find := func(cols []connect.Column, name string) (connect.Column, bool) {
		for _, c := range cols {
			if strings.EqualFold(c.Name, name) {
				return c, true
			}
		}
		return connect.Column{}, false
	}
	for _, b := range before {
		a, ok := find(after, b.Name)
		if !ok {
			out = append(out, ColumnChange{Column: b.Name, Change: "removed", Before: b.Type, Breaking: true})
			continue
		}
		if !strings.EqualFold(a.Type, b.Type) {
			out = append(out, ColumnChange{Column: b.Name, Change: "retyped", Before: b.Type, After: a.Type, Breaking: !widens(b.Type, a.Type)})
		}
		an := a.Nullable || nullableStore
		if an != b.Nullable {
			out = append(out, ColumnChange{Column: b.Name, Change: "nullability", Before: nullability(b.Nullable), After: nullability(an), Breaking: an})
		}
	}
	for _, a := range after {
		if _, ok := find(before, a.Name); !ok {
			out = append(out, ColumnChange{Column: a.Name, Change: "added", After: a.Type})
		}
	}
	return out
}

// inPlaceChange describes the first column position whose type changes
// other than by a widening (int → bigint works in place), comparing by
// position as the metastore does (a removed column shifts the ones after
// it), or returns "" when every existing position keeps a compatible type
// (columns only added at the end, widenings).
func inPlaceChange(before, after []connect.Column) string {
	for i := 0; i < len(before) && i < len(after); i++ {
		if b, a := before[i], after[i]; !strings.EqualFold(b.Type, a.Type) && !widens(b.Type, a.Type) {
			return fmt.Sprintf("column %d would change from %s %s to %s %s", i+1, b.Name, b.Type, a.Name, a.Type)
		}
	}
	return ""
}

func nullability(nullable bool) string {
	if nullable {
		return "nullable"
	}
	return "NOT NULL"
}

// widens reports whether every value of type from is exactly a value of
// type to: the integer and floating-point widenings Spark readers accept.
func widens(from, to string) bool {
	rank := map[string]int{"tinyint": 1, "smallint": 2, "int": 3, "bigint": 4}
	f, t := strings.ToLower(from), strings.ToLower(to)
	if rf, ok := rank[f]; ok {
		if rt, ok := rank[t]; ok {
			return rt > rf
		}
		return t == "double" && rf <= 3
	}
	return f == "float" && t == "double"
}

// changeList renders column changes briefly; breaking only lists those.
func changeList(cs []ColumnChange, breaking bool) string {
	var parts []string
	for _, c := range cs {
		if breaking && !c.Breaking {
			continue
		}
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ", ")
}

func (c ColumnChange) String() string {
	switch c.Change {
	case "added":
		return "+" + c.Column + " " + c.After
	case "removed":
		return "-" + c.Column + " " + c.Before
	}
	return c.Column + " " + c.Before + " → " + c.After
}

// Blocked reports whether promote would refuse this plan.
func (p *PromotionPlan) Blocked() bool { return len(p.Refusals) > 0 }

// Text renders the plan compactly, one line per dataset, for people (an
// approval) and for the summary of a call.
func (p *PromotionPlan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "promotion plan for %s (%s) into %s\n", p.Pipeline, short(p.PipelineHash), p.Target)
	if p.Parity != nil {
		fmt.Fprintf(&b, "environments: sandbox Spark %s %s, production Spark %s %s",
			p.Parity.Sandbox.SparkVersion, p.Parity.Sandbox.TableFormat, p.Parity.Production.SparkVersion, p.Parity.Production.TableFormat)
		if p.Parity.Same {
			b.WriteString(" (same minor and format)\n")
		} else {
			fmt.Fprintf(&b, " (differ; policy: %s)\n", p.Parity.Policy)
		}
	}
	for _, d := range p.Datasets {
		fmt.Fprintf(&b, "  %-18s %-17s %s", d.Action, d.Name, d.Refresh)
		if d.ProductionRows != nil {
			fmt.Fprintf(&b, ", %d rows now", *d.ProductionRows)
		}
		if len(d.SchemaChanges) > 0 {
			fmt.Fprintf(&b, "; columns: %s", changeList(d.SchemaChanges, false))
			if d.BreaksReaders {
				b.WriteString(" (breaks readers)")
			}
		}
		if d.Protected != "" {
			b.WriteString("; protected from full refresh")
		}
		b.WriteString("\n")
	}
	if len(p.Preflight) == 0 {
		b.WriteString("source pre-flight: ok\n")
	} else {
		fmt.Fprintf(&b, "source pre-flight: %d problem(s)\n", len(p.Preflight))
		for _, pr := range p.Preflight {
			fmt.Fprintf(&b, "  - %s %s: %s\n", pr.On, pr.Name, pr.Message)
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	for _, r := range p.Refusals {
		fmt.Fprintf(&b, "refused: %s\n", r)
	}
	return strings.TrimRight(b.String(), "\n")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
