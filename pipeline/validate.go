package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// namePattern is the rule for every name an agent gives: pipeline, dataset,
// flow and expectation names. Lower case keeps Spark's case-insensitive
// resolution and file names on case-insensitive file systems unambiguous.
const namePattern = `^[a-z][a-z0-9_]{0,62}$`

// Limits on declaration fields; generous, but they keep files and messages sane.
const (
	maxColumnName   = 128
	maxPropertyKey  = 256
	maxTextField    = 4096 // comment, property value, schema, condition
	maxQueryBytes   = 1 << 20
	maxExpectations = 100
)

var (
	nameRE     = regexp.MustCompile(namePattern)
	columnRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	propertyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*$`)
)

// reservedProperties are table properties Spark reserves for its own
// clauses; TBLPROPERTIES rejects them.
func reservedProperties() map[string]string {
	return map[string]string{
		"comment":             "use the comment field",
		"location":            "pipelines manage their own storage; remove it",
		"provider":            "the engine chooses the table format; remove it",
		"owner":               "ownership comes from the environment; remove it",
		"external":            "pipeline tables are managed; remove it",
		"is_managed_location": "pipeline tables are managed; remove it",
	}
}

func validName(s string) bool { return nameRE.MatchString(s) }

func nameProblem(on, name, field, got string) Problem {
	return Problem{On: on, Name: name, Field: field, Got: got,
		Message: "not a valid name: it must match " + namePattern,
		Fix:     "use lower-case letters, digits and _, starting with a letter, at most 63 characters, e.g. " + SuggestName(got)}
}

// SuggestName turns s into something matching the name pattern, for hints.
func SuggestName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '.':
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "x_" + out
	}
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// Validate checks the whole pipeline without looking into query bodies
// beyond their lexical safety: every declaration on its own, unique names,
// flow targets. It returns [Problems] listing everything found.
// Dependency checks (cycles, missing upstreams) are in [Graph.Problems].
func (p *Pipeline) Validate() error { return p.validate(nil) }

// validate is [Pipeline.Validate]; with changed, the declarations checked on
// their own are only those named in it (and flows into them): the others
// were checked when they were declared. Names are always checked for clashes.
func (p *Pipeline) validate(changed map[string]bool) error {
	var ps Problems
	if !validName(p.Name) {
		ps = append(ps, nameProblem("pipeline", p.Name, "name", p.Name))
	}
	if strings.TrimSpace(p.Storage) == "" {
		ps = append(ps, Problem{On: "pipeline", Name: p.Name, Field: "storage",
			Message: "storage is required (SDP keeps checkpoints and metadata there)",
			Fix:     "set the storage URI in the server's environment config"})
	} else if bad := badText(p.Storage, false); bad != "" {
		ps = append(ps, Problem{On: "pipeline", Name: p.Name, Field: "storage", Got: p.Storage,
			Message: bad, Fix: "set a plain URI in the server's environment config"})
	}
	for _, e := range [][2]string{{"catalog", p.Catalog}, {"database", p.Database}} {
		field, v := e[0], e[1]
		if v != "" && (strings.ContainsAny(v, "`.") || badText(v, false) != "" || len(v) > maxColumnName) {
			ps = append(ps, Problem{On: "pipeline", Name: p.Name, Field: field, Got: v,
				Message: "not a usable " + field + " name (no dots, backquotes or control characters, at most 128 bytes)",
				Fix:     "fix the " + field + " in the server's environment config"})
		}
	}
	for _, k := range sortedKeys(p.Configuration) {
		if strings.TrimSpace(k) == "" || badText(k, false) != "" || badText(p.Configuration[k], false) != "" {
			ps = append(ps, Problem{On: "pipeline", Name: p.Name, Field: "configuration", Got: k,
				Message: "configuration keys must be non-empty and keys and values free of control characters",
				Fix:     "fix the entry in the server's environment config"})
		}
	}
	seen := map[string]string{}
	for _, d := range p.Datasets {
		if changed == nil || changed[d.Name] {
			ps = append(ps, validateDataset(d)...)
		}
		if prev, dup := seen[d.Name]; dup && validName(d.Name) {
			ps = append(ps, dupProblem("dataset", d.Name, prev))
		}
		seen[d.Name] = "dataset"
	}
	for _, f := range p.Flows {
		if changed != nil && !changed[f.Name] && !changed[f.Target] {
			if prev, dup := seen[f.Name]; dup && validName(f.Name) {
				ps = append(ps, dupProblem("flow", f.Name, prev))
			}
			seen[f.Name] = "flow"
			continue
		}
		ps = append(ps, validateFlow(f)...)
		if prev, dup := seen[f.Name]; dup && validName(f.Name) {
			ps = append(ps, dupProblem("flow", f.Name, prev))
		}
		seen[f.Name] = "flow"
		ps = append(ps, p.checkTarget(f)...)
	}
	return ps.Err()
}

func dupProblem(on, name, prev string) Problem {
	return Problem{On: on, Name: name, Field: "name", Got: name,
		Message: "the name is already used by a " + prev + "; datasets and flows share one name space",
		Fix:     "rename one of them"}
}

// validateDataset checks one dataset declaration on its own.
func validateDataset(d Dataset) Problems {
	var ps Problems
	add := func(field, got, msg, fix string) {
		ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: field, Got: got, Message: msg, Fix: fix})
	}
	if !validName(d.Name) {
		ps = append(ps, nameProblem("dataset", d.Name, "name", d.Name))
	}
	if !slices.Contains(Kinds(), d.Kind) {
		add("kind", string(d.Kind), "unknown dataset kind", "use one of "+joinKinds())
	}
	switch {
	case d.Query == "" && d.Kind == StreamingTable:
		// A streaming table without a query is a target for flows.
	case strings.TrimSpace(d.Query) == "":
		fix := "give the query body, e.g. SELECT * FROM source_table"
		if d.Kind == TemporaryView || d.Kind == MaterializedView {
			fix = "give the query body (only a streaming_table may omit it, to be fed by flows)"
		}
		add("query", d.Query, "the query is empty", fix)
	default:
		ps = append(ps, checkQuery("dataset", d.Name, d.Query)...)
	}
	ps = append(ps, checkComment("dataset", d.Name, d.Comment)...)
	if d.Kind == TemporaryView {
		for _, f := range []struct {
			field string
			set   bool
		}{
			{"partition_by", len(d.PartitionBy) > 0},
			{"cluster_by", len(d.ClusterBy) > 0},
			{"table_properties", len(d.TableProperties) > 0},
			{"schema", d.Schema != ""},
		} {
			if f.set {
				add(f.field, "", "a temporary_view is not stored, so it has no "+f.field,
					"remove "+f.field+", or declare kind materialized_view to store the result")
			}
		}
	} else {
		ps = append(ps, checkColumns(d.Name, "partition_by", d.PartitionBy)...)
		ps = append(ps, checkColumns(d.Name, "cluster_by", d.ClusterBy)...)
		if d.Kind == MaterializedView && len(d.ClusterBy) > 0 {
			// Spark 4.3.0 accepts CLUSTER BY on a materialized view in a
			// dry-run, then fails the real run with
			// SPECIFY_CLUSTER_BY_WITH_PARTITIONED_BY_IS_NOT_ALLOWED.
			add("cluster_by", strings.Join(d.ClusterBy, ","), "open-source Spark cannot cluster a materialized view (the run fails even though a dry-run passes)",
				"use partition_by instead, or declare kind streaming_table")
		} else if len(d.PartitionBy) > 0 && len(d.ClusterBy) > 0 {
			add("cluster_by", strings.Join(d.ClusterBy, ","), "Spark does not allow partition_by and cluster_by together",
				"keep only one of partition_by and cluster_by")
		}
		ps = append(ps, checkProperties(d.Name, d.TableProperties)...)
		if d.Schema != "" {
			if msg := checkSchema(d.Schema); msg != "" {
				add("schema", d.Schema, msg, "give a DDL column list such as \"id BIGINT NOT NULL, name STRING COMMENT 'full name'\", or omit schema to infer it from the query")
			}
		}
	}
	ps = append(ps, checkExpectations(d)...)
	ps = append(ps, clauseProblems(d)...)
	return ps
}

// validateFlow checks one flow declaration on its own (not its target).
func validateFlow(f Flow) Problems {
	var ps Problems
	if !validName(f.Name) {
		ps = append(ps, nameProblem("flow", f.Name, "name", f.Name))
	}
	if !validName(f.Target) {
		ps = append(ps, Problem{On: "flow", Name: f.Name, Field: "target", Got: f.Target,
			Message: "not a valid dataset name: it must match " + namePattern,
			Fix:     "give the name of a declared streaming table"})
	}
	if strings.TrimSpace(f.Query) == "" {
		ps = append(ps, Problem{On: "flow", Name: f.Name, Field: "query", Got: f.Query,
			Message: "the query is empty", Fix: "give the query body whose rows the flow appends, e.g. SELECT * FROM STREAM(source_table)"})
	} else {
		ps = append(ps, checkQuery("flow", f.Name, f.Query)...)
	}
	if !clauses().FlowComment && f.Comment != "" {
		ps = append(ps, Problem{On: "flow", Name: f.Name, Field: "comment", Got: f.Comment,
			Message: "this Spark version does not accept a comment on flows", Fix: "remove comment"})
	}
	ps = append(ps, checkComment("flow", f.Name, f.Comment)...)
	return ps
}

// checkQuery makes sure a body cannot break out of the wrapper
// "SELECT * FROM (\n<body>\n) AS <alias>". The guardrails check bodies in
// depth before they get here; this is the last line of defence, because the
// wrapper is what makes Spark's grammar reject anything that is not a query.
func checkQuery(on, name, q string) Problems {
	var msg string
	switch {
	case len(q) > maxQueryBytes:
		msg = fmt.Sprintf("the query is longer than %d bytes", maxQueryBytes)
	case !utf8.ValidString(q):
		msg = "the query is not valid UTF-8"
	default:
		// The wrapper puts a line break after the body, so the body is
		// checked as it will stand there: a -- comment on its last line
		// that ends with \ would otherwise swallow the closing ")".
		msg = lexCheck(q+"\n", lexQuery)
	}
	if msg == "" {
		return nil
	}
	return Problems{{On: on, Name: name, Field: "query", Got: q, Message: msg,
		Fix: "send a single query body (SELECT ... or WITH ... SELECT ...) with balanced parentheses, closed quotes and comments, and no ;"}}
}

func checkComment(on, name, c string) Problems {
	msg := ""
	switch {
	case len(c) > maxTextField:
		msg = fmt.Sprintf("the comment is longer than %d bytes", maxTextField)
	default:
		msg = badText(c, true)
	}
	if msg == "" {
		return nil
	}
	return Problems{{On: on, Name: name, Field: "comment", Got: c, Message: msg,
		Fix: "write the comment as plain text (line breaks and tabs are fine)"}}
}

func checkColumns(ds, field string, cols []string) Problems {
	var ps Problems
	seen := map[string]bool{}
	for i, c := range cols {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !columnRE.MatchString(c) || len(c) > maxColumnName:
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: f, Got: c,
				Message: "not a plain column name (identity transforms on top-level columns only)",
				Fix:     "give a top-level column name of the query result using letters, digits and _"})
		case seen[strings.ToLower(c)]:
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: f, Got: c,
				Message: "the column is listed twice", Fix: "list each column once"})
		}
		seen[strings.ToLower(c)] = true
	}
	return ps
}

func checkProperties(ds string, props map[string]string) Problems {
	var ps Problems
	reserved := reservedProperties()
	for _, k := range sortedKeys(props) {
		f := "table_properties[" + k + "]"
		switch {
		case !propertyRE.MatchString(k) || len(k) > maxPropertyKey:
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: "table_properties", Got: k,
				Message: "not a usable table property key",
				Fix:     "use letters, digits, _, . and -, starting with a letter or _, e.g. quality.tier"})
		case reserved[strings.ToLower(k)] != "":
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: "table_properties", Got: k,
				Message: "Spark reserves this table property", Fix: reserved[strings.ToLower(k)]})
		}
		v := props[k]
		if len(v) > maxTextField {
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: f, Got: v,
				Message: fmt.Sprintf("the value is longer than %d bytes", maxTextField), Fix: "shorten the value"})
		} else if msg := badText(v, false); msg != "" {
			ps = append(ps, Problem{On: "dataset", Name: ds, Field: f, Got: v, Message: msg,
				Fix: "write the value as plain text on one line"})
		}
	}
	return ps
}

func checkExpectations(d Dataset) Problems {
	var ps Problems
	if len(d.Expectations) > maxExpectations {
		ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: "expectations",
			Message: fmt.Sprintf("more than %d expectations", maxExpectations), Fix: "merge related checks into one condition"})
	}
	seen := map[string]bool{}
	for i, e := range d.Expectations {
		field := fmt.Sprintf("expectations[%d]", i)
		if !validName(e.Name) {
			ps = append(ps, nameProblem("dataset", d.Name, field+".name", e.Name))
		} else if seen[e.Name] {
			ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: field + ".name", Got: e.Name,
				Message: "another expectation of this dataset has the same name",
				Fix:     "give each expectation of a dataset its own name"})
		}
		seen[e.Name] = true
		if !slices.Contains(Actions(), e.OnViolation) {
			ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: field + ".on_violation", Got: string(e.OnViolation),
				Message: "unknown action", Fix: "use one of warn (keep and count), drop (remove the row) or fail (stop the run)"})
		}
		if msg := checkCondition(e.Condition); msg != "" {
			ps = append(ps, Problem{On: "dataset", Name: d.Name, Field: field + ".condition", Got: e.Condition,
				Message: msg, Fix: "give one boolean SQL expression over the dataset's columns, e.g. amount >= 0 AND id IS NOT NULL, without comments or ;"})
		}
	}
	return ps
}

func checkCondition(c string) string {
	switch {
	case strings.TrimSpace(c) == "":
		return "the condition is empty"
	case len(c) > maxTextField:
		return fmt.Sprintf("the condition is longer than %d bytes", maxTextField)
	case !utf8.ValidString(c):
		return "the condition is not valid UTF-8"
	}
	return lexCheck(c, lexCondition)
}

// badText reports control characters (other than line breaks and tabs when
// multiline) and invalid UTF-8.
func badText(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}

func joinKinds() string {
	ks := Kinds()
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
