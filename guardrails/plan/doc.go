// Package plan is the engine-side layer of the SQL guard: it reads the
// analyzed logical plan Spark returns for a query (the text of an extended
// explain, AnalyzePlan in explain mode EXTENDED) and checks what Spark
// actually resolved, after the static checks of package guardrails and
// before anything executes.
//
// # What it owns
//
// [Parse] reads the "== Analyzed Logical Plan ==" section into a tree of
// operators and lists the catalog relations it reads: tables (Relation,
// HiveTableRelation, RelationV2, StreamingRelation) and views (View), each
// with its qualified name, whether it is read directly or belongs to the
// definition of a view the query reads, and whether it is a streaming read.
// It fails closed: text it cannot read with certainty (a section missing or
// repeated, a line that is not an operator, a tree whose connectors do not
// add up, an unresolved operator) is an error, never a partial plan.
//
// [Check] applies the rules, each finding carrying a stable rule id:
//
//   - plan.source: a relation read directly is neither an allowed source
//     nor a dataset of the pipeline (views count as the view's name; what a
//     view's definition reads is not checked against the allow-list);
//   - plan.static_mismatch: a relation read directly that the static scan
//     of the same text did not report, and plan.view_mismatch: a relation
//     under a view that the view's own plan does not read — the text, the
//     plan and the catalog must agree;
//   - plan.script: a script transform (ScriptTransformation) anywhere;
//   - plan.leaf: a leaf operator outside the ones the pinned Spark is known
//     to produce for SQL queries; plan.path: a file relation without a
//     table name;
//   - plan.line_break: a string literal or quoted name holding a line break
//     (Spark prints them verbatim, so they could forge plan lines);
//   - plan.unreadable: the plan text could not be read (see [Unreadable]).
//
// The leaf operators and the shape of the text were taken from Spark 4.3,
// the version sdp-mcp pins; testdata holds plans captured from it.
//
// # What it cannot see
//
// Spark prints names, types and literal values verbatim. Line breaks from
// literals and quoted names are refused, but a name computed during
// analysis can still carry one (a PIVOT value such as concat('a', char(10),
// 'b') becomes a column name), so a crafted query could add lines to the
// text. Added lines cannot hide or rename a real operator (its name starts
// its own line), only add operators or re-attach the lines that follow
// them; the one check that depends on where an operator sits is the view
// exemption, and a relation re-attached under a view must still be one the
// view's own plan reads (plan.view_mismatch). A tree whose connectors do not
// add up is refused.
package plan
