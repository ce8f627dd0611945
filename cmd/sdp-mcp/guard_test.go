package main

import (
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

func testGuard(t *testing.T) sqlGuard {
	t.Helper()
	cfg := &config.Config{Environments: config.Environments{
		Sandbox: config.Environment{Name: config.Sandbox, Catalog: "spark_catalog", Schema: "dev", Sources: []string{"spark_catalog.raw.*"}},
	}}
	g, err := newSQLGuard(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestSQLGuard(t *testing.T) {
	g := testGuard(t)
	p := &pipeline.Pipeline{Name: "p", Catalog: "spark_catalog", Database: "dev",
		Datasets: []pipeline.Dataset{{Name: "orders_clean", Kind: pipeline.MaterializedView, Query: "SELECT 1"}}}
	for _, tc := range []struct {
		name, body, kind string
		want             string // substring of the first problem; "" = accepted
	}{
		{"allowed source", "SELECT id FROM raw.orders", tools.BodyQuery, ""},
		{"declared dataset", "SELECT * FROM orders_clean", tools.BodyQuery, ""},
		{"stream in a flow", "SELECT * FROM STREAM(raw.events)", tools.BodyStreamingQuery, ""},
		{"other schema", "SELECT * FROM prod.hr.salaries", tools.BodyQuery, "scope.read"},
		{"stream in a batch body", "SELECT * FROM STREAM(raw.events)", tools.BodyQuery, "sql.stream"},
		{"semicolon", "SELECT 1; DROP TABLE raw.orders", tools.BodyQuery, "sql.semicolon"},
		{"reflect in a condition", "reflect('java.lang.System', 'exit', 0) IS NULL", tools.BodyCondition, "line 1"},
		{"condition ok", "amount > 0 AND customer_id IS NOT NULL", tools.BodyCondition, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, _ := g.CheckBody(p, tc.body, tc.kind)
			if tc.want == "" {
				if len(ps) > 0 {
					t.Fatalf("rejected: %v", ps)
				}
				return
			}
			if len(ps) == 0 {
				t.Fatalf("accepted, want a problem mentioning %q", tc.want)
			}
			if !strings.Contains(ps.Error(), tc.want) {
				t.Errorf("problems %q do not mention %q", ps.Error(), tc.want)
			}
			if ps[0].Fix == "" {
				t.Errorf("problem %v has no fix hint", ps[0])
			}
		})
	}
}

func TestSQLGuardRejectsBadSources(t *testing.T) {
	cfg := &config.Config{Environments: config.Environments{
		Sandbox: config.Environment{Name: config.Sandbox, Catalog: "c", Schema: "s", Sources: []string{"only_one_part"}},
	}}
	if _, err := newSQLGuard(cfg, nil); err == nil || !strings.Contains(err.Error(), "sources") {
		t.Fatalf("got %v, want an error naming the sources key", err)
	}
}
