package connect

import (
	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// Plan is something the server can execute or analyze: a relation that
// returns rows or a command. Build one with SQL, Table, Range or Limit.
type Plan struct {
	rel *sparkpb.Relation
	cmd *sparkpb.Command
}

// SQL is a relation over the given query text. The server only parses it
// here; nothing runs until the plan is executed.
func SQL(query string) Plan {
	return Plan{rel: &sparkpb.Relation{RelType: &sparkpb.Relation_Sql{Sql: &sparkpb.SQL{Query: query}}}}
}

// Table reads a catalog table by its (possibly multi-part) name.
func Table(name string) Plan {
	return Plan{rel: &sparkpb.Relation{RelType: &sparkpb.Relation_Read{Read: &sparkpb.Read{
		ReadType: &sparkpb.Read_NamedTable_{NamedTable: &sparkpb.Read_NamedTable{UnparsedIdentifier: name}},
	}}}}
}

// Range produces a single bigint column "id" with the values [start, end).
func Range(start, end, step int64) Plan {
	return Plan{rel: &sparkpb.Relation{RelType: &sparkpb.Relation_Range{Range: &sparkpb.Range{
		Start: &start, End: end, Step: step,
	}}}}
}

// Limit keeps at most n rows of p. A command plan is returned unchanged: it
// has no rows to limit.
func Limit(p Plan, n int32) Plan {
	if p.rel == nil {
		return p
	}
	return Plan{rel: &sparkpb.Relation{RelType: &sparkpb.Relation_Limit{Limit: &sparkpb.Limit{Input: p.rel, Limit: n}}}}
}

// SQLCommand runs statement eagerly on the server, the way spark.sql does for
// DDL and DML. Use it only for statements the caller wrote itself.
func SQLCommand(statement string) Plan {
	return Plan{cmd: &sparkpb.Command{CommandType: &sparkpb.Command_SqlCommand{SqlCommand: &sparkpb.SqlCommand{
		Input: &sparkpb.Relation{RelType: &sparkpb.Relation_Sql{Sql: &sparkpb.SQL{Query: statement}}},
	}}}}
}

// IsZero reports whether p is the zero Plan, which cannot be sent.
func (p Plan) IsZero() bool { return p.rel == nil && p.cmd == nil }

func (p Plan) proto() *sparkpb.Plan {
	if p.cmd != nil {
		return &sparkpb.Plan{OpType: &sparkpb.Plan_Command{Command: p.cmd}}
	}
	return &sparkpb.Plan{OpType: &sparkpb.Plan_Root{Root: p.rel}}
}
