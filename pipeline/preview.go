package pipeline

import (
	"fmt"
	"strconv"
)

// PreviewSQL returns a batch query showing up to limit rows of the named
// dataset as a run would produce them, without any prior run:
//
//	WITH `up1` AS (SELECT * FROM (
//	<body of up1>
//	) AS `up1`), ...
//	SELECT * FROM (
//	<body>
//	) AS `preview` LIMIT <limit>
//
// Every declared dataset the body reads, directly or not, is inlined as a
// CTE in dependency order (temporary views too; a streaming table's CTE is
// the UNION ALL of its own query and its flows). In every body, STREAM(x)
// and STREAM x become batch reads of x, names of declared datasets qualified
// with the pipeline's catalog and database become the bare CTE name, and
// other names are qualified with the pipeline's catalog and database as SDP
// would resolve them. Drop expectations filter each inlined dataset and the
// previewed one, as in a run; fail expectations are not checked, so a
// preview shows rows a run would fail on.
//
// Known limit: a WATERMARK clause after a streaming read is kept, and the
// engine may reject it on a batch read.
func PreviewSQL(p *Pipeline, dataset string, limit int) (string, error) {
	d, ok := p.Dataset(dataset)
	if !ok {
		return "", Problems{{On: "dataset", Name: dataset, Field: "name", Got: dataset,
			Message: "no dataset has this name", Fix: "preview one of the declared datasets: " + orNone(p.datasetNames())}}
	}
	if err := checkLimit(limit); err != nil {
		return "", err
	}
	in := newInliner(p, false)
	also := []string{d.Name}
	for _, f := range p.FlowsInto(d.Name) {
		also = append(also, f.Name)
	}
	parts := in.parts(d)
	if len(parts) == 0 {
		return "", Problems{{On: "dataset", Name: d.Name, Field: "query",
			Message: "nothing writes to this streaming table yet, so there is nothing to preview",
			Fix:     "give it a query, or declare a flow with target " + d.Name}}
	}
	var body, where string
	var ups []string
	var err error
	if len(parts) == 1 {
		on := "dataset"
		if parts[0].alias != d.Name {
			on = "flow"
		}
		body, ups, err = in.rewrite(on, parts[0].alias, parts[0].query)
		if f := dropFilter(d.Expectations); f != "" {
			where = "\nWHERE " + f
		}
	} else {
		body, ups, err = in.content(d)
	}
	if err != nil {
		return "", err
	}
	with, err := in.withClause(ups, also...)
	if err != nil {
		return "", err
	}
	return with + "SELECT * FROM (\n" + body + "\n) AS `preview`" + where + "\nLIMIT " + strconv.Itoa(limit), nil
}

// PreviewQuerySQL is [PreviewSQL] for an ad-hoc query body that is not
// declared: the declared datasets it reads are inlined the same way.
func PreviewQuerySQL(p *Pipeline, query string, limit int) (string, error) {
	if err := checkLimit(limit); err != nil {
		return "", err
	}
	if ps := checkQuery("query", "", query); len(ps) > 0 {
		return "", ps
	}
	in := newInliner(p, false)
	body, ups, err := in.rewrite("query", "", query)
	if err != nil {
		return "", err
	}
	with, err := in.withClause(ups)
	if err != nil {
		return "", err
	}
	return with + "SELECT * FROM (\n" + body + "\n) AS `preview`\nLIMIT " + strconv.Itoa(limit), nil
}

func checkLimit(limit int) error {
	if limit < 1 {
		return Problems{{On: "preview", Field: "limit", Got: strconv.Itoa(limit),
			Message: "the row limit must be at least 1", Fix: fmt.Sprintf("ask for 1 to n rows, e.g. %d", 20)}}
	}
	return nil
}
