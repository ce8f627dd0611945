package samples

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Executor runs Spark Connect plans (a *connect.Client).
type Executor interface {
	Collect(ctx context.Context, p connect.Plan, opts connect.ExecOptions) (*connect.Result, error)
}

// Options says where the samples go.
type Options struct {
	// Catalog and Schema default to spark_catalog and DefaultSchema.
	Catalog, Schema string
	// Reset drops the sample tables first, appended events included.
	Reset bool
}

func (o Options) qualified() string {
	cat, sch := o.Catalog, o.Schema
	if cat == "" {
		cat = "spark_catalog"
	}
	if sch == "" {
		sch = DefaultSchema
	}
	return quote(cat) + "." + quote(sch)
}

// Name returns the catalog.schema of the samples, unquoted.
func (o Options) Name() string { return strings.ReplaceAll(o.qualified(), "`", "") }

// TableReport is one sample table after a load or an append.
type TableReport struct {
	Table string `json:"table"`
	// Created is true when this load created the table, false when it
	// existed already and was left alone.
	Created  bool   `json:"created"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
	Comment  string `json:"comment"`
}

// Load creates the sample tables that do not exist yet and reports every
// table with its row count and checksum.
func Load(ctx context.Context, ex Executor, opts Options) ([]TableReport, error) {
	s := opts.qualified()
	if err := exec(ctx, ex, "CREATE SCHEMA IF NOT EXISTS "+s+
		" COMMENT 'sdp-mcp sample data: a small retail model, an events feed and a customer change feed'"); err != nil {
		return nil, err
	}
	if opts.Reset {
		for i := len(tables) - 1; i >= 0; i-- {
			if err := exec(ctx, ex, "DROP TABLE IF EXISTS "+s+"."+quote(tables[i].name)); err != nil {
				return nil, err
			}
		}
	}
	var out []TableReport
	for _, t := range tables {
		name := s + "." + quote(t.name)
		exists, err := tableExists(ctx, ex, s, t.name)
		if err != nil {
			return nil, err
		}
		if !exists {
			if err := exec(ctx, ex, "CREATE TABLE IF NOT EXISTS "+name+" COMMENT '"+escape(t.comment)+"' AS\n"+t.query(s)); err != nil {
				return nil, fmt.Errorf("create sample table %s: %w", t.name, err)
			}
		}
		rows, sum, err := checksum(ctx, ex, name)
		if err != nil {
			return nil, err
		}
		out = append(out, TableReport{Table: strings.ReplaceAll(name, "`", ""), Created: !exists, Rows: rows, Checksum: sum, Comment: t.comment})
	}
	return out, nil
}

// ErrNotLoaded reports an append before the samples were loaded.
var ErrNotLoaded = errors.New("the samples are not loaded: run `sdp-mcp sandbox samples` first")

// AppendEvents adds n events after the last one and reports the table.
func AppendEvents(ctx context.Context, ex Executor, opts Options, n int64) (*TableReport, error) {
	if n < 1 || n > 10_000_000 {
		return nil, fmt.Errorf("invalid number of events to append %d: want 1 to 10000000", n)
	}
	s := opts.qualified()
	exists, err := tableExists(ctx, ex, s, "events")
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, ErrNotLoaded
	}
	name := s + ".`events`"
	res, err := ex.Collect(ctx, connect.SQL("SELECT coalesce(max(event_id), 0) FROM "+name), connect.ExecOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the last event id: %w", err)
	}
	last, ok := res.Rows[0][0].(int64)
	if !ok {
		return nil, fmt.Errorf("read the last event id: got %T", res.Rows[0][0])
	}
	if err := exec(ctx, ex, "INSERT INTO "+name+"\n"+eventsQuery(last+1, last+n)); err != nil {
		return nil, fmt.Errorf("append events: %w", err)
	}
	rows, sum, err := checksum(ctx, ex, name)
	if err != nil {
		return nil, err
	}
	return &TableReport{Table: strings.ReplaceAll(name, "`", ""), Rows: rows, Checksum: sum, Comment: tables[4].comment}, nil
}

// Tables returns the names of the sample tables, in load order.
func Tables() []string {
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.name
	}
	return out
}

// checksum returns a table's row count and an order-independent checksum
// of its rows (the sum of their 64-bit hashes).
func checksum(ctx context.Context, ex Executor, name string) (int64, string, error) {
	res, err := ex.Collect(ctx, connect.SQL("SELECT count(*), CAST(coalesce(sum(CAST(xxhash64(*) AS DECIMAL(38,0))), 0) AS STRING) FROM "+name), connect.ExecOptions{})
	if err != nil {
		return 0, "", fmt.Errorf("checksum %s: %w", name, err)
	}
	n, _ := res.Rows[0][0].(int64)
	sum, _ := res.Rows[0][1].(string)
	return n, sum, nil
}

func tableExists(ctx context.Context, ex Executor, schema, table string) (bool, error) {
	res, err := ex.Collect(ctx, connect.SQL("SHOW TABLES IN "+schema+" LIKE '"+escape(table)+"'"), connect.ExecOptions{})
	if connect.ErrorClassOf(err) == "SCHEMA_NOT_FOUND" {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for sample table %s: %w", table, err)
	}
	return len(res.Rows) > 0, nil
}

func exec(ctx context.Context, ex Executor, stmt string) error {
	_, err := ex.Collect(ctx, connect.SQLCommand(stmt), connect.ExecOptions{})
	return err
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
