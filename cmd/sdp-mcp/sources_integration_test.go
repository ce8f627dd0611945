//go:build integration

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// TestSourcesCommands drives sources add, list and remove on the shared
// test sandbox, with good and bad input.
func TestSourcesCommands(t *testing.T) {
	ws := sparktest.Workspace(t)
	sparktest.Sandbox(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,city\n1,Paris\n2,Rome\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const name = "files.cli_it_cities"
	t.Cleanup(func() { runCLI(t, "--workspace", ws, "--log-level", "warn", "sources", "remove", name) })
	runCLI(t, "--workspace", ws, "--log-level", "warn", "sources", "remove", name)

	code, out, errOut := runCLI(t, "--workspace", ws, "--log-level", "warn", "sources", "add", name, filepath.Join(dir, "*.csv"), "--format", "csv", "--json")
	if code != 0 {
		t.Fatalf("sources add: exit %d\n%s", code, errOut)
	}
	var added struct {
		Name    string `json:"name"`
		Files   int    `json:"files"`
		Columns []struct{ Name, Type string }
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.Name != "spark_catalog."+name || added.Files != 1 ||
		len(added.Columns) != 2 || added.Columns[0].Type != "int" {
		t.Errorf("sources add output %s (%v)", out, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sources", "add", name, dir, "--format", "csv"}, "already exists"},
		{[]string{"sources", "add", "hr.salaries", dir, "--format", "csv"}, "the policy does not let agents read spark_catalog.hr.salaries"},
		{[]string{"sources", "add", "files.x", filepath.Join(dir, "missing.csv"), "--format", "csv"}, "matches no file"},
		{[]string{"sources", "add", "files.x", dir, "--format", "xlsx"}, "invalid --format"},
		{[]string{"sources", "add", "files.x", dir, "--format", "csv", "--option", "novalue"}, "want key=value"},
		{[]string{"sources", "remove", "samples_nope.orders"}, "no source"},
	} {
		code, _, errOut := runCLI(t, append([]string{"--workspace", ws, "--log-level", "warn"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	code, out, errOut = runCLI(t, "--workspace", ws, "--log-level", "warn", "sources", "list")
	if code != 0 || !strings.Contains(out, "spark_catalog."+name) || !strings.Contains(out, "files at") {
		t.Errorf("sources list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--workspace", ws, "--log-level", "warn", "sources", "remove", name)
	if code != 0 || !strings.Contains(out, "removed spark_catalog."+name) {
		t.Errorf("sources remove: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.csv")); err != nil {
		t.Errorf("the file is gone: %v", err)
	}
}
