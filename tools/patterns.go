package tools

import (
	"regexp"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/toolcall"
)

// Named patterns of the tools' schema tags (pattern=<name>).
const (
	// NamePattern is the rule for pipeline, dataset, flow and expectation
	// names.
	NamePattern = `^[a-z][a-z0-9_]{0,62}$`
	// columnPattern is a plain column name.
	columnPattern = `^[A-Za-z_][A-Za-z0-9_]*$`
	// propertyPattern is a table property key.
	propertyPattern = `^[A-Za-z_][A-Za-z0-9_.\-]*$`
	// sourcePattern is a source table name with one to three parts.
	sourcePattern = `^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$`
	// globPattern is a table name pattern with * and ? wildcards.
	globPattern = `^[A-Za-z0-9_*?]{1,128}$`
	// hashPattern is a pipeline hash.
	hashPattern = `^[0-9a-f]{64}$`
)

var nameRE = regexp.MustCompile(NamePattern)

// vocabulary is what the tools' schema tags may name: the server's limits
// and the named patterns, each with the hint an agent gets when a value
// does not match.
func (h *Handler) vocabulary() toolcall.Vocabulary {
	fixed := func(hint string) func(string) string { return func(string) string { return hint } }
	return toolcall.Vocabulary{
		Limits: map[string]int{
			"preview_rows_max":     h.cfg.Limits.PreviewRowsMax,
			"preview_rows_default": h.cfg.Limits.PreviewRowsDefault,
		},
		Patterns: map[string]toolcall.Pattern{
			"name": {Regexp: NamePattern, Fix: func(got string) string {
				return "use lower-case letters, digits and _, starting with a letter, at most 63 characters, e.g. " + pipeline.SuggestName(got)
			}},
			"column": {Regexp: columnPattern,
				Fix: fixed("use a plain column name: letters, digits and _, not starting with a digit")},
			"property": {Regexp: propertyPattern},
			"source": {Regexp: sourcePattern,
				Fix: fixed("name a source table as table, schema.table or catalog.schema.table (letters, digits and _), as list_sources shows it")},
			"glob": {Regexp: globPattern,
				Fix: fixed("use letters, digits, _ and the wildcards * (any characters) and ? (one character), e.g. orders_*")},
			"hash": {Regexp: hashPattern,
				Fix: fixed("pass the pipeline_hash exactly as validate returned it (64 lower-case hex characters)")},
		},
	}
}
