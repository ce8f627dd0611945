package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// prepareTables readies the existing tables of p for a run with opts, so
// that the run neither fails on a column change nor alters a table in a
// way its format refuses. p is the bound, stamped pipeline about to run
// and cols the columns its analysis gave each dataset. Only tables a run
// of this server wrote (they carry DefinitionProperty) are touched:
//
//   - A table the run rebuilds from scratch — a materialized view whose
//     declaration changed, a streaming table fully refreshed — is dropped
//     when its columns change, so the run creates it anew with the new
//     columns. Spark's pipeline runner would otherwise empty the table and
//     alter its columns in place, which Delta Lake refuses as soon as a
//     column goes away (DELTA_UNSUPPORTED_ALTER_TABLE_REPLACE_COL_OP) and
//     the Hive metastore for a column whose type changes
//     (docs/spark-findings.md). Only the table's history goes: its rows are
//     recomputed anyway. With the same columns (a changed filter, say) the
//     table and its history stay.
//   - A streaming table the run refreshes incrementally keeps its rows, so
//     its new declaration must keep every existing column with its type
//     (it may add others); a dropped or retyped column is a problem that
//     says to fully refresh it.
//
// It returns those problems; then it dropped nothing.
func (e *Engine) prepareTables(ctx context.Context, c *connect.Client, p *pipeline.Pipeline, opts RunOptions, cols map[string][]connect.Column) (pipeline.Problems, error) {
	var drop []string
	var ps pipeline.Problems
	for _, d := range p.Datasets {
		if (d.Kind != pipeline.MaterializedView && d.Kind != pipeline.StreamingTable) || !recomputes(opts, d.Name) || cols[d.Name] == nil {
			continue
		}
		full := fullyRefreshes(opts, d.Name)
		want := d.TableProperties[DefinitionProperty]
		have, exists, err := e.storedDefinition(ctx, c, d.Name)
		if err != nil {
			return nil, err
		}
		rebuild := rebuildsTable(d.Kind, have, want, true, full)
		// A streaming table refreshed incrementally under a new declaration
		// keeps its rows: its columns are checked. Anything else under the
		// same declaration is Spark's to refresh.
		incremental := d.Kind == pipeline.StreamingTable && !full && have != "" && have != want
		if !exists || (!rebuild && !incremental) {
			continue
		}
		q := e.qualified(d.Name)
		cctx, cancel := e.withCallTimeout(ctx)
		stored, err := c.Schema(cctx, connect.Table(q))
		cancel()
		if err != nil {
			return nil, err
		}
		switch {
		case slices.Equal(stored, cols[d.Name]):
			e.log.Info("kept the table of a redeclared dataset: its columns are unchanged", "table", q)
		case rebuild:
			drop = append(drop, q)
		default:
			if msg := keptColumns(stored, cols[d.Name]); msg != "" {
				ps = append(ps, pipeline.Problem{On: "dataset", Name: d.Name, Field: "query",
					Message: "streaming table " + d.Name + " keeps its rows on an incremental run, so its table's existing columns cannot change: " + msg,
					Fix:     "run it with full_refresh: [\"" + d.Name + "\"] (its table is emptied and its input read again from the start), or keep the existing columns with their types"})
			}
		}
	}
	if len(ps) > 0 {
		return ps, nil
	}
	for _, q := range drop {
		cctx, cancel := e.withCallTimeout(ctx)
		_, err := c.Collect(cctx, connect.SQLCommand("DROP TABLE IF EXISTS "+q), connect.ExecOptions{})
		cancel()
		if err != nil {
			return nil, err
		}
		e.log.Info("dropped the table of a redeclared dataset whose columns change; the run creates it anew", "table", q)
	}
	return nil, nil
}

// rebuildsTable reports whether a run recreates the existing table of a
// dataset of kind when its columns change (prepareTables): the table
// carries the definition stored by a run of this server, and this run
// rebuilds it from scratch — a refreshed materialized view whose
// declaration (want) changed, a fully refreshed streaming table. Any
// other existing table is changed in place. The promotion plan asks the
// same (BuildPlan).
func rebuildsTable(kind pipeline.Kind, stored, want string, refreshed, full bool) bool {
	if stored == "" || !refreshed {
		return false
	}
	switch kind {
	case pipeline.MaterializedView:
		return stored != want
	case pipeline.StreamingTable:
		return full
	}
	return false
}

// keptColumns describes the first column of before that after drops or
// retypes, matching names without regard to case as Spark does, or
// returns "" when after keeps every existing column with its type (and
// may add others). Nullability is not compared: a file-based table stores
// every column as nullable.
func keptColumns(before, after []connect.Column) string {
	for _, b := range before {
		i := slices.IndexFunc(after, func(a connect.Column) bool { return strings.EqualFold(a.Name, b.Name) })
		switch {
		case i < 0:
			return fmt.Sprintf("column %s %s would go away", b.Name, b.Type)
		case !strings.EqualFold(after[i].Type, b.Type):
			return fmt.Sprintf("column %s would change from %s to %s", b.Name, b.Type, after[i].Type)
		}
	}
	return ""
}

// recomputes reports whether a run with opts refreshes the named dataset.
func recomputes(o RunOptions, name string) bool {
	return len(o.Refresh)+len(o.FullRefresh) == 0 || o.FullRefreshAll ||
		slices.Contains(o.Refresh, name) || slices.Contains(o.FullRefresh, name)
}

// fullyRefreshes reports whether a run with opts empties the named
// dataset's table and recomputes it from all of its input.
func fullyRefreshes(o RunOptions, name string) bool {
	return o.FullRefreshAll || slices.Contains(o.FullRefresh, name)
}

var definitionRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// storedDefinition reads the DefinitionProperty of a dataset's table:
// exists is false when there is no table, the definition "" when the
// table has no such property.
func (e *Engine) storedDefinition(ctx context.Context, c *connect.Client, name string) (def string, exists bool, err error) {
	cctx, cancel := e.withCallTimeout(ctx)
	defer cancel()
	res, err := c.Collect(cctx, connect.SQL("SHOW TBLPROPERTIES "+e.qualified(name)+" ('"+DefinitionProperty+"')"), connect.ExecOptions{})
	switch {
	case connect.ErrorClassOf(err) == "TABLE_OR_VIEW_NOT_FOUND":
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	for _, r := range res.Rows {
		if len(r) == 2 && r[0] == DefinitionProperty {
			if v, _ := r[1].(string); definitionRE.MatchString(v) {
				return v, true, nil
			}
		}
	}
	return "", true, nil
}
