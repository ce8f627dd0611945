package engine

import (
	"context"
	"regexp"
	"slices"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// dropRedefined drops the table of every materialized view this run
// recomputes whose definition changed since a run of this server last
// wrote it (its DefinitionProperty differs from p's), so the run creates
// it anew with the new definition's columns. p is the bound, stamped
// pipeline about to run; it returns the tables it dropped.
//
// A materialized view is recomputed in full on every run, so only the
// table's history goes. Spark 4.3's pipeline runner drops such a table
// itself; Spark 4.2's empties it and alters its columns in place to the new
// definition's, which Delta Lake refuses as soon as a column goes away
// (DELTA_UNSUPPORTED_ALTER_TABLE_REPLACE_COL_OP) and the metastore refuses
// for a changed column type. A table without the property (not written by
// this server) is left to Spark, as are streaming tables, whose rows are
// not recomputed.
func (e *Engine) dropRedefined(ctx context.Context, c *connect.Client, p *pipeline.Pipeline, opts RunOptions) ([]string, error) {
	var dropped []string
	for _, d := range p.Datasets {
		if d.Kind != pipeline.MaterializedView || !recomputes(opts, d.Name) {
			continue
		}
		want := d.TableProperties[DefinitionProperty]
		have, exists, err := e.storedDefinition(ctx, c, d.Name)
		if err != nil {
			return dropped, err
		}
		if !exists || have == "" || have == want {
			continue
		}
		q := e.qualified(d.Name)
		cctx, cancel := e.withCallTimeout(ctx)
		_, err = c.Collect(cctx, connect.SQLCommand("DROP TABLE IF EXISTS "+q), connect.ExecOptions{})
		cancel()
		if err != nil {
			return dropped, err
		}
		e.log.Info("dropped the table of a redefined materialized view; the run creates it anew", "table", q)
		dropped = append(dropped, q)
	}
	return dropped, nil
}

// recomputes reports whether a run with opts refreshes the named dataset.
func recomputes(o RunOptions, name string) bool {
	return len(o.Refresh)+len(o.FullRefresh) == 0 || o.FullRefreshAll ||
		slices.Contains(o.Refresh, name) || slices.Contains(o.FullRefresh, name)
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
