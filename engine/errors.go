package engine

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// failure is a Spark error reduced to what the agent needs: where a message
// parameter is missing (flow failures in run events carry only text), it is
// read back from the message.
type failure struct {
	Class    string
	Message  string // the whole server message
	Params   map[string]string
	Fragment string // the offending query fragment, when the server located it
}

// failureOf extracts the Spark error in err's chain.
func failureOf(err error) (failure, bool) {
	var se *connect.SparkError
	if !errors.As(err, &se) {
		return failure{}, false
	}
	f := failure{Class: se.ErrorClass, Message: se.Message, Params: se.MessageParameters}
	for _, qc := range se.QueryContexts {
		if qc.Fragment != "" {
			f.Fragment = qc.Fragment
			break
		}
	}
	f.fillParams()
	return f, true
}

// failureOfFlow reads a flow failure reported by a run event.
func failureOfFlow(ff connect.FlowFailure) failure {
	f := failure{Class: ff.ErrorClass, Message: ff.Message}
	f.fillParams()
	return f
}

var (
	objectNameRE   = regexp.MustCompile("with name (`[^`]+`(?:\\.`[^`]+`)*) cannot be resolved")
	proposalRE     = regexp.MustCompile(`Did you mean one of the following\? \[([^\]]*)\]`)
	relationNameRE = regexp.MustCompile("The table or view (`[^ ]+`) cannot be found")
	routineNameRE  = regexp.MustCompile("Cannot resolve routine (`[^ ]+`)")
	classPrefixRE  = regexp.MustCompile(`^\[[A-Z][A-Z0-9_.]*\]\s*`)
)

// fillParams recovers the parameters the hints use from the message text.
func (f *failure) fillParams() {
	get := func(key string, re *regexp.Regexp) {
		if f.Params[key] != "" {
			return
		}
		if m := re.FindStringSubmatch(f.Message); m != nil {
			if f.Params == nil {
				f.Params = map[string]string{}
			}
			f.Params[key] = m[1]
		}
	}
	get("objectName", objectNameRE)
	get("proposal", proposalRE)
	get("relationName", relationNameRE)
	get("routineName", routineNameRE)
}

// brief is the message without the plan or stack Spark appends to it, on
// one line, starting with the error class.
func (f failure) brief() string {
	msg := strings.TrimSpace(f.Message)
	if i := strings.Index(msg, " SQLSTATE: "); i >= 0 {
		msg = msg[:i]
	}
	for _, marker := range []string{"\n'", "\n+-", "\n== ", "\n=== ", "\n\tat "} {
		if i := strings.Index(msg, marker); i >= 0 {
			msg = msg[:i]
		}
	}
	// Advice about DROP statements does not apply to pipelines.
	if i := strings.Index(msg, "To tolerate the error on drop"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.Join(strings.Fields(msg), " ")
	msg = strings.TrimSuffix(msg, ";")
	if f.Class != "" && !strings.HasPrefix(msg, "["+f.Class+"]") {
		msg = "[" + f.Class + "] " + classPrefixRE.ReplaceAllString(msg, "")
	}
	return clip(msg, 1200)
}

// got is the offending value to show in a problem.
func (f failure) got() string {
	switch {
	case f.Params["objectName"] != "":
		return f.Params["objectName"]
	case f.Params["relationName"] != "":
		return f.Params["relationName"]
	case f.Params["routineName"] != "":
		return f.Params["routineName"]
	}
	return f.Fragment
}

// hintEnv is what hints may mention besides the error itself.
type hintEnv struct {
	// sources are the allowed source schemas, for "table not found".
	sources []sourceSchema
	// columns are the columns the failing text may use, when known (for
	// an expectation condition: the dataset's columns).
	columns []string
}

// hint says how to fix the failure, from its error class.
func (f failure) hint(env hintEnv) string {
	class := f.Class
	top, _, _ := strings.Cut(class, ".")
	switch {
	case top == "UNRESOLVED_COLUMN" || top == "UNRESOLVED_FIELD" || top == "UNRESOLVED_MAP_KEY":
		name := f.Params["objectName"]
		if name == "" {
			name = "the column"
		}
		switch {
		case len(env.columns) > 0:
			return name + " does not exist here: use one of the columns " + strings.Join(env.columns, ", ")
		case strings.TrimSpace(f.Params["proposal"]) != "":
			return name + " does not exist here: use one of the suggested columns " + f.Params["proposal"] +
				" (call describe_source or preview to see every column)"
		}
		return name + " does not exist here: call describe_source or preview to see the available columns"
	case class == "TABLE_OR_VIEW_NOT_FOUND":
		name := f.Params["relationName"]
		if name == "" {
			name = "the relation"
		}
		return name + " is neither a declared dataset nor a readable source: call list_sources to see the tables you may read" +
			allowedIn(env.sources) + ", or declare the dataset with declare_table"
	case top == "UNRESOLVED_ROUTINE":
		return "the function " + orIt(f.Params["routineName"]) + " does not exist: use a built-in Spark SQL function"
	case top == "PARSE_SYNTAX_ERROR" || top == "PARSE_EMPTY_STATEMENT":
		return "fix the SQL syntax at the place the message names; send one query body (SELECT ... or WITH ... SELECT ...)"
	case top == "MISSING_AGGREGATION" || top == "MISSING_GROUP_BY":
		return "add the column to GROUP BY, or wrap it in an aggregate such as any_value(...)"
	case top == "AMBIGUOUS_REFERENCE" || top == "AMBIGUOUS_COLUMN_OR_FIELD" || top == "AMBIGUOUS_COLUMN_REFERENCE":
		return "qualify the column with its table alias, e.g. o.id"
	case top == "DATATYPE_MISMATCH" || top == "INCOMPATIBLE_COLUMN_TYPE" || top == "INVALID_BOOLEAN_STATEMENT":
		return "make the types fit, e.g. with CAST(x AS type), and make conditions boolean"
	case top == "NUM_COLUMNS_MISMATCH":
		return "make every query that feeds this dataset produce the same columns"
	case top == "CAST_INVALID_INPUT" || top == "CAST_OVERFLOW":
		return "the data holds values that do not convert: use try_cast(...) to turn them into NULL, or filter them out"
	case top == "DIVIDE_BY_ZERO":
		return "guard the divisor, e.g. try_divide(a, b) or NULLIF(b, 0)"
	case top == "USER_SPECIFIED_AND_INFERRED_SCHEMA_NOT_COMPATIBLE":
		return "make schema list exactly the query's columns with the query's types (cast in the query), or remove schema to infer it"
	case class == "INVALID_FLOW_QUERY_TYPE.BATCH_RELATION_FOR_STREAMING_TABLE":
		return "a streaming table and its flows read their sources incrementally: read them with STREAM(name), or declare a materialized_view instead"
	case class == "INVALID_FLOW_QUERY_TYPE.STREAMING_RELATION_FOR_MATERIALIZED_VIEW":
		return "a materialized view reads its inputs in full: remove STREAM(...), or declare a streaming_table instead"
	case top == "RUN_EMPTY_PIPELINE":
		return "declare at least one materialized_view or streaming_table: temporary views alone are not stored"
	case top == "USER_RAISED_EXCEPTION":
		if expectationRE.MatchString(f.Message) {
			return "rows violate a fail expectation: fix the data upstream, correct the condition, or use on_violation drop (remove the rows) or warn (keep and count them)"
		}
		return "the query raised this error on purpose: change the query or its data"
	case strings.Contains(f.Message, "Max iterations (") && strings.Contains(f.Message, analyzerIterationsKey):
		return "this query nests too deeply for Spark's analyzer (it stopped at its iteration bound, " + analyzerIterationsKey +
			"): split it into several datasets that read one another, or use fewer nested WITH queries and subqueries"
	case strings.Contains(f.Message, "StackOverflowError"):
		return "the plan of this query is too deep for the server (a stack overflow while planning it): split it into several datasets that read one another, or use fewer nested queries, unions or CASE branches"
	case class == "STREAM_FAILED" && (strings.Contains(f.Message, "Race while writing batch") ||
		strings.Contains(f.Message, "Multiple streaming queries are concurrently using")):
		return "several flows append to one file-based streaming table and collided; Spark retries them, but rows can be lost: prefer one flow per streaming table (UNION ALL the queries in one flow)"
	}
	return "change the declaration as the message says"
}

func orIt(s string) string {
	if s == "" {
		return "used"
	}
	return s
}

func allowedIn(sources []sourceSchema) string {
	if len(sources) == 0 {
		return ""
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.String()
	}
	return " (sources live in " + strings.Join(names, ", ") + ")"
}

// problem turns a failure into a problem about one element.
func (f failure) problem(on, name, field string, env hintEnv) pipeline.Problem {
	return pipeline.Problem{On: on, Name: name, Field: field, Got: f.got(), Message: f.brief(), Fix: f.hint(env)}
}

// agentFixable reports whether err is a Spark error about what was sent —
// a query, a condition, the data it reads — rather than about the server or
// the connection. Such errors go back to the agent as problems; all others
// are infrastructure errors.
func agentFixable(err error) bool {
	if err == nil || errors.Is(err, connect.ErrServerRestarted) || errors.Is(err, connect.ErrResultTooLarge) {
		return false
	}
	if analyzerLimit(err) {
		return true
	}
	var se *connect.SparkError
	if !errors.As(err, &se) || se.Code != codes.Internal {
		return false
	}
	if len(se.SQLState) >= 2 {
		switch se.SQLState[:2] {
		case "42", // syntax error or access rule violation (unresolved names, types)
			"22", // data exception (casts, division by zero)
			"21", // cardinality violation
			"23", // integrity constraint violation
			"0A", // feature not supported
			"P0": // raised by the query (RAISE_ERROR, fail expectations)
			return true
		}
		return false
	}
	if se.ErrorClass != "" {
		return false
	}
	for _, c := range append([]string{se.ExceptionClass}, se.Classes...) {
		if strings.HasSuffix(c, ".AnalysisException") || strings.HasSuffix(c, ".ParseException") ||
			strings.HasSuffix(c, "ExtendedAnalysisException") {
			return true
		}
	}
	return false
}

// analyzerLimit reports whether err is Spark saying that a query goes
// beyond a bound of its analyzer — its iteration limit, the stack of the
// thread planning it — rather than that the server failed: the query is
// what must change, so it is a problem on the element that sent it.
func analyzerLimit(err error) bool {
	var se *connect.SparkError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unauthenticated, codes.PermissionDenied:
		return false
	}
	if strings.Contains(se.Message, "Max iterations (") && strings.Contains(se.Message, analyzerIterationsKey) {
		return true
	}
	for _, c := range append([]string{se.ExceptionClass}, se.Classes...) {
		if c == "java.lang.StackOverflowError" {
			return true
		}
	}
	return strings.HasPrefix(se.Message, "java.lang.StackOverflowError")
}

// nameOf returns the single-part name at the end of a (possibly quoted)
// multi-part identifier as Spark prints it, e.g. `cat`.`db`.`orders` or
// cat.db.orders.
func nameOf(ident string) string {
	ident = strings.TrimSpace(ident)
	if i := strings.LastIndex(ident, "."); i >= 0 {
		ident = ident[i+1:]
	}
	return strings.ToLower(strings.Trim(ident, "`'"))
}

// elementNamed finds which element of names an error is about: first from
// the message parameters that carry an identifier, then from a name
// qualified with the pipeline's catalog and database in the message text.
func elementNamed(f failure, catalog, database string, names map[string]bool) string {
	for _, key := range []string{"flowIdentifier", "flowName", "tableIdentifier", "tableName", "datasetIdentifier", "viewName", "identifier"} {
		if v := f.Params[key]; v != "" && names[nameOf(v)] {
			return nameOf(v)
		}
	}
	q := regexp.QuoteMeta
	re := regexp.MustCompile("(?i)`?" + q(catalog) + "`?\\.`?" + q(database) + "`?\\.`?([a-z][a-z0-9_]*)`?")
	for _, m := range re.FindAllStringSubmatch(f.Message, -1) {
		if n := strings.ToLower(m[1]); names[n] {
			return n
		}
	}
	return ""
}

// clip shortens s to about n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
