package pipeline

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a declaration, a graph or a project file
// that the caller (usually the agent) can fix. It names where the problem is,
// the offending value, what is wrong and what to do about it.
type Problem struct {
	// On is what the problem is about: "pipeline", "dataset", "flow",
	// "file", "query" (an ad-hoc query body) or "preview" (its arguments).
	On string `json:"on"`
	// Name is the pipeline, dataset or flow name, or the file path relative to
	// the project folder.
	Name string `json:"name,omitempty"`
	// Field is the declaration field in the tools' JSON spelling, e.g.
	// "partition_by" or "expectations[1].condition". Empty when the problem is
	// about the element as a whole.
	Field string `json:"field,omitempty"`
	// Got is the offending value as given.
	Got string `json:"got,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Fix says how to fix it.
	Fix string `json:"fix,omitempty"`
}

// String renders the problem on one line, e.g.
//
//	dataset "orders": partition_by "a b": not a column name; fix: use letters, digits and _ only
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.On)
	if p.Name != "" {
		fmt.Fprintf(&b, " %q", p.Name)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		if p.Got != "" {
			fmt.Fprintf(&b, " %q", clip(p.Got, 120))
		}
		b.WriteString(": ")
	} else if p.Got != "" {
		fmt.Fprintf(&b, "%q: ", clip(p.Got, 120))
	}
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// Problems is a list of [Problem]s reported together, so that one call tells
// the agent everything it has to fix. A non-empty Problems is an error; use
// errors.As to tell it apart from infrastructure errors.
type Problems []Problem

// Error joins the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// clip shortens s to at most n bytes for messages, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
