package pipeline

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

func storeDraft(t *testing.T, n int) *Pipeline {
	t.Helper()
	p := &Pipeline{Name: "kept", Catalog: "spark_catalog", Database: "db", Storage: "file:///tmp/kept"}
	for i := 0; i < n; i++ {
		q := "SELECT 1 AS v"
		if i > 0 {
			q = fmt.Sprintf("SELECT v + 1 AS v FROM d%d", i-1)
		}
		if _, err := p.PutDataset(Dataset{Name: fmt.Sprintf("d%d", i), Kind: MaterializedView, Query: q}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.PutDataset(Dataset{Name: "st", Kind: StreamingTable}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PutFlow(Flow{Name: "st_in", Target: "st", Query: "SELECT v FROM STREAM(spark_catalog.src.t)"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// stamps reads each file's inode and modification time.
func stamps(t *testing.T, dir string) map[string]fileStamp {
	t.Helper()
	out := map[string]fileStamp{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := statStamp(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = st
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStoreWritesOnlyWhatChanged: a change to one declaration writes its
// file alone; a removal deletes its file alone; the folder always loads
// back (with a full Load) as the draft.
func TestStoreWritesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	s := NewStore()
	p := storeDraft(t, 20)
	if err := s.Save(p, dir); err != nil {
		t.Fatal(err)
	}
	before := stamps(t, dir)
	time.Sleep(10 * time.Millisecond) // distinct modification times

	q, err := s.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.PutDataset(Dataset{Name: "d5", Kind: MaterializedView, Query: "SELECT v * 2 AS v FROM d4"}); err != nil {
		t.Fatal(err)
	}
	if err := q.RemoveDataset("d19"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(q, dir); err != nil {
		t.Fatal(err)
	}
	after := stamps(t, dir)
	for path, st := range before {
		switch path {
		case "transformations/d5.sql":
			if after[path] == st {
				t.Errorf("%s was not rewritten", path)
			}
		case "transformations/d19.sql":
			if _, ok := after[path]; ok {
				t.Errorf("%s was not removed", path)
			}
		default:
			if after[path] != st {
				t.Errorf("%s was written, but did not change", path)
			}
		}
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(q, loaded, ignoreMemo); d != "" {
		t.Errorf("the folder differs from the draft (-draft +folder):\n%s", d)
	}
	// The target of a flow changes: the flow's file is written too.
	if _, err := q.PutDataset(Dataset{Name: "st", Kind: StreamingTable, Comment: "fed by st_in"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(q, dir); err != nil {
		t.Fatal(err)
	}
	if loaded, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	if d := gocmp.Diff(q, loaded, ignoreMemo); d != "" {
		t.Errorf("after the target changed (-draft +folder):\n%s", d)
	}
}

// TestStoreSeesOutsideChanges: a folder changed by other means is read
// from the disk again, with its problems.
func TestStoreSeesOutsideChanges(t *testing.T) {
	dir := t.TempDir()
	s := NewStore()
	if err := s.Save(storeDraft(t, 3), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(dir); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, TransformationsDir, "mine.py")
	if err := os.WriteFile(foreign, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(dir); err == nil {
		t.Error("Load kept answering from memory after a file was added")
	}
	if err := os.Remove(foreign); err != nil {
		t.Fatal(err)
	}
	// A file replaced by a rename (as editors save).
	path := filepath.Join(dir, TransformationsDir, "d1.sql")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(data, []byte("-- edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(dir); err == nil {
		t.Error("Load kept answering from memory after a file was replaced")
	}
	// A removed folder.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(dir); err == nil {
		t.Error("Load of a removed folder succeeded")
	}
}

// TestSameDeclarationCoversEveryField fails when a field is added to
// Dataset or Flow without teaching sameDataset or sameFlow: a change to it
// would not be written.
func TestSameDeclarationCoversEveryField(t *testing.T) {
	if n := reflect.TypeOf(Dataset{}).NumField(); n != 9 {
		t.Errorf("Dataset has %d fields; sameDataset compares 9", n)
	}
	if n := reflect.TypeOf(Flow{}).NumField(); n != 4 {
		t.Errorf("Flow has %d fields; sameFlow compares 4", n)
	}
}

func TestPlainNameMatchesColumnRE(t *testing.T) {
	for _, s := range []string{"", "a", "A_1", "_x", "1a", "a-b", "é", "a b", "ab9", "`a`"} {
		if plainName(s) != columnRE.MatchString(s) {
			t.Errorf("plainName(%q) = %v, columnRE says %v", s, plainName(s), columnRE.MatchString(s))
		}
	}
}

// hashByMarshal is the plain definition of Hash: json.Marshal of canonical.
func hashByMarshal(t *testing.T, p *Pipeline) string {
	t.Helper()
	c := canonical{Format: hashFormat, Name: p.Name, Configuration: p.Configuration}
	for _, d := range p.Datasets {
		c.Datasets = append(c.Datasets, normalizeDataset(d))
	}
	c.Flows = append(c.Flows, p.Flows...)
	if len(c.Configuration) == 0 {
		c.Configuration = nil
	}
	slices.SortFunc(c.Datasets, func(a, b Dataset) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(c.Flows, func(a, b Flow) int { return cmp.Compare(a.Name, b.Name) })
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestHashSplicedMatchesMarshal: the spliced, remembered encoding hashes
// exactly the bytes json.Marshal of the canonical form gives, with and
// without a memo, before and after changes.
func TestHashSplicedMatchesMarshal(t *testing.T) {
	p := storeDraft(t, 5)
	p.Configuration = map[string]string{"spark.sql.shuffle.partitions": "4", "a<b": "x&y"}
	if _, err := p.PutDataset(Dataset{Name: "rich", Kind: MaterializedView, Query: "SELECT 1 AS a, '<tag>' AS b",
		Comment: "c", PartitionBy: []string{"a"}, TableProperties: map[string]string{"k": "v"},
		Expectations: []Expectation{{Name: "e", Condition: "a > 0", OnViolation: Drop}}}); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		got, err := p.Hash()
		if err != nil {
			t.Fatal(err)
		}
		if want := hashByMarshal(t, p); got != want {
			t.Errorf("%s: Hash %s, json.Marshal gives %s", step, got, want)
		}
	}
	check("no memo")
	empty := &Pipeline{Name: "empty"}
	if got, _ := empty.Hash(); got != hashByMarshal(t, empty) {
		t.Error("empty pipeline hashes differently")
	}
	p.scans = newScanMemo(64)
	check("memo, first")
	check("memo, again")
	if _, err := p.PutDataset(Dataset{Name: "rich", Kind: MaterializedView, Query: "SELECT 2 AS a"}); err != nil {
		t.Fatal(err)
	}
	check("memo, after a change")
}
