package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Key is the dotted key path (e.g. limits.preview_rows_max) or the flag.
	Key string
	// Line is the line in the file, or 0.
	Line    int
	Message string
	Fix     string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Key)
	b.WriteString(": ")
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// Error is an invalid configuration: every problem found, at once.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	where := "invalid configuration"
	if e.File != "" {
		where += " in " + e.File
	}
	if len(e.Problems) == 1 {
		return where + ": " + e.Problems[0].String()
	}
	lines := []string{fmt.Sprintf("%s: %d problems", where, len(e.Problems))}
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}
