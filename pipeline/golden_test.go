package pipeline

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// checkGolden compares got with the golden file at path (relative to
// testdata/golden), or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	full := filepath.Join("testdata", "golden", filepath.FromSlash(path))
	if *update {
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(full)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./pipeline -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got), ignoreMemo); diff != "" {
		t.Errorf("%s mismatch (-want +got; go test ./pipeline -update rewrites it):\n%s", full, diff)
	}
}

// listFiles returns the slash-separated paths of the regular files under dir.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestGoldenProject saves each case and compares the project folder, the
// Mermaid graph, previews and violation counts with golden files, then loads
// the folder back and expects the identical model.
func TestGoldenProject(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pipeline(t)
			dir := t.TempDir()
			if err := p.Save(dir); err != nil {
				t.Fatalf("Save: %v", err)
			}
			written := listFiles(t, filepath.Join(dir))
			var project []string
			for _, rel := range written {
				if filepath.Dir(rel) == StateDir || filepath.Dir(filepath.Dir(rel)) == StateDir {
					continue
				}
				project = append(project, rel)
				data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, tc.name+"/project/"+rel, data)
			}
			if !*update {
				want := listFiles(t, filepath.Join("testdata", "golden", tc.name, "project"))
				if diff := cmp.Diff(want, project, ignoreMemo); diff != "" {
					t.Errorf("project files (-want +got):\n%s", diff)
				}
			}

			loaded, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(p, loaded, ignoreMemo); diff != "" {
				t.Errorf("Load(Save(p)) differs from p (-want +got):\n%s", diff)
			}

			g := BuildGraph(p)
			if ps := g.Problems(); len(ps) > 0 {
				t.Errorf("graph problems: %v", ps)
			}
			checkGolden(t, tc.name+"/graph.mmd", []byte(g.Mermaid()))
			for _, ds := range tc.preview {
				sql, err := PreviewSQL(p, ds, 10)
				if err != nil {
					t.Errorf("PreviewSQL(%s): %v", ds, err)
					continue
				}
				checkGolden(t, tc.name+"/preview/"+ds+".sql", []byte(sql+"\n"))
			}
			for _, ds := range tc.violations {
				sql, err := ViolationCountSQL(p, ds)
				if err != nil {
					t.Errorf("ViolationCountSQL(%s): %v", ds, err)
					continue
				}
				checkGolden(t, tc.name+"/violations/"+ds+".sql", []byte(sql+"\n"))
			}
		})
	}
}
