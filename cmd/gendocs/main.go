// Command gendocs writes the README's tool table from the code: the tools
// package's registered tool list (name, read-only and destructive
// annotations, the first sentence of the description), between the markers
//
//	<!-- BEGIN GENERATED TOOLS (go run ./cmd/gendocs) -->
//	<!-- END GENERATED TOOLS -->
//
// Usage:
//
//	go run ./cmd/gendocs            # rewrite the table in README.md
//	go run ./cmd/gendocs -check     # exit 1 when README.md is stale (make docs-check)
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// The markers around the generated table.
const (
	beginMarker = "<!-- BEGIN GENERATED TOOLS (go run ./cmd/gendocs) -->"
	endMarker   = "<!-- END GENERATED TOOLS -->"
)

func main() {
	readme := flag.String("readme", "README.md", "the file holding the markers")
	check := flag.Bool("check", false, "do not write: exit 1 when the file is stale")
	flag.Parse()
	if err := run(*readme, *check); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(path string, check bool) error {
	ts, err := registeredTools()
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, err := splice(old, table(ts))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(old, updated) {
		return nil
	}
	if check {
		return fmt.Errorf("%s: the tool table is stale; run 'go run ./cmd/gendocs' and commit the result", path)
	}
	return os.WriteFile(path, updated, 0o644)
}

// registeredTools returns every tool the tools package defines, in the
// order clients list them. No engine is started: the factory is never
// called while tools are only listed.
func registeredTools() ([]mcp.Tool, error) {
	cfg := config.Default()
	h, err := tools.New(tools.Deps{
		Config: cfg,
		Engines: func(context.Context, config.Environment) (tools.Engine, error) {
			return nil, errors.New("gendocs starts no engine")
		},
		Guard: acceptAll{},
	})
	if err != nil {
		return nil, err
	}
	all, err := h.All()
	if err != nil {
		return nil, err
	}
	out := make([]mcp.Tool, 0, len(all))
	for _, st := range all {
		out = append(out, st.Tool)
	}
	return out, nil
}

type acceptAll struct{}

func (acceptAll) CheckBody(*pipeline.Pipeline, string, string) (pipeline.Problems, tools.BodyFacts) {
	return nil, tools.BodyFacts{}
}

// table renders the markdown table, ending with a newline.
func table(ts []mcp.Tool) string {
	var b strings.Builder
	b.WriteString("| tool | read-only | destructive | what it does |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Name,
			yesNo(t.Annotations.ReadOnlyHint, false), yesNo(t.Annotations.DestructiveHint, true),
			cell(oneLine(t.Description)))
	}
	return b.String()
}

// yesNo renders a hint; an absent hint takes the spec's default.
func yesNo(p *bool, dflt bool) string {
	v := dflt
	if p != nil {
		v = *p
	}
	if v {
		return "yes"
	}
	return "no"
}

// oneLine is the first sentence of a description's first paragraph. A long
// sentence that introduces a list ("Show everything about X: a, b, c") is
// cut before the colon.
func oneLine(desc string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(desc), "\n\n")
	s := strings.Join(strings.Fields(para), " ")
	if i := sentenceEnd(s); i > 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		if head, _, ok := strings.Cut(s, ": "); ok {
			s = head + "."
		}
	}
	return s
}

// sentenceEnd returns the index just past the first '.' that ends a
// sentence (followed by a space or the end, and not closing "e.g." or
// "i.e."), or -1.
func sentenceEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' || (i+1 < len(s) && s[i+1] != ' ') {
			continue
		}
		if strings.HasSuffix(s[:i], "e.g") || strings.HasSuffix(s[:i], "i.e") {
			continue
		}
		return i + 1
	}
	return -1
}

// cell escapes what would break a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// splice replaces what lies between the markers with body.
func splice(doc []byte, body string) ([]byte, error) {
	s := string(doc)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	switch {
	case i < 0 || j < 0:
		return nil, fmt.Errorf("markers not found: add the lines\n%s\n%s\nwhere the tool table goes", beginMarker, endMarker)
	case j < i:
		return nil, errors.New("the end marker comes before the begin marker")
	case strings.Count(s, beginMarker) > 1 || strings.Count(s, endMarker) > 1:
		return nil, errors.New("the markers appear more than once")
	}
	head := s[:i+len(beginMarker)]
	tail := s[j:]
	return []byte(head + "\n" + body + tail), nil
}
