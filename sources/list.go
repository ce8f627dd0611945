package sources

import (
	"context"
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Describe returns one table with its format, location, type and columns.
func Describe(ctx context.Context, ex Executor, n Name) (*Table, error) {
	cols, err := ex.Schema(ctx, connect.Table(n.quoted()))
	if err != nil {
		return nil, err
	}
	t := &Table{Name: n.String(), Columns: cols}
	res, err := ex.Collect(ctx, connect.SQL("DESCRIBE TABLE EXTENDED "+n.quoted()), connect.ExecOptions{})
	if err != nil {
		return nil, err
	}
	for _, r := range res.Rows {
		if len(r) < 2 {
			continue
		}
		k, _ := r[0].(string)
		v, _ := r[1].(string)
		switch k {
		case "Provider":
			t.Format = v
		case "Location":
			t.Location = v
		case "Type":
			t.Type = v
		case "Comment":
			t.Comment = v
		}
	}
	return t, nil
}

// List returns the tables the policy's globs let agents read, schema by
// schema; schemas that do not exist are skipped.
func List(ctx context.Context, ex Executor, globs []string) ([]Table, error) {
	out := []Table{}
	for _, s := range schemas(globs) {
		res, err := ex.Collect(ctx, connect.SQL("SHOW TABLES IN "+quote(s.Catalog)+"."+quote(s.Schema)), connect.ExecOptions{})
		if connect.ErrorClassOf(err) == "SCHEMA_NOT_FOUND" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list the tables of %s.%s: %w", s.Catalog, s.Schema, err)
		}
		nameAt, tempAt := -1, -1
		for i, c := range res.Columns {
			switch c.Name {
			case "tableName":
				nameAt = i
			case "isTemporary":
				tempAt = i
			}
		}
		for _, r := range res.Rows {
			if nameAt < 0 || tempAt >= 0 && r[tempAt] == true {
				continue
			}
			name, _ := r[nameAt].(string)
			n := Name{s.Catalog, s.Schema, strings.ToLower(name)}
			if !Allowed(n, globs) {
				continue
			}
			t, err := Describe(ctx, ex, n)
			if err != nil {
				return nil, fmt.Errorf("describe %s: %w", n, err)
			}
			out = append(out, *t)
		}
	}
	return out, nil
}

// Remove drops a table registered from files; the files stay. Managed
// tables (the samples, pipeline outputs) and views are refused.
func Remove(ctx context.Context, ex Executor, n Name) error {
	t, err := Describe(ctx, ex, n)
	if cls := connect.ErrorClassOf(err); cls == "TABLE_OR_VIEW_NOT_FOUND" || cls == "SCHEMA_NOT_FOUND" {
		return fmt.Errorf("no source %s: see sdp-mcp sources list", n)
	}
	if err != nil {
		return err
	}
	if !strings.EqualFold(t.Type, "EXTERNAL") {
		return fmt.Errorf("%s is a %s table, not one registered from files: sources remove only unregisters files (reload the samples with sdp-mcp sandbox samples --reset)", n, strings.ToLower(t.Type))
	}
	return exec(ctx, ex, "DROP TABLE "+n.quoted())
}
