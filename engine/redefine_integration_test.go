//go:build integration

package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// TestRerunAndRedefineInTheEnvironmentsFormat runs a pipeline whose
// definitions state the sandbox's table format (as every pipeline the
// server writes does), runs it again over the existing tables, then
// replaces the materialized view's definition with one of another schema
// and runs again: the table must read back the new columns only. Spark
// re-applies a dataset's format to an existing table on each refresh, and
// a lakehouse catalog can refuse that or keep the old schema, so this is
// run on every profile.
func TestRerunAndRedefineInTheEnvironmentsFormat(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".nums (id INT, label STRING) USING parquet",
		"INSERT INTO "+e.src+".nums VALUES (1, 'a'), (2, 'b')")
	format := sparktest.Sandbox(t).Profile.Format
	build := func(mvQuery string) *pipeline.Pipeline {
		p := pipe(t, "redefine", []pipeline.Dataset{
			{Name: "mv", Kind: pipeline.MaterializedView, Query: mvQuery},
			{Name: "st", Kind: pipeline.StreamingTable, Query: "SELECT id FROM STREAM(spark_catalog." + e.src + ".nums)"},
		})
		p.TableFormat = format
		return p
	}

	e.run(build("SELECT id, label FROM spark_catalog."+e.src+".nums"), RunOptions{})
	e.checkRows("SELECT id, label FROM "+e.schema+".mv ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}})

	// Again over the existing tables: the streaming table appends only the new row.
	e.exec("INSERT INTO " + e.src + ".nums VALUES (3, 'c')")
	e.run(build("SELECT id, label FROM spark_catalog."+e.src+".nums"), RunOptions{})
	e.checkRows("SELECT id, label FROM "+e.schema+".mv ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}, {int32(3), "c"}})
	e.checkRows("SELECT id FROM "+e.schema+".st ORDER BY id", [][]any{{int32(1)}, {int32(2)}, {int32(3)}})

	// A new definition with another schema: the old column is gone.
	e.run(build("SELECT id * 10 AS tens FROM spark_catalog."+e.src+".nums"), RunOptions{})
	e.checkRows("SELECT * FROM "+e.schema+".mv ORDER BY tens", [][]any{{int32(10)}, {int32(20)}, {int32(30)}})
	for _, tbl := range []string{"mv", "st"} {
		if got := e.provider(tbl); got != format {
			t.Errorf("%s is a %s table, want %s", tbl, got, format)
		}
	}
	// Each table says which definition it holds, which a promotion plan
	// reads back.
	p := build("SELECT id * 10 AS tens FROM spark_catalog." + e.src + ".nums")
	tables, err := e.eng.InspectTables(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"mv", "st"} {
		want, err := DefinitionHash(p, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if got := tables[tbl]; got.Definition != want || got.Format != format {
			t.Errorf("%s: inspected %+v, want definition %s, format %s; DESCRIBE:\n%v", tbl, got, want, format,
				e.rows("DESCRIBE TABLE EXTENDED "+e.schema+"."+tbl))
		}
	}
}

// provider is the table format DESCRIBE TABLE EXTENDED reports for a table
// of the pipeline's schema.
func (e *env) provider(table string) string {
	e.t.Helper()
	for _, r := range e.rows("DESCRIBE TABLE EXTENDED " + e.schema + "." + table) {
		if fmt.Sprint(r[0]) == "Provider" {
			return fmt.Sprint(r[1])
		}
	}
	return ""
}
