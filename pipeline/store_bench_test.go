package pipeline

import (
	"fmt"
	"testing"
)

// BenchmarkStoreRedeclare measures one re-declaration on a kept draft of
// 500 datasets as declare_table does it: load, put, save, hash, facts.
func BenchmarkStoreRedeclare(b *testing.B) {
	const n, per = 500, 125
	p := &Pipeline{Name: "wide", Catalog: "spark_catalog", Database: "sb", Storage: "file:///tmp/x", scans: newScanMemo(4096)}
	name := func(l, i int) string { return fmt.Sprintf("w%d_%d", l, i) }
	for l := 0; len(p.Datasets) < n; l++ {
		for i := 0; i < per && len(p.Datasets) < n; i++ {
			q := fmt.Sprintf("SELECT e.id, e.k FROM src.events e JOIN src.dims d ON e.k = d.k WHERE e.id %% %d = %d", per, i)
			if l > 0 {
				q = fmt.Sprintf("SELECT id, k FROM %s UNION ALL SELECT id, k FROM %s WHERE k > 4", name(l-1, i), name(l-1, (i+1)%per))
			}
			if _, err := p.PutDataset(Dataset{Name: name(l, i), Kind: MaterializedView, Query: q}); err != nil {
				b.Fatal(err)
			}
		}
	}
	dir := b.TempDir()
	s := NewStore()
	if err := s.Save(p, dir); err != nil {
		b.Fatal(err)
	}
	d := p.Datasets[n/2]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, err := s.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		nd := d
		if i%2 == 1 {
			nd.Query = "SELECT * FROM (\n" + d.Query + "\n) AS x WHERE true"
		}
		if _, err := q.PutDataset(nd); err != nil {
			b.Fatal(err)
		}
		if err := s.Save(q, dir); err != nil {
			b.Fatal(err)
		}
		if _, err := q.Hash(); err != nil {
			b.Fatal(err)
		}
		q.ElementFacts(nd.Name)
	}
}
