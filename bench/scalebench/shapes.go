package main

import (
	"fmt"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// shape is one generated pipeline of the benchmark.
type shape struct {
	name    string // e.g. "wide-500"
	family  string // wide, chain or lattice
	n       int    // datasets
	p       *pipeline.Pipeline
	deepest string // the dataset with the longest upstream chain
	change  string // the dataset the re-validation changes (keeping its columns)
}

// sourceTables creates the two source tables of schema src.
func sourceTables(src string) []string {
	return []string{
		fmt.Sprintf("CREATE TABLE %s.events USING parquet AS SELECT id, CAST(id %% 10 AS INT) AS k, CAST(id AS DOUBLE) AS v FROM range(1000)", src),
		fmt.Sprintf("CREATE TABLE %s.dims USING parquet AS SELECT CAST(id AS INT) AS k, CONCAT('k', id) AS label FROM range(10)", src),
	}
}

func mv(name, query string) pipeline.Dataset {
	return pipeline.Dataset{Name: name, Kind: pipeline.MaterializedView, Query: query}
}

// wide has n datasets in four layers (depth ≤ 4): the first reads the
// sources, each later dataset two of the layer before.
func wide(src string, n int) (*shape, error) {
	per := max(n/4, 1)
	var ds []pipeline.Dataset
	name := func(l, i int) string { return fmt.Sprintf("w%d_%d", l, i) }
	for l := 0; len(ds) < n; l++ {
		for i := 0; i < per && len(ds) < n; i++ {
			if l == 0 {
				ds = append(ds, mv(name(l, i), fmt.Sprintf(
					"SELECT e.id, e.k, e.v * %d AS v, d.label FROM %s.events e JOIN %s.dims d ON e.k = d.k WHERE e.id %% %d = %d",
					i+1, src, src, per, i)))
				continue
			}
			a, b := name(l-1, i), name(l-1, (i+1)%per)
			ds = append(ds, mv(name(l, i), fmt.Sprintf(
				"SELECT id, k, v + 1 AS v, label FROM %s UNION ALL SELECT id, k, v, label FROM %s WHERE k > 4", a, b)))
		}
	}
	return build(fmt.Sprintf("wide-%d", n), "wide", ds, ds[len(ds)-1].Name, ds[len(ds)/2].Name)
}

// chain has n datasets, each reading the one before.
func chain(src string, n int) (*shape, error) {
	ds := []pipeline.Dataset{mv("c0", "SELECT id, k, v FROM "+src+".events")}
	for i := 1; i < n; i++ {
		ds = append(ds, mv(fmt.Sprintf("c%d", i), fmt.Sprintf("SELECT id, k, v + 1 AS v FROM c%d", i-1)))
	}
	return build(fmt.Sprintf("chain-%d", n), "chain", ds, ds[n-1].Name, ds[n/2].Name)
}

// lattice has w×w datasets: each of row r > 0 joins two neighbours of row
// r-1, so upstream closures overlap (diamonds everywhere).
func lattice(src string, w int) (*shape, error) {
	var ds []pipeline.Dataset
	name := func(r, c int) string { return fmt.Sprintf("l%d_%d", r, c) }
	for r := 0; r < w; r++ {
		for c := 0; c < w; c++ {
			if r == 0 {
				ds = append(ds, mv(name(r, c), fmt.Sprintf("SELECT id, k, v + %d AS v FROM %s.events", c, src)))
				continue
			}
			ds = append(ds, mv(name(r, c), fmt.Sprintf(
				"SELECT a.id, a.k, a.v + b.v AS v FROM %s a JOIN %s b ON a.id = b.id", name(r-1, c), name(r-1, (c+1)%w))))
		}
	}
	return build(fmt.Sprintf("lattice-%dx%d", w, w), "lattice", ds, ds[len(ds)-1].Name, name(w/2, w/2))
}

func build(name, family string, ds []pipeline.Dataset, deepest, change string) (*shape, error) {
	p := &pipeline.Pipeline{Name: "scale_" + family}
	for _, d := range ds {
		if _, err := p.PutDataset(d); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, d.Name, err)
		}
	}
	return &shape{name: name, family: family, n: len(ds), p: p, deepest: deepest, change: change}, nil
}

// changed returns p with the body of dataset name changed in a way that
// keeps its columns; every variant is a body no validation saw before.
func changed(p *pipeline.Pipeline, name string, variant int) (*pipeline.Pipeline, error) {
	q := p.Clone()
	d, _ := q.Dataset(name)
	d.Query = fmt.Sprintf("SELECT * FROM (\n%s\n) AS x WHERE %d > 0", d.Query, variant)
	if _, err := q.PutDataset(d); err != nil {
		return nil, err
	}
	return q, nil
}
