package guardrails

import (
	"maps"
	"slices"
	"strings"
)

// The built-in functions a body may call depend on the Spark line: each
// supported line's list is generated from its own server (SHOW SYSTEM
// FUNCTIONS and SQL_KEYWORDS(), see cmd/genfunctions) into spark_<line>.go.
// A line's callable built-ins are its listed names minus deniedFunctions,
// minus the table-only functions and "case" (a grammar form, not a call),
// plus the functions with their own grammar (grammarFunctions) that are
// keywords of that line. A function missing from a line is refused there
// as unknown, never allowed.
var lineLists = map[string][2]string{
	"4.2": {functionsSpark4_2, keywordsSpark4_2},
	"4.3": {functionsSpark4_3, keywordsSpark4_3},
}

// grammarFunctions are called like functions but parsed by their own
// grammar rules, so SHOW FUNCTIONS does not list them.
var grammarFunctions = []string{"timediff", "timestampadd", "timestampdiff", "try_cast"}

// notCalls are listed by SHOW FUNCTIONS but are not function calls.
var notCalls = map[string]bool{"case": true}

// deniedFunctions are built-ins an agent may not call, with the reason given
// to the agent.
var deniedFunctions = map[string]string{
	"from_protobuf":           "can load descriptor files from a path",
	"from_xml":                "parses XML, whose external-entity handling is not verified",
	"input_file_block_length": "reveals the storage layout of source files",
	"input_file_block_start":  "reveals the storage layout of source files",
	"input_file_name":         "reveals the storage paths of source files",
	"java_method":             "calls arbitrary Java methods on the driver and executors",
	"reflect":                 "calls arbitrary Java methods on the driver and executors",
	"schema_of_xml":           "parses XML, whose external-entity handling is not verified",
	"to_protobuf":             "can load descriptor files from a path",
	"try_reflect":             "calls arbitrary Java methods on the driver and executors",
	"xpath":                   "parses XML, whose external-entity handling is not verified",
	"xpath_boolean":           "parses XML, whose external-entity handling is not verified",
	"xpath_double":            "parses XML, whose external-entity handling is not verified",
	"xpath_float":             "parses XML, whose external-entity handling is not verified",
	"xpath_int":               "parses XML, whose external-entity handling is not verified",
	"xpath_long":              "parses XML, whose external-entity handling is not verified",
	"xpath_number":            "parses XML, whose external-entity handling is not verified",
	"xpath_short":             "parses XML, whose external-entity handling is not verified",
	"xpath_string":            "parses XML, whose external-entity handling is not verified",
}

// tableFunctions are the table-valued functions allowed in FROM where the
// Spark line has them: the built-in generators and range, and the UNNEST
// relation (a keyword from 4.3; JSON_TABLE is a keyword in 4.3 but not a
// function Spark has, so it is refused). None reads storage.
// (python_worker_logs is left out.)
var tableFunctions = map[string]bool{
	"collations": true, "explode": true, "explode_outer": true, "inline": true,
	"inline_outer": true, "json_tuple": true, "posexplode": true, "posexplode_outer": true,
	"range": true, "sql_keywords": true, "stack": true, "variant_explode": true,
	"variant_explode_outer": true, "unnest": true,
}

// tableOnly are table functions that are not callable in expressions.
var tableOnly = map[string]bool{"collations": true, "python_worker_logs": true, "range": true,
	"sql_keywords": true, "variant_explode": true, "variant_explode_outer": true}

// lineFunctions are the built-ins of one Spark line. Built once; never
// modified.
type lineFunctions struct {
	builtins map[string]bool // callable in expressions
	tables   map[string]bool // allowed in FROM
}

func buildLine(functions, keywords string) *lineFunctions {
	kw := map[string]bool{}
	for _, k := range strings.Fields(keywords) {
		kw[strings.ToLower(k)] = true
	}
	l := &lineFunctions{builtins: map[string]bool{}, tables: map[string]bool{}}
	for _, f := range strings.Fields(functions) {
		if tableFunctions[f] {
			l.tables[f] = true
		}
		if _, denied := deniedFunctions[f]; !denied && !tableOnly[f] && !notCalls[f] {
			l.builtins[f] = true
		}
	}
	for _, f := range grammarFunctions {
		if kw[f] {
			l.builtins[f] = true
		}
	}
	if kw["unnest"] {
		l.tables["unnest"] = true
	}
	return l
}

var (
	// lines are the built-ins per supported Spark line.
	lines = func() map[string]*lineFunctions {
		m := map[string]*lineFunctions{}
		for line, l := range lineLists {
			m[line] = buildLine(l[0], l[1])
		}
		return m
	}()
	// commonLine has what every supported line has: the built-ins of a
	// check that names no line (or one without a list).
	commonLine = func() *lineFunctions {
		var c *lineFunctions
		for _, l := range lines {
			if c == nil {
				c = &lineFunctions{builtins: maps.Clone(l.builtins), tables: maps.Clone(l.tables)}
				continue
			}
			maps.DeleteFunc(c.builtins, func(k string, _ bool) bool { return !l.builtins[k] })
			maps.DeleteFunc(c.tables, func(k string, _ bool) bool { return !l.tables[k] })
		}
		return c
	}()
	// builtinSet has the built-ins of any supported line: the names a
	// policy file may list.
	builtinSet = func() map[string]bool {
		m := map[string]bool{}
		for _, l := range lines {
			maps.Copy(m, l.builtins)
		}
		return m
	}()
)

// functionsFor returns the built-ins of a Spark line ("4.2"); an empty or
// unknown line gets those every supported line has.
func functionsFor(line string) *lineFunctions {
	if l, ok := lines[line]; ok {
		return l
	}
	return commonLine
}

// SparkLines are the Spark lines the guard has function lists for.
func SparkLines() []string { return slices.Sorted(maps.Keys(lines)) }

// IsBuiltinFunction reports whether name (one part, any case) is an allowed
// Spark built-in function on some supported Spark line.
func IsBuiltinFunction(name string) bool { return builtinSet[strings.ToLower(name)] }
