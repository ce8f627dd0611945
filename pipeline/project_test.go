package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRoundTripBodies saves and loads bodies that try to confuse the file
// format: wrapper-like lines, header-like lines, comments at the edges,
// line-ending variants and non-ASCII text.
func TestRoundTripBodies(t *testing.T) {
	bodies := []string{
		"SELECT 1 AS a",
		"\nSELECT 1 AS a\n",
		"SELECT 1 AS a -- trailing comment",
		"-- sdp-mcp:v1 {\"kind\":\"flow\"}\nSELECT 1 AS a",
		"SELECT * FROM (\nSELECT 1 AS a\n) AS `x`\nWHERE (a > 0) IS TRUE",
		"SELECT ')\n) AS `x`\n' AS a",
		"SELECT 'ünïcödé ✓' AS a\r\nFROM t\r\n",
		"SELECT a FROM t /* ) AS `x` */",
		"  SELECT\ta  ",
	}
	for i, body := range bodies {
		p := &Pipeline{Name: "p", Storage: "s3a://b/p"}
		mustPut(t, p,
			Dataset{Name: "mv", Kind: MaterializedView, Query: body, Comment: body,
				Expectations: []Expectation{{Name: "e", Condition: "a IS NOT NULL", OnViolation: Drop}}},
			Dataset{Name: "st", Kind: StreamingTable, Query: body},
			Dataset{Name: "sink", Kind: StreamingTable,
				Expectations: []Expectation{{Name: "f", Condition: "a > 0", OnViolation: Fail}}},
			Dataset{Name: "tv", Kind: TemporaryView, Query: body},
			Flow{Name: "fl", Target: "sink", Query: body, Comment: body},
		)
		dir := t.TempDir()
		if err := p.Save(dir); err != nil {
			t.Fatalf("body %d: Save: %v", i, err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("body %d: Load: %v", i, err)
		}
		if diff := cmp.Diff(p, got, ignoreMemo); diff != "" {
			t.Errorf("body %d %q: round trip (-want +got):\n%s", i, body, diff)
		}
	}
}

// rehash rewrites the hash in a generated file's header so that only the
// re-render check can notice an edit.
func rehash(t *testing.T, data string) string {
	t.Helper()
	line, rest, _ := strings.Cut(data, "\n")
	i := strings.Index(line, `"sha256":"`)
	if i < 0 {
		t.Fatalf("no hash in %q", line)
	}
	sum := sha256.Sum256([]byte(rest))
	return line[:i] + `"sha256":"` + hex.EncodeToString(sum[:]) + `"}` + "\n" + rest
}

func TestLoadReportsEdits(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want []where
	}{
		{"untouched", func(*testing.T, string) {}, nil},
		{"body edited", func(t *testing.T, dir string) {
			replaceIn(t, dir, "transformations/mv.sql", "FROM raw", "FROM other")
		}, []where{{"file", "transformations/mv.sql", "", ""}}},
		{"header edited, hash recomputed", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "transformations", "mv.sql")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			edited := strings.Replace(string(data), `"kind":"materialized_view"`, `"kind":"materialized_view","comment":"sneaky"`, 1)
			writeFile(t, path, rehash(t, edited))
		}, []where{{"file", "transformations/mv.sql", "", ""}}},
		{"statement edited, hash recomputed", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "transformations", "mv.sql")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, rehash(t, strings.Replace(string(data), "CREATE MATERIALIZED VIEW", "CREATE OR REPLACE MATERIALIZED VIEW", 1)))
		}, []where{{"file", "transformations/mv.sql", "", ""}}},
		{"header removed", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "transformations", "mv.sql")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, rest, _ := strings.Cut(string(data), "\n")
			writeFile(t, path, rest)
		}, []where{{"file", "transformations/mv.sql", "", ""}}},
		{"file renamed", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "transformations", "mv.sql"), filepath.Join(dir, "transformations", "mv2.sql")); err != nil {
				t.Fatal(err)
			}
		}, []where{{"file", "transformations/mv2.sql", "", "mv"}}},
		{"foreign files", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "transformations", "extra.sql"), "CREATE MATERIALIZED VIEW x AS SELECT 1")
			writeFile(t, filepath.Join(dir, "transformations", "notes.txt"), "hello")
			writeFile(t, filepath.Join(dir, "transformations", "sub", "y.sql"), "SELECT 1")
		}, []where{{"file", "transformations/extra.sql", "", ""}, {"file", "transformations/notes.txt", "", ""},
			{"file", "transformations/sub", "", ""}}},
		{"spec edited", func(t *testing.T, dir string) {
			replaceIn(t, dir, SpecFile, "name: p", "name: q")
		}, []where{{"file", SpecFile, "", ""}}},
		{"target edited: only the target is reported", func(t *testing.T, dir string) {
			replaceIn(t, dir, "transformations/sink.sql", "CREATE STREAMING TABLE", "CREATE OR REFRESH STREAMING TABLE")
		}, []where{{"file", "transformations/sink.sql", "", ""}}},
		{"flow target file removed", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "transformations", "sink.sql")); err != nil {
				t.Fatal(err)
			}
		}, []where{{"file", "transformations/fl.sql", "", "sink"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPut(t, &Pipeline{Name: "p", Storage: "s3a://b/p"},
				Dataset{Name: "raw", Kind: StreamingTable, Query: "SELECT * FROM STREAM(src)"},
				Dataset{Name: "mv", Kind: MaterializedView, Query: "SELECT * FROM raw"},
				Dataset{Name: "sink", Kind: StreamingTable},
				Flow{Name: "fl", Target: "sink", Query: "SELECT * FROM STREAM(raw)"},
			)
			dir := t.TempDir()
			if err := p.Save(dir); err != nil {
				t.Fatal(err)
			}
			tc.edit(t, dir)
			_, err := Load(dir)
			if diff := cmp.Diff(tc.want, wheresNoFix(t, err), ignoreMemo); diff != "" {
				t.Errorf("Load problems (-want +got):\n%s", diff)
			}
		})
	}
}

// wheresNoFix is wheres without requiring a fix (some file problems are
// informational about the file as a whole).
func wheresNoFix(t *testing.T, err error) []where {
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
		out[i] = where{p.On, p.Name, p.Field, p.Got}
	}
	return out
}

// TestLoadAfterCrashBetweenFiles simulates a crash after a target's file
// got new expectations but before its flow's file was rewritten: the flow
// still loads (its file is intact), and the next save brings it up to date.
func TestLoadAfterCrashBetweenFiles(t *testing.T) {
	dir := t.TempDir()
	body := "SELECT 'x\n) AS `fl`\nWHERE y' AS a FROM STREAM(src) -- looks like the wrapper"
	p := mustPut(t, &Pipeline{Name: "p", Storage: "s3a://b/p"},
		Dataset{Name: "sink", Kind: StreamingTable},
		Flow{Name: "fl", Target: "sink", Query: body},
	)
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	oldFlow, err := os.ReadFile(filepath.Join(dir, "transformations", "fl.sql"))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, p, Dataset{Name: "sink", Kind: StreamingTable,
		Expectations: []Expectation{{Name: "pos", Condition: "a > 0", OnViolation: Drop}}})
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "transformations", "fl.sql"), string(oldFlow)) // the crash
	got, err := Load(dir)
	if err != nil {
		t.Fatalf("Load after the crash: %v", err)
	}
	if diff := cmp.Diff(p, got, ignoreMemo); diff != "" {
		t.Errorf("Load after the crash (-want +got):\n%s", diff)
	}
	if err := got.Save(dir); err != nil {
		t.Fatal(err)
	}
	fixed, err := os.ReadFile(filepath.Join(dir, "transformations", "fl.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fixed), "WHERE (a > 0) IS TRUE") {
		t.Errorf("the next save did not rewrite the flow with its target's filter:\n%s", fixed)
	}
}

func TestSaveReplacesAndRemoves(t *testing.T) {
	dir := t.TempDir()
	p := mustPut(t, &Pipeline{Name: "p", Storage: "s3a://b/p"},
		Dataset{Name: "keep", Kind: MaterializedView, Query: "SELECT 1 AS a"},
		Dataset{Name: "change", Kind: MaterializedView, Query: "SELECT 2 AS a"},
		Dataset{Name: "drop_me", Kind: MaterializedView, Query: "SELECT 3 AS a"},
	)
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	keepPath := filepath.Join(dir, "transformations", "keep.sql")
	before, err := os.Stat(keepPath)
	if err != nil {
		t.Fatal(err)
	}
	// A file a crashed save left behind in the staging folder.
	writeFile(t, filepath.Join(dir, StateDir, "tmp", "change.sql.123.tmp"), "half")

	if err := p.RemoveDataset("drop_me"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, p, Dataset{Name: "change", Kind: MaterializedView, Query: "SELECT 22 AS a"},
		Dataset{Name: "added", Kind: TemporaryView, Query: "SELECT 4 AS a"})
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	want := []string{StateDir + "/tmp", SpecFile, "transformations/added.sql", "transformations/change.sql", "transformations/keep.sql"}
	if diff := cmp.Diff(want, listEntries(t, dir), ignoreMemo); diff != "" {
		t.Errorf("files after the second save (-want +got):\n%s", diff)
	}
	after, err := os.Stat(keepPath)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("an unchanged file was rewritten")
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got, ignoreMemo); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestSaveRefuses(t *testing.T) {
	t.Run("foreign file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "transformations", "mine.py"), "print(1)")
		p := mustPut(t, &Pipeline{Name: "p", Storage: "s3a://b/p"},
			Dataset{Name: "a", Kind: MaterializedView, Query: "SELECT 1"})
		err := p.Save(dir)
		if diff := cmp.Diff([]where{{"file", "transformations/mine.py", "", ""}}, wheres(t, err), ignoreMemo); diff != "" {
			t.Errorf("Save problems (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"transformations/mine.py"}, listEntries(t, dir), ignoreMemo); diff != "" {
			t.Errorf("Save wrote files despite refusing (-want +got):\n%s", diff)
		}
	})
	t.Run("invalid pipeline", func(t *testing.T) {
		dir := t.TempDir()
		p := &Pipeline{Name: "p"}
		if err := p.Save(dir); len(wheres(t, err)) == 0 {
			t.Errorf("Save of a pipeline without storage = %v, want problems", err)
		}
		if entries := listEntries(t, dir); len(entries) != 0 {
			t.Errorf("Save wrote %v despite refusing", entries)
		}
	})
}

func TestLoadMissingFolder(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestFilesAreTheSavedFolder(t *testing.T) {
	p := everyFeaturePipeline(t)
	files, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(f.Content) {
			t.Errorf("%s: Files and Save disagree", f.Path)
		}
	}
	if files[0].Path != SpecFile {
		t.Errorf("first file is %s, want %s", files[0].Path, SpecFile)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replaceIn(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	writeFile(t, path, strings.Replace(string(data), old, new, 1))
}

// listEntries lists regular files and empty folders under dir.
func listEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				out = append(out, filepath.ToSlash(rel))
			}
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSpecRoundTripsOddValues(t *testing.T) {
	p := mustPut(t, &Pipeline{Name: "p", Catalog: "main", Database: "my-db",
		Storage: "s3a://bucket/with space/#hash?x=1",
		Configuration: map[string]string{
			"bool.like": "yes", "int.like": "1", "colon": "a: b", "hash": "#x", "empty": "",
			"quote": `it's "quoted"`, "unicode": "ünï", "null.like": "null", "spaces": "  padded  ",
		}},
		Dataset{Name: "a", Kind: MaterializedView, Query: "SELECT 1"})
	dir := t.TempDir()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got, ignoreMemo); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
