package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// clauseSet says which optional clauses of SDP SQL the target Spark accepts.
// Every clause is rendered when on; when one is switched off, rendering
// leaves it out and validation rejects declarations that need it, with a fix
// hint, so nothing is silently dropped.
type clauseSet struct {
	ColumnList      bool // CREATE ... name (<DDL columns>)
	Comment         bool // COMMENT '...' on datasets
	FlowComment     bool // COMMENT '...' on CREATE FLOW
	PartitionedBy   bool // PARTITIONED BY (cols)
	ClusterBy       bool // CLUSTER BY (cols)
	TableProperties bool // TBLPROPERTIES ('k' = 'v', ...)
}

// clauses returns the clauses rendered for the pinned Spark version.
func clauses() clauseSet {
	return clauseSet{ColumnList: true, Comment: true, FlowComment: true,
		PartitionedBy: true, ClusterBy: true, TableProperties: true}
}

// clauseProblems reports fields of d whose clause is switched off.
func clauseProblems(d Dataset) Problems {
	c := clauses()
	var ps Problems
	off := func(field string) {
		ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: field,
			Message: "the pinned Spark version does not accept " + field + " in pipeline SQL",
			Fix:     "remove " + field})
	}
	if !c.ColumnList && d.Schema != "" {
		off("schema")
	}
	if !c.Comment && d.Comment != "" {
		off("comment")
	}
	if !c.PartitionedBy && len(d.PartitionBy) > 0 {
		off("partition_by")
	}
	if !c.ClusterBy && len(d.ClusterBy) > 0 {
		off("cluster_by")
	}
	if !c.TableProperties && len(d.TableProperties) > 0 {
		off("table_properties")
	}
	return ps
}

// statement is a generated statement split around the agent's body:
// the full text is head + body + tail, or just head when there is no body
// (a streaming table fed by flows).
type statement struct {
	head, tail string
	hasBody    bool
}

func (s statement) text(body string) string {
	if !s.hasBody {
		return s.head
	}
	return s.head + body + s.tail
}

// RenderDataset returns the SDP SQL statement that defines d, without the
// file header. The agent's body appears only inside
// "SELECT * FROM (\n<body>\n) AS `<name>`", followed by the filters of d's
// drop and fail expectations. format is the environment's table format
// (USING <format> on materialized views and streaming tables); "" leaves
// it to the server's default.
func RenderDataset(d Dataset, format string) (string, error) {
	if ps := validateDataset(d); len(ps) > 0 {
		return "", ps
	}
	return datasetStatement(d, format).text(d.Query), nil
}

// RenderFlow returns the SDP SQL statement that defines f, without the file
// header. target is the streaming table f appends to: its drop and fail
// expectations filter the flow's rows, because every row of the table
// arrives through one of its flows.
func RenderFlow(f Flow, target Dataset) (string, error) {
	ps := validateFlow(f)
	if target.Name != f.Target || target.Kind != StreamingTable {
		ps = append(ps, Problem{On: "flow", Name: f.Name, Field: "target", Got: f.Target,
			Message: "the target must be the declared streaming table " + f.Target,
			Fix:     "declare " + f.Target + " as kind streaming_table"})
	}
	if len(ps) > 0 {
		return "", ps
	}
	return flowStatement(f, target).text(f.Query), nil
}

func datasetStatement(d Dataset, format string) statement {
	c := clauses()
	var b strings.Builder
	switch d.Kind {
	case MaterializedView:
		b.WriteString("CREATE MATERIALIZED VIEW ")
	case StreamingTable:
		b.WriteString("CREATE STREAMING TABLE ")
	case TemporaryView:
		b.WriteString("CREATE TEMPORARY VIEW ")
	}
	b.WriteString(quoteIdent(d.Name))
	if c.ColumnList && d.Schema != "" {
		b.WriteString(" (\n  " + d.Schema + "\n)")
	}
	b.WriteByte('\n')
	if format != "" && d.Kind != TemporaryView && formatRE.MatchString(format) {
		b.WriteString(formatClause(format))
	}
	if c.Comment && d.Comment != "" {
		b.WriteString("COMMENT " + quoteString(d.Comment) + "\n")
	}
	if c.PartitionedBy && len(d.PartitionBy) > 0 {
		b.WriteString("PARTITIONED BY (" + quoteIdents(d.PartitionBy) + ")\n")
	}
	if c.ClusterBy && len(d.ClusterBy) > 0 {
		b.WriteString("CLUSTER BY (" + quoteIdents(d.ClusterBy) + ")\n")
	}
	if c.TableProperties && len(d.TableProperties) > 0 {
		b.WriteString("TBLPROPERTIES (\n")
		keys := sortedKeys(d.TableProperties)
		for i, k := range keys {
			b.WriteString("  " + quoteString(k) + " = " + quoteString(d.TableProperties[k]))
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(")\n")
	}
	if d.Kind == StreamingTable && d.Query == "" {
		return statement{head: b.String()}
	}
	b.WriteString("AS ")
	head, tail := wrapBody(d.Name, expectationFilter(d.Expectations, d.Name, ""))
	return statement{head: b.String() + head, tail: tail, hasBody: true}
}

func flowStatement(f Flow, target Dataset) statement {
	var b strings.Builder
	b.WriteString("CREATE FLOW " + quoteIdent(f.Name) + "\n")
	if clauses().FlowComment && f.Comment != "" {
		b.WriteString("COMMENT " + quoteString(f.Comment) + "\n")
	}
	b.WriteString("AS INSERT INTO " + quoteIdent(f.Target) + " BY NAME ")
	head, tail := wrapBody(f.Name, expectationFilter(target.Expectations, target.Name, f.Name))
	return statement{head: b.String() + head, tail: tail, hasBody: true}
}

// wrapBody returns the text around an agent's body: the only shape in which
// a body ever reaches Spark. The line breaks keep a trailing -- comment in
// the body from swallowing the closing parenthesis.
func wrapBody(alias, filter string) (head, tail string) {
	tail = "\n) AS " + quoteIdent(alias)
	if filter != "" {
		tail += "\nWHERE " + filter
	}
	return "SELECT * FROM (\n", tail + "\n"
}

// expectationFilter returns the WHERE condition enforcing the fail and drop
// expectations (warn expectations are only counted), or "".
//
// A row passes an expectation only when its condition is TRUE: FALSE and
// NULL both count as violations, so "(cond) IS TRUE" is used rather than
// "cond". Fail expectations come first so that a row violating both a fail
// and a drop expectation fails the run rather than vanishing.
func expectationFilter(es []Expectation, dataset, flow string) string {
	var conds []string
	for _, e := range es {
		if e.OnViolation == Fail {
			conds = append(conds, "CASE WHEN ("+e.Condition+") IS TRUE THEN TRUE ELSE RAISE_ERROR("+
				quoteString(failMessage(e, dataset, flow))+") END")
		}
	}
	for _, e := range es {
		if e.OnViolation == Drop {
			conds = append(conds, "("+e.Condition+") IS TRUE")
		}
	}
	return strings.Join(conds, "\n  AND ")
}

// failMessage is the error a fail expectation raises; it names the
// expectation, the dataset (and flow) and the condition, so the run's error
// tells the agent what to fix.
func failMessage(e Expectation, dataset, flow string) string {
	where := "dataset " + dataset
	if flow != "" {
		where += " (flow " + flow + ")"
	}
	return fmt.Sprintf("sdp-mcp expectation %s failed on %s: %s", e.Name, where, e.Condition)
}

// quoteIdents renders columns as `a`, `b`.
// formatRE is what a table format name may look like in USING.
var formatRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// formatClause states a dataset's table format: USING format, except for
// Delta. Spark 4.2's pipeline runner sets a stated format again, as the
// reserved table property "provider", on every refresh of a table that
// exists, and Delta Lake refuses any change of that property
// (DELTA_CANNOT_CHANGE_PROVIDER): every run after the first would fail.
// A Delta environment makes Delta its default format
// (spark.sql.sources.default=delta, which the sandbox launcher sets and the
// promotion parity check reads from production), so its tables are Delta
// tables without USING; the comment keeps the format visible to readers.
func formatClause(format string) string {
	if format == "delta" {
		return "-- table format: delta (the environment's default format; not stated with USING, which Delta refuses on refresh)\n"
	}
	return "USING " + format + "\n"
}

func quoteIdents(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}
