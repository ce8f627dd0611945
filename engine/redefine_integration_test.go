//go:build integration

package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
//
// Between the two, a new definition with the same columns (a changed
// filter) must keep its table, and on Delta the table's history.
func TestRerunAndRedefineInTheEnvironmentsFormat(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	var logs logBuffer
	e.eng = e.engine(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
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

	// A new definition with the same columns keeps the table.
	versions := e.deltaVersions("mv")
	e.run(build("SELECT id, label FROM spark_catalog."+e.src+".nums WHERE id > 1"), RunOptions{})
	e.checkRows("SELECT id, label FROM "+e.schema+".mv ORDER BY id", [][]any{{int32(2), "b"}, {int32(3), "c"}})
	if strings.Contains(logs.String(), "dropped the table") || !strings.Contains(logs.String(), "kept the table") {
		t.Errorf("a new filter with the same columns did not keep the table; engine log:\n%s", logs.String())
	}
	if after := e.deltaVersions("mv"); format == "delta" && after <= versions {
		t.Errorf("the Delta table's history went from %d versions to %d: the table was created anew", versions, after)
	}

	// A new definition with another schema: the old column is gone.
	e.run(build("SELECT id * 10 AS tens FROM spark_catalog."+e.src+".nums"), RunOptions{})
	if !strings.Contains(logs.String(), "dropped the table") {
		t.Errorf("a new schema did not drop the table first; engine log:\n%s", logs.String())
	}
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

// deltaVersions counts the versions in a Delta table's history; on other
// formats it is -1.
func (e *env) deltaVersions(table string) int {
	e.t.Helper()
	if sparktest.Sandbox(e.t).Profile.Format != "delta" {
		return -1
	}
	return len(e.rows("DESCRIBE HISTORY " + e.schema + "." + table))
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

// TestStreamingTableRedefined redefines a streaming table: a column added
// runs incrementally (new rows carry it, old rows read null); a column
// removed is refused on an incremental run and, as a full refresh, leaves
// only the new columns, in the environment's format.
func TestStreamingTableRedefined(t *testing.T) {
	e := newEnv(t, 10*time.Minute)
	e.exec("CREATE TABLE "+e.src+".nums (id INT, label STRING) USING parquet",
		"INSERT INTO "+e.src+".nums VALUES (1, 'a'), (2, 'b')")
	format := sparktest.Sandbox(t).Profile.Format
	build := func(q string) *pipeline.Pipeline {
		p := pipe(t, "st_redefine", []pipeline.Dataset{{Name: "st", Kind: pipeline.StreamingTable, Query: q}})
		p.TableFormat = format
		return p
	}
	src := "STREAM(spark_catalog." + e.src + ".nums)"
	e.run(build("SELECT id, label FROM "+src), RunOptions{})
	e.checkRows("SELECT id, label FROM "+e.schema+".st ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}})

	e.exec("INSERT INTO " + e.src + ".nums VALUES (3, 'c')")
	e.run(build("SELECT id, label, id * 2 AS twice FROM "+src), RunOptions{})
	e.checkRows("SELECT id, label, twice FROM "+e.schema+".st ORDER BY id",
		[][]any{{int32(1), "a", nil}, {int32(2), "b", nil}, {int32(3), "c", int32(6)}})

	// An incremental run cannot remove columns from the rows it keeps: the
	// run is refused before anything runs, with the fix, and the table
	// keeps its rows.
	_, err := e.eng.Run(e.ctx, build("SELECT id * 10 AS tens FROM "+src), RunOptions{}, nil)
	var ps pipeline.Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Name != "st" ||
		!strings.Contains(ps[0].Message, "column id int would go away") || !strings.Contains(ps[0].Fix, `full_refresh: ["st"]`) {
		t.Fatalf("incremental run that removes columns: %v, want one problem on st that says to fully refresh it", err)
	}
	e.checkRows("SELECT id FROM "+e.schema+".st ORDER BY id", [][]any{{int32(1)}, {int32(2)}, {int32(3)}})

	// A full refresh recreates the table with the new columns (Delta
	// refuses to remove columns from the table in place).
	e.run(build("SELECT id * 10 AS tens FROM "+src), RunOptions{FullRefresh: []string{"st"}})
	e.checkRows("SELECT * FROM "+e.schema+".st ORDER BY tens", [][]any{{int32(10)}, {int32(20)}, {int32(30)}})
	if got := e.provider("st"); got != format {
		t.Errorf("st is a %s table, want %s", got, format)
	}
}
