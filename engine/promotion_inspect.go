package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Profile asks the engine's server what it runs: its Spark version, and the
// table format of the catalog datasets are written to (Iceberg when the
// catalog's implementation is Iceberg's, else the server's
// spark.sql.sources.default).
func (e *Engine) Profile(ctx context.Context) (Profile, error) {
	var prof Profile
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		v, err := c.SparkVersion(cctx)
		if err != nil {
			return err
		}
		prof.SparkVersion = v
		conf, err := c.GetConf(cctx, "spark.sql.sources.default")
		if err != nil {
			return err
		}
		prof.TableFormat = strings.ToLower(conf["spark.sql.sources.default"])
		// A catalog without a setting of its own is not an error: it is
		// the built-in one.
		if cat, err := c.GetConf(cctx, "spark.sql.catalog."+e.cfg.Catalog); err == nil {
			impl := strings.ToLower(cat["spark.sql.catalog."+e.cfg.Catalog])
			// Delta's catalog does not make a table Delta: definitions for
			// Delta state no USING (pipeline's formatClause), so the default
			// source decides, and that stays the answer.
			if strings.Contains(impl, "iceberg") {
				prof.TableFormat = "iceberg"
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return Profile{}, fmt.Errorf("ask the server for its Spark version and table format: %w", err)
	}
	return prof, nil
}

// InspectTables reads what the environment has for each materialized view
// and streaming table of p: a table's columns, the DefinitionProperty a
// run wrote on it, its format and its row count. Datasets without a table
// are absent from the result. Nothing is written.
func (e *Engine) InspectTables(ctx context.Context, p *pipeline.Pipeline) (map[string]TableState, error) {
	b := e.bind(p)
	out := map[string]TableState{}
	for _, d := range b.Datasets {
		if d.Kind == pipeline.TemporaryView {
			continue
		}
		ts, ok, err := e.inspectTable(ctx, d.Name)
		if err != nil {
			return nil, fmt.Errorf("inspect production table %s: %w", d.Name, err)
		}
		if ok {
			out[d.Name] = ts
		}
	}
	return out, nil
}

// inspectTable reads one dataset's table; ok is false when there is none.
func (e *Engine) inspectTable(ctx context.Context, name string) (ts TableState, ok bool, err error) {
	q := e.qualified(name)
	err = e.withSession(ctx, func(c *connect.Client) error {
		// This session may have read the table before a run rewrote it.
		if err := e.refresh(ctx, c, []string{q}); err != nil {
			return err
		}
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		desc, err := c.Collect(cctx, connect.SQL("DESCRIBE TABLE EXTENDED "+q), connect.ExecOptions{})
		switch {
		case connect.ErrorClassOf(err) == "TABLE_OR_VIEW_NOT_FOUND":
			return nil
		case err != nil:
			return err
		}
		ok = true
		for _, r := range desc.Rows {
			if len(r) < 2 {
				continue
			}
			k, _ := r[0].(string)
			v, _ := r[1].(string)
			if k == "Provider" {
				ts.Format = strings.ToLower(v)
			}
		}
		// The one reader of the definition a run stamped (prepareTables
		// reads it the same way).
		if ts.Definition, _, err = e.storedDefinition(ctx, c, name); err != nil {
			return err
		}
		if ts.Columns, err = c.Schema(cctx, connect.Table(q)); err != nil {
			return err
		}
		res, err := c.Collect(cctx, connect.SQL("SELECT count(*) FROM "+q), connect.ExecOptions{Tags: []string{"sdp-mcp-plan"}})
		if err != nil {
			// A table that cannot be counted still has a plan.
			e.log.Warn("count production rows", "table", q, "err", err)
			return nil
		}
		if len(res.Rows) == 1 && len(res.Rows[0]) == 1 {
			if n, isInt := res.Rows[0][0].(int64); isInt {
				ts.Rows = &n
			}
		}
		return nil
	})
	return ts, ok, err
}
