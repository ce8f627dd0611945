package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Run it.\n\nMore.", "Run it."},
		{"Run a pipeline draft in the sandbox: create\nor refresh its tables.\n\nMore.", "Run a pipeline draft in the sandbox: create or refresh its tables."},
		{"Show e.g. things. Then more.", "Show e.g. things."},
		{"No full stop\n\nat all", "No full stop"},
		{"Show everything about one draft: " + strings.Repeat("its datasets, ", 10) + "and more.", "Show everything about one draft."},
	} {
		if got := oneLine(tc.in); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTableFromRegisteredTools(t *testing.T) {
	ts, err := registeredTools()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) < 11 {
		t.Fatalf("%d tools, want every registered tool", len(ts))
	}
	tab := table(ts)
	lines := strings.Split(strings.TrimSuffix(tab, "\n"), "\n")
	if len(lines) != len(ts)+2 {
		t.Fatalf("table has %d lines for %d tools:\n%s", len(lines), len(ts), tab)
	}
	for i, tool := range ts {
		row := lines[i+2]
		if !strings.HasPrefix(row, "| `"+tool.Name+"` |") || strings.Count(row, " | ") != 3 {
			t.Errorf("row %q", row)
		}
	}
	for _, want := range []string{"| `promote` | no | yes |", "| `preview` | yes | no |"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func TestSpliceAndCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "README.md")
	doc := "# x\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nafter\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(path, true); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("check on a stale file: %v", err)
	}
	if err := run(path, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(got), "# x\n\nintro\n\n"+beginMarker+"\n| tool |") ||
		!strings.HasSuffix(string(got), "|\n"+endMarker+"\n\nafter\n") || strings.Contains(string(got), "old table") {
		t.Fatalf("spliced file:\n%s", got)
	}
	if err := run(path, true); err != nil {
		t.Fatalf("check after writing: %v", err)
	}
	if err := run(path, false); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if string(again) != string(got) {
		t.Fatal("a second run changed the file")
	}

	if _, err := splice([]byte("no markers"), "t"); err == nil || !strings.Contains(err.Error(), "markers not found") {
		t.Errorf("missing markers: %v", err)
	}
	if _, err := splice([]byte(endMarker+beginMarker), "t"); err == nil {
		t.Error("reversed markers accepted")
	}
}
