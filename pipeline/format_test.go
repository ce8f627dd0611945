package pipeline

import (
	"strings"
	"testing"
)

// The environment's table format is stated on materialized views and
// streaming tables (not on temporary views), survives a save and load, and
// is not part of the pipeline's hash. Delta is stated in a comment, not
// with USING (see formatClause); other formats with USING.
func TestTableFormatRendered(t *testing.T) {
	p := &Pipeline{Name: "fmt", Storage: "file:///tmp/s", TableFormat: "delta",
		Datasets: []Dataset{
			{Name: "mv", Kind: MaterializedView, Query: "SELECT 1 AS id", Comment: "c"},
			{Name: "st", Kind: StreamingTable},
			{Name: "tv", Kind: TemporaryView, Query: "SELECT 1 AS id"},
		},
		Flows: []Flow{{Name: "f", Target: "st", Query: "SELECT * FROM STREAM(src)"}}}
	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{}
	for _, f := range files {
		body[f.Path] = string(f.Content)
	}
	if s := body[TransformationPath("mv")]; !strings.Contains(s, "CREATE MATERIALIZED VIEW `mv`\n-- table format: delta") {
		t.Errorf("mv:\n%s", s)
	}
	if s := body[TransformationPath("st")]; !strings.Contains(s, "CREATE STREAMING TABLE `st`\n-- table format: delta") || strings.Contains(s, "USING delta") {
		t.Errorf("st:\n%s", s)
	}
	if s := body[TransformationPath("tv")]; strings.Contains(s, "USING") {
		t.Errorf("temporary view states a format:\n%s", s)
	}

	dir := t.TempDir()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	q, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if q.TableFormat != "delta" || len(q.Datasets) != 3 {
		t.Errorf("loaded format %q, %d datasets", q.TableFormat, len(q.Datasets))
	}
	h1, _ := p.Hash()
	p.TableFormat = "parquet"
	h2, _ := p.Hash()
	if h1 != h2 {
		t.Error("the table format changed the pipeline hash")
	}
	// A draft saved under one format loads, and saving it under another
	// rewrites its files.
	q.TableFormat = "parquet"
	if err := q.Save(dir); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil || r.TableFormat != "parquet" {
		t.Fatalf("reload: %v, format %q", err, r.TableFormat)
	}
	files, err = r.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path == TransformationPath("mv") && !strings.Contains(string(f.Content), "CREATE MATERIALIZED VIEW `mv`\nUSING parquet\nCOMMENT 'c'\n") {
			t.Errorf("mv on parquet:\n%s", f.Content)
		}
	}
}

// A Delta dataset file written while Delta definitions still stated
// "USING delta" loads as the same dataset, not as a hand-edited file.
func TestLegacyDeltaFileLoads(t *testing.T) {
	for _, d := range []Dataset{
		{Name: "mv", Kind: MaterializedView, Query: "SELECT 1 AS id", Comment: "c"},
		{Name: "st", Kind: StreamingTable},
		{Name: "st2", Kind: StreamingTable, Query: "SELECT * FROM STREAM(src)"},
	} {
		h := datasetHeader(d)
		h.TableFormat = "delta"
		st := datasetStatement(d, "delta")
		st.head = strings.Replace(st.head, formatClause("delta"), "USING delta\n", 1)
		if !strings.Contains(st.head, "\nUSING delta\n") {
			t.Fatalf("%s: no format line to replace in %q", d.Name, st.head)
		}
		data, err := encodeFile(h, st.text(d.Query))
		if err != nil {
			t.Fatal(err)
		}
		h2, stmt, prob := decodeFile(data)
		if prob != nil {
			t.Fatalf("%s: %v", d.Name, prob)
		}
		got, ok := parseDatasetFile(h2, stmt)
		if !ok || got.Query != d.Query || got.Name != d.Name || got.Kind != d.Kind {
			t.Errorf("%s: legacy file parsed as %+v (ok=%v)", d.Name, got, ok)
		}
		// The same file under parquet is not taken for a parquet file.
		h2.TableFormat = "parquet"
		if _, ok := parseDatasetFile(h2, stmt); ok {
			t.Errorf("%s: a USING delta statement parsed as parquet", d.Name)
		}
	}
}
