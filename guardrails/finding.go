package guardrails

import (
	"fmt"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// Rule ids. They are stable: tools, audit records and tests match on them.
const (
	RuleEmpty               = "sql.empty"                // the body has no query
	RuleTooLarge            = "sql.too_large"            // the body exceeds the size cap
	RuleUTF8                = "sql.utf8"                 // invalid UTF-8
	RuleControlChar         = "sql.control_char"         // control or invisible formatting character
	RuleNonASCII            = "sql.non_ascii"            // non-ASCII outside string literals and quoted identifiers
	RuleInvalidChar         = "sql.invalid_char"         // a character Spark's lexer does not accept
	RuleSemicolon           = "sql.semicolon"            // ';'
	RuleVariable            = "sql.variable"             // "${", substituted by Spark before parsing
	RuleHint                = "sql.hint"                 // optimizer hint /*+ ... */
	RuleParameter           = "sql.parameter"            // parameter marker ? or :name
	RuleParenUnbalanced     = "sql.paren_unbalanced"     // ')' without '(' or '(' never closed
	RuleParenDepth          = "sql.paren_depth"          // parentheses nested deeper than the cap
	RuleUnclosedString      = "sql.unclosed_string"      // string literal not closed
	RuleUnclosedComment     = "sql.unclosed_comment"     // /* comment not closed
	RuleUnclosedIdentifier  = "sql.unclosed_identifier"  // `quoted identifier not closed
	RuleUnclosedHint        = "sql.unclosed_hint"        // /*+ hint not closed
	RuleCommentContinuation = "sql.comment_continuation" // "--" comment continued by a trailing backslash
	RuleNotQuery            = "sql.not_query"            // the body does not start a query
	RuleStatement           = "sql.statement"            // a write (INSERT ...) inside the body
	RuleScriptTransform     = "sql.script_transform"     // TRANSFORM/MAP/REDUCE ... USING 'cmd', RECORDREADER/WRITER, ROW FORMAT
	RuleIdentifierClause    = "sql.identifier_clause"    // IDENTIFIER(...)
	RuleRecursiveCTE        = "sql.recursive_cte"        // WITH RECURSIVE
	RulePathRead            = "sql.path_read"            // format.`path` and other path-based reads
	RuleTimeTravel          = "sql.time_travel"          // VERSION/TIMESTAMP AS OF, t@v1
	RuleChanges             = "sql.changes"              // CHANGES FROM ... (change feed reads)
	RuleTableOptions        = "sql.table_options"        // WITH (...) options on a relation
	RuleGlobalTemp          = "sql.global_temp"          // global_temp.x
	RuleStream              = "sql.stream"               // STREAM read where the dataset kind does not allow it
	RuleScopeRead           = "scope.read"               // relation not in the allowed sources
	RuleScopeName           = "scope.name"               // relation name that cannot be qualified
	RuleFunctionDenied      = "fn.denied"                // a denied built-in function (reflect, ...)
	RuleFunctionUnknown     = "fn.unknown"               // not a Spark built-in: UDFs and catalog functions
	RuleFunctionPolicy      = "fn.policy"                // a built-in the policy file denies or does not allow
	RuleTableFunction       = "fn.table_function"        // a table function that is not allowed
	RuleInternal            = "sql.internal"             // the checker failed; the body is refused
)

// Finding is one problem found in a query body. Positions are relative to
// the body the agent sent: line 1, column 1 is its first character.
type Finding struct {
	Rule    string      `json:"rule"`    // stable rule id, one of the Rule* constants
	Start   sqlscan.Pos `json:"start"`   // start of the offending text
	End     sqlscan.Pos `json:"end"`     // just after the offending text
	Got     string      `json:"got"`     // the offending text as written (shortened when long)
	Message string      `json:"message"` // what is wrong, naming the offending text
	Hint    string      `json:"hint"`    // how the agent fixes its call
}

// String formats f on one line: "line:col rule: message (hint: ...)".
func (f Finding) String() string {
	s := fmt.Sprintf("%d:%d %s: %s", f.Start.Line, f.Start.Col, f.Rule, f.Message)
	if f.Hint != "" {
		s += " (hint: " + f.Hint + ")"
	}
	return s
}

// Format renders findings one per line, for a tool error the agent reads.
func Format(findings []Finding) string {
	var b strings.Builder
	for i, f := range findings {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// HasRule reports whether findings contain one with the given rule.
func HasRule(findings []Finding, rule string) bool {
	for _, f := range findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// maxGot is the longest Got text kept in a finding.
const maxGot = 80

// shorten trims s to maxGot bytes (on a rune boundary) with an ellipsis.
func shorten(s string) string {
	if len(s) <= maxGot {
		return s
	}
	cut := maxGot
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// quote shows text in a message: 'text', shortened.
func quote(s string) string { return "'" + shorten(s) + "'" }

// Quote shows text in a message the way findings do: 'text', cut to 80
// bytes on a rune boundary with an ellipsis.
func Quote(s string) string { return quote(s) }

// Shorten cuts text to the 80 bytes a finding's Got keeps, on a rune
// boundary, with an ellipsis.
func Shorten(s string) string { return shorten(s) }
