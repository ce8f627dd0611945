package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/policy"
)

// TestREADMEConfigExamples checks that every YAML example in the README is
// a valid configuration, so the documentation cannot drift from the
// config package.
func TestREADMEConfigExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 2 {
		t.Fatalf("%d YAML examples in README.md, want at least 2", len(blocks))
	}
	env := map[string]string{"SDP_PROD_TOKEN": "prod-token", "SDP_MCP_HTTP_TOKEN": strings.Repeat("k", 64),
		"SDP_MCP_TOKEN_CLAUDE": strings.Repeat("c", 64), "SDP_MCP_TOKEN_CI": strings.Repeat("i", 64)}
	for i, blk := range blocks {
		if strings.HasPrefix(blk[1], "version:") {
			if _, err := policy.Parse("README.md policy example", []byte(blk[1])); err != nil {
				t.Errorf("policy example %d:\n%s\n%v", i+1, blk[1], err)
			}
			continue
		}
		c, err := config.Parse("README.md example", []byte(blk[1]))
		if err != nil {
			t.Errorf("example %d:\n%s\n%v", i+1, blk[1], err)
			continue
		}
		ws := t.TempDir()
		c.Apply(config.Flags{Workspace: &ws})
		if strings.Contains(blk[1], "http:") {
			http := config.TransportHTTP
			c.Apply(config.Flags{Transport: &http})
		}
		if err := c.Validate(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
			t.Errorf("example %d does not validate:\n%s\n%v", i+1, blk[1], err)
		}
	}
}

// TestREADMEJSONExamples checks that the README's JSON examples parse (a
// client config pasted from it must load).
func TestREADMEJSONExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 2 {
		t.Fatalf("%d JSON examples in README.md, want at least 2", len(blocks))
	}
	for i, blk := range blocks {
		if !json.Valid([]byte(blk[1])) {
			t.Errorf("example %d is not valid JSON:\n%s", i+1, blk[1])
		}
	}
}
