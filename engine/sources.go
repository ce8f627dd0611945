package engine

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// ListSources lists the tables of the configured source schemas whose name
// matches pattern (a glob on the table name, case-insensitive: "*",
// "orders_*", "?ustomers"; empty means all), with their columns.
func (e *Engine) ListSources(ctx context.Context, pattern string) ([]Source, error) {
	if pattern == "" {
		pattern = "*"
	}
	pattern = strings.ToLower(pattern)
	if _, err := path.Match(pattern, ""); err != nil || strings.Contains(pattern, "/") {
		return nil, pipeline.Problems{{On: "source", Field: "pattern", Got: pattern,
			Message: "not a valid glob pattern",
			Fix:     "use * for any characters and ? for one, e.g. orders_*"}}
	}
	out := []Source{}
	for _, s := range e.sources {
		tables, err := e.showTables(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			if ok, _ := path.Match(pattern, strings.ToLower(t)); !ok || !s.allows(t) {
				continue
			}
			name := s.String() + "." + t
			cols, err := e.tableColumns(ctx, s, t)
			if err != nil {
				return nil, fmt.Errorf("describe source %s: %w", name, err)
			}
			out = append(out, Source{Name: name, Columns: cols})
		}
	}
	return out, nil
}

// showTables lists the tables and views of one source schema, sorted,
// without the session's temporary views; a schema that does not exist has
// none.
func (e *Engine) showTables(ctx context.Context, s sourceSchema) ([]string, error) {
	var res *connect.Result
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		res, err = c.Collect(cctx, connect.SQL("SHOW TABLES IN "+quoteIdent(s.catalog)+"."+quoteIdent(s.schema)), connect.ExecOptions{})
		return err
	})
	if connect.ErrorClassOf(err) == "SCHEMA_NOT_FOUND" {
		// Not created yet (e.g. the samples before they are loaded): no
		// tables, not an error.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the tables of source schema %s: %w", s, err)
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
	if nameAt < 0 {
		return nil, fmt.Errorf("list the tables of source schema %s: SHOW TABLES returned columns %v, without tableName", s, res.Columns)
	}
	var out []string
	for _, r := range res.Rows {
		if tempAt >= 0 && r[tempAt] == true {
			continue
		}
		if n, ok := r[nameAt].(string); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// tableColumns resolves the columns of one table without reading it.
func (e *Engine) tableColumns(ctx context.Context, s sourceSchema, table string) ([]connect.Column, error) {
	var cols []connect.Column
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		cols, err = c.Schema(cctx, connect.Table(quoteIdent(s.catalog)+"."+quoteIdent(s.schema)+"."+quoteIdent(table)))
		return err
	})
	return cols, err
}

// DescribeSource returns one source table with its columns and comment.
// name is table, schema.table or catalog.schema.table; it must lie in one
// of the configured source schemas.
func (e *Engine) DescribeSource(ctx context.Context, name string) (*Source, error) {
	candidates, err := e.resolveSource(name)
	if err != nil {
		return nil, err
	}
	var found []Source
	var foundIn []sourceSchema
	for _, c := range candidates {
		cols, err := e.tableColumns(ctx, c.schema, c.table)
		if connect.ErrorClassOf(err) == "TABLE_OR_VIEW_NOT_FOUND" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe source %s: %w", name, err)
		}
		found = append(found, Source{Name: c.schema.String() + "." + c.table, Columns: cols})
		foundIn = append(foundIn, c.schema)
	}
	switch len(found) {
	case 0:
		return nil, pipeline.Problems{{On: "source", Name: name, Got: name,
			Message: "no such table among the sources " + e.allowedList(),
			Fix:     "call list_sources to see the tables you may read"}}
	case 1:
	default:
		return nil, pipeline.Problems{{On: "source", Name: name, Got: name,
			Message: "several source schemas have a table of this name",
			Fix:     "qualify it as schema.table, e.g. " + foundIn[0].schema + "." + strings.ToLower(name)}}
	}
	src := found[0]
	comment, err := e.tableComment(ctx, foundIn[0], candidates[0].table)
	if err != nil {
		e.log.Warn("read source comment", "source", src.Name, "err", err)
	}
	src.Comment = comment
	return &src, nil
}

// sourceCandidate is one place a source name may refer to.
type sourceCandidate struct {
	schema sourceSchema
	table  string
}

// resolveSource lists where name may be, inside the configured schemas; a
// name that is malformed or outside them is a problem naming the allowed
// schemas.
func (e *Engine) resolveSource(name string) ([]sourceCandidate, error) {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(p, "`")
		if !plainIdentRE.MatchString(parts[i]) {
			return nil, pipeline.Problems{{On: "source", Name: name, Got: name,
				Message: "not a table name: give table, schema.table or catalog.schema.table with letters, digits and _",
				Fix:     "call list_sources for the exact names"}}
		}
	}
	if len(parts) > 3 {
		return nil, pipeline.Problems{{On: "source", Name: name, Got: name,
			Message: "too many name parts", Fix: "give table, schema.table or catalog.schema.table"}}
	}
	table := parts[len(parts)-1]
	var out []sourceCandidate
	for _, s := range e.sources {
		switch len(parts) {
		case 1:
		case 2:
			if !strings.EqualFold(parts[0], s.schema) {
				continue
			}
		case 3:
			if !strings.EqualFold(parts[0], s.catalog) || !strings.EqualFold(parts[1], s.schema) {
				continue
			}
		}
		if !s.allows(table) {
			continue
		}
		out = append(out, sourceCandidate{schema: s, table: table})
	}
	if len(out) == 0 {
		return nil, pipeline.Problems{{On: "source", Name: name, Got: name,
			Message: "outside the sources the agent may read: " + e.allowedList(),
			Fix:     "read sources from those schemas only; call list_sources to see their tables"}}
	}
	return out, nil
}

func (e *Engine) allowedList() string {
	if len(e.sources) == 0 {
		return "(none configured)"
	}
	var names []string
	for _, s := range e.sources {
		for _, t := range s.tables {
			names = append(names, s.String()+"."+t)
		}
	}
	return strings.Join(names, ", ")
}

// tableComment reads a table's comment from DESCRIBE TABLE EXTENDED, a
// statement the engine writes itself around a name it checked.
func (e *Engine) tableComment(ctx context.Context, s sourceSchema, table string) (string, error) {
	var res *connect.Result
	err := e.withSession(ctx, func(c *connect.Client) error {
		cctx, cancel := e.withCallTimeout(ctx)
		defer cancel()
		var err error
		res, err = c.Collect(cctx, connect.SQL("DESCRIBE TABLE EXTENDED "+quoteIdent(s.catalog)+"."+quoteIdent(s.schema)+"."+quoteIdent(table)), connect.ExecOptions{})
		return err
	})
	if err != nil {
		return "", err
	}
	for _, r := range res.Rows {
		if len(r) >= 2 && r[0] == "Comment" {
			if v, ok := r[1].(string); ok {
				return v, nil
			}
		}
	}
	return "", nil
}
