//go:build integration

package sources_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/sources"
)

// TestRegisterListRemove registers CSV, JSON and Parquet files in the real
// sandbox, lists them, refuses bad input with clear errors and removes
// them, leaving the files.
func TestRegisterListRemove(t *testing.T) {
	ctx := sparktest.Context(t, 5*time.Minute)
	c := sparktest.Client(t)
	const schema = "sources_it"
	globs := []string{"spark_catalog." + schema + ".*"}
	t.Cleanup(func() {
		_, _ = c.Collect(ctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+schema+" CASCADE"), connect.ExecOptions{})
	})
	_, _ = c.Collect(ctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+schema+" CASCADE"), connect.ExecOptions{})

	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("csv/a.csv", "id;city;amount\n1;Paris;2.5\n2;Rome;3\n")
	write("csv/b.csv", "id;city;amount\n3;Oslo;4\n")
	write("json/x.json", `{"id": 1, "tags": ["a", "b"]}`+"\n"+`{"id": 2, "tags": []}`+"\n")
	name := func(s string) sources.Name { return sources.Name{Catalog: "spark_catalog", Schema: schema, Table: s} }

	csv, err := sources.Register(ctx, c, sources.Spec{Name: name("shops"), Path: filepath.Join(dir, "csv", "*.csv"), Format: "csv",
		Options: map[string]string{"delimiter": ";"}}, globs)
	if err != nil {
		t.Fatal(err)
	}
	if csv.Files != 2 || csv.Format != "csv" || len(csv.Columns) != 3 || csv.Columns[0].Type != "int" || csv.Columns[2].Type != "double" {
		t.Errorf("csv source: %+v", csv)
	}
	js, err := sources.Register(ctx, c, sources.Spec{Name: name("tagged"), Path: filepath.Join(dir, "json"), Format: "json"}, globs)
	if err != nil {
		t.Fatal(err)
	}
	if len(js.Columns) != 2 || js.Columns[1].Type != "array<string>" {
		t.Errorf("json source columns: %+v", js.Columns)
	}
	// Parquet written by Spark itself, then registered from its directory.
	pq := filepath.Join(dir, "pq")
	if _, err := c.Collect(ctx, connect.SQLCommand("INSERT OVERWRITE DIRECTORY '"+pq+"' USING parquet SELECT id, id * 2 AS twice FROM range(5)"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sources.Register(ctx, c, sources.Spec{Name: name("numbers"), Path: pq, Format: "parquet"}, globs); err != nil {
		t.Fatal(err)
	}
	res, err := c.Collect(ctx, connect.SQL("SELECT sum(amount) FROM "+schema+".shops"), connect.ExecOptions{})
	if err != nil || res.Rows[0][0] != 9.5 {
		t.Errorf("sum over the registered csv: %v %v, want 9.5", res, err)
	}

	list, err := sources.List(ctx, c, globs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range list {
		names = append(names, tb.Name+":"+tb.Type)
	}
	if got := strings.Join(names, ","); got != "spark_catalog.sources_it.numbers:EXTERNAL,spark_catalog.sources_it.shops:EXTERNAL,spark_catalog.sources_it.tagged:EXTERNAL" {
		t.Errorf("list: %s", got)
	}

	for _, tc := range []struct {
		name string
		spec sources.Spec
		want string
	}{
		{"exists", sources.Spec{Name: name("shops"), Path: filepath.Join(dir, "csv"), Format: "csv"}, "already exists"},
		{"not allowed", sources.Spec{Name: sources.Name{Catalog: "spark_catalog", Schema: "hr", Table: "pay"}, Path: dir, Format: "csv"}, "the policy does not let agents read spark_catalog.hr.pay"},
		{"missing path", sources.Spec{Name: name("gone"), Path: filepath.Join(dir, "nope", "*.csv"), Format: "csv"}, "matches no file"},
		{"wrong format", sources.Spec{Name: name("bad"), Path: filepath.Join(dir, "csv", "a.csv"), Format: "parquet"}, "Spark could not read"},
		{"unknown format", sources.Spec{Name: name("bad"), Path: dir, Format: "xlsx"}, "invalid --format"},
		{"path option", sources.Spec{Name: name("bad"), Path: dir, Format: "csv", Options: map[string]string{"path": "/etc"}}, "not allowed"},
	} {
		_, err := sources.Register(ctx, c, tc.spec, globs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := sources.Describe(ctx, c, name("bad")); err == nil {
		t.Error("a failed registration left a table behind")
	}
	if _, err := sources.ParseName("a.b.c.d"); err == nil {
		t.Error("four-part name accepted")
	}

	// Remove: the table goes, the files stay; a managed table is refused.
	if err := sources.Remove(ctx, c, name("shops")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "csv", "a.csv")); err != nil {
		t.Errorf("remove touched the files: %v", err)
	}
	if err := sources.Remove(ctx, c, name("shops")); err == nil || !strings.Contains(err.Error(), "no source") {
		t.Errorf("second remove: %v", err)
	}
	if _, err := c.Collect(ctx, connect.SQLCommand("CREATE TABLE "+schema+".managed AS SELECT 1 AS x"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sources.Remove(ctx, c, name("managed")); err == nil || !strings.Contains(err.Error(), "managed table") {
		t.Errorf("remove of a managed table: %v", err)
	}
}
