package tools

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"
)

func TestMain(m *testing.M) {
	// mcptest's client transport logs a closed pipe at shutdown through the
	// default logger; keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// TestToolMetadata checks every tool the way a careful client would.
func TestToolMetadata(t *testing.T) {
	h := newHarness(t, harnessOpts{production: true})
	all, err := h.handler.All()
	if err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, st := range all {
		tool := st.Tool
		name := tool.Name
		if !snake.MatchString(name) || len(name) > 64 {
			t.Errorf("%s: not snake_case", name)
		}
		if seen[name] {
			t.Errorf("%s: duplicate name", name)
		}
		seen[name] = true
		if st.Handler == nil {
			t.Errorf("%s: no handler", name)
		}
		if len(tool.Description) < 200 || !strings.Contains(tool.Description, "Example:") || !strings.Contains(tool.Description, "{") {
			t.Errorf("%s: the description must explain the tool and end with an example call", name)
		}
		if tool.Title == "" || tool.Annotations.Title == "" {
			t.Errorf("%s: no title", name)
		}
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: annotations not all set explicitly: %+v", name, a)
		} else if *a.ReadOnlyHint && *a.DestructiveHint {
			t.Errorf("%s: read-only and destructive", name)
		}

		var in, out map[string]any
		if err := json.Unmarshal(tool.RawInputSchema, &in); err != nil || len(in) == 0 {
			t.Fatalf("%s: no input schema: %v", name, err)
		}
		if err := json.Unmarshal(tool.RawOutputSchema, &out); err != nil || len(out) == 0 {
			t.Fatalf("%s: no output schema: %v", name, err)
		}
		for _, kw := range []string{"oneOf", "anyOf", "allOf", "not", "if"} {
			if _, ok := in[kw]; ok {
				t.Errorf("%s: top-level %s in the input schema (some clients reject it)", name, kw)
			}
		}
		if in["type"] != "object" || out["type"] != "object" {
			t.Errorf("%s: schemas must be objects", name)
		}
		checkClosed(t, name+" input", in)
		checkClosed(t, name+" output", out)
		checkNames(t, name, in)
	}
	// The order clients see is fixed.
	var names []string
	for _, st := range all {
		names = append(names, st.Tool.Name)
	}
	want := []string{"list_sources", "describe_source", "list_pipelines", "show_pipeline", "declare_table",
		"declare_flow", "remove_dataset", "preview", "validate", "run", "plan_promotion", "promote"}
	if !slices.Equal(names, want) {
		t.Errorf("tool order = %v, want %v", names, want)
	}
}

// checkClosed asserts every object schema forbids unknown properties (or,
// for maps, constrains them with a schema).
func checkClosed(t *testing.T, where string, s map[string]any) {
	t.Helper()
	if s["type"] == "object" {
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if ap {
				t.Errorf("%s: an object allows additional properties", where)
			}
		case map[string]any:
			checkClosed(t, where+".*", ap)
		default:
			t.Errorf("%s: an object without additionalProperties", where)
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k, p := range props {
			checkClosed(t, where+"."+k, p.(map[string]any))
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		checkClosed(t, where+"[]", items)
	}
}

// checkNames asserts that agent-given names use the name pattern and that
// every string input is bounded.
func checkNames(t *testing.T, tool string, in map[string]any) {
	t.Helper()
	props, _ := in["properties"].(map[string]any)
	for _, field := range []string{"pipeline", "name", "target", "dataset"} {
		p, ok := props[field].(map[string]any)
		if !ok || (tool == "describe_source" && field == "name") {
			continue
		}
		if p["pattern"] != NamePattern {
			t.Errorf("%s.%s: pattern %v, want %s", tool, field, p["pattern"], NamePattern)
		}
	}
	var walk func(string, map[string]any)
	walk = func(where string, s map[string]any) {
		if s["type"] == "string" && s["enum"] == nil && s["pattern"] == nil && s["maxLength"] == nil {
			t.Errorf("%s: unbounded string", where)
		}
		if s["type"] == "array" && s["maxItems"] == nil {
			t.Errorf("%s: unbounded array", where)
		}
		if p, ok := s["properties"].(map[string]any); ok {
			for k, v := range p {
				walk(where+"."+k, v.(map[string]any))
			}
		}
		if it, ok := s["items"].(map[string]any); ok {
			walk(where+"[]", it)
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			walk(where+".*", ap)
		}
	}
	walk(tool, in)
}

// TestSchemaSnapshots pins what agents see of every tool.
func TestSchemaSnapshots(t *testing.T) {
	h := newHarness(t, harnessOpts{production: true})
	all, err := h.handler.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		data, err := json.Marshal(st.Tool)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, filepath.Join("testdata", "schemas", st.Tool.Name+".json"), v)
	}
	// A snapshot without a tool is stale.
	files, _ := filepath.Glob(filepath.Join("testdata", "schemas", "*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !slices.ContainsFunc(all, func(st server.ServerTool) bool { return st.Tool.Name == name }) {
			t.Errorf("%s: snapshot of a tool that no longer exists", f)
		}
	}
}
