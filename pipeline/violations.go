package pipeline

import (
	"fmt"
	"strings"
)

// ViolationCountSQL returns a batch query that counts, for every expectation
// of the named dataset (in declared order), the rows that pass and fail it.
// It yields one row per expectation with the columns expectation (STRING),
// passed and failed (BIGINT).
//
// The rows counted are the dataset's unfiltered rows: its own body and the
// bodies of the flows appending to it, before any expectation is applied, so
// warn, drop and fail expectations are all counted. Declared upstreams are
// read from their materialized tables in the pipeline's catalog and
// database (run the query after a run); temporary views, which are not
// stored, are inlined as CTEs. STREAM reads become batch reads, so the counts
// cover all the data the sources hold now, not only the last run's
// increment. As in a run, a NULL condition counts as failed.
func ViolationCountSQL(p *Pipeline, dataset string) (string, error) {
	d, ok := p.Dataset(dataset)
	if !ok {
		return "", Problems{{On: "dataset", Name: dataset, Field: "name", Got: dataset,
			Message: "no dataset has this name", Fix: "use one of the declared datasets: " + orNone(p.datasetNames())}}
	}
	if len(d.Expectations) == 0 {
		return "", Problems{{On: "dataset", Name: dataset, Field: "expectations",
			Message: "the dataset has no expectations to count", Fix: "declare expectations on it first"}}
	}
	in := newInliner(p, true)
	parts := in.parts(d)
	if len(parts) == 0 {
		return "", Problems{{On: "dataset", Name: d.Name, Field: "query",
			Message: "nothing writes to this streaming table, so there are no rows to count",
			Fix:     "give it a query, or declare a flow with target " + d.Name}}
	}
	checks := make([]string, len(d.Expectations))
	for i, e := range d.Expectations {
		checks[i] = fmt.Sprintf("(%s) IS TRUE AS `e%d`", e.Condition, i)
	}
	also := []string{d.Name}
	var selects, ups []string
	for _, pt := range parts {
		on := "dataset"
		if pt.alias != d.Name {
			on = "flow"
			also = append(also, pt.alias)
		}
		body, reads, err := in.rewrite(on, pt.alias, pt.query)
		if err != nil {
			return "", err
		}
		ups = append(ups, reads...)
		selects = append(selects, "SELECT "+strings.Join(checks, ", ")+" FROM (\n"+body+"\n) AS "+quoteIdent(pt.alias))
	}
	with, err := in.withClause(sortedUnique(ups), also...)
	if err != nil {
		return "", err
	}
	if with == "" {
		with = "WITH "
	} else {
		with = strings.TrimSuffix(with, "\n") + ",\n"
	}
	counts := make([]string, 0, 2*len(d.Expectations))
	stack := make([]string, 0, 3*len(d.Expectations))
	for i, e := range d.Expectations {
		counts = append(counts, fmt.Sprintf("COUNT_IF(`e%d`) AS `p%d`, COUNT_IF(NOT `e%d`) AS `f%d`", i, i, i, i))
		stack = append(stack, fmt.Sprintf("%s, `p%d`, `f%d`", quoteString(e.Name), i, i))
	}
	var b strings.Builder
	b.WriteString(with)
	b.WriteString("`__sdp_mcp_rows` AS (\n")
	b.WriteString(strings.Join(selects, "\nUNION ALL\n"))
	b.WriteString("\n)\n")
	fmt.Fprintf(&b, "SELECT stack(%d, %s) AS (`expectation`, `passed`, `failed`)\n", len(d.Expectations), strings.Join(stack, ", "))
	b.WriteString("FROM (SELECT " + strings.Join(counts, ", ") + " FROM `__sdp_mcp_rows`) AS `counts`")
	return b.String(), nil
}
