package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestWithChecks(t *testing.T) {
	if got := withChecks("SELECT 1", nil); got != "SELECT 1" {
		t.Errorf("no expectations: %q", got)
	}
	got := withChecks("WITH a AS (SELECT 1 AS x) SELECT * FROM a\nLIMIT 1", []pipeline.Expectation{
		{Name: "one", Condition: "x = 1"}, {Name: "two", Condition: "x > 0 OR x IS NULL"}})
	want := "SELECT *,\n  (x = 1) IS TRUE AS `__sdp_mcp_check_0`,\n  (x > 0 OR x IS NULL) IS TRUE AS `__sdp_mcp_check_1`\n" +
		"FROM (\nWITH a AS (SELECT 1 AS x) SELECT * FROM a\nLIMIT 1\n) AS `__sdp_mcp_checked`"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnionByName(t *testing.T) {
	a := []connect.Column{{Name: "id", Type: "int"}, {Name: "kind", Type: "string", Nullable: true}}
	b := []connect.Column{{Name: "KIND", Type: "string"}, {Name: "id", Type: "int"}, {Name: "extra", Type: "double"}}
	want := []connect.Column{{Name: "id", Type: "int"}, {Name: "kind", Type: "string", Nullable: true}, {Name: "extra", Type: "double", Nullable: true}}
	if d := cmp.Diff(want, unionByName([][]connect.Column{a, b})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestReadsOf(t *testing.T) {
	e := testEngine(t, "sc://localhost:1")
	p := e.bind(shopModel())
	p.Datasets = append(p.Datasets, pipeline.Dataset{Name: "top", Kind: pipeline.MaterializedView,
		Query: "SELECT * FROM big JOIN local_dim USING (id) JOIN range(3) AS r ON true"})
	for _, tc := range []struct {
		roots        []string
		query        string
		materialized bool
		want         []string
	}{
		// A preview inlines every declared dataset down to the sources.
		{[]string{"top"}, "", false, []string{"`spark_catalog`.`shop`.`local_dim`", "`spark_catalog`.`samples`.`orders`"}},
		// Counting reads declared datasets from their tables, but views
		// are still inlined.
		{[]string{"top"}, "", true, []string{"`spark_catalog`.`shop`.`local_dim`", "`spark_catalog`.`shop`.`big`"}},
		{[]string{"big"}, "", true, []string{"`spark_catalog`.`samples`.`orders`"}},
		{[]string{"events"}, "", false, []string{"`spark_catalog`.`samples`.`app`", "`spark_catalog`.`samples`.`web`"}},
		{nil, "SELECT * FROM clean JOIN cat2.db2.t USING (id)", false, []string{"`cat2`.`db2`.`t`", "`spark_catalog`.`samples`.`orders`"}},
	} {
		got := e.readsOf(p, tc.roots, tc.query, tc.materialized)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("readsOf(%v, %q, %v) (-want +got):\n%s", tc.roots, tc.query, tc.materialized, d)
		}
	}
}

func TestResolveSource(t *testing.T) {
	e, err := New(t.Context(), Config{URL: "sc://localhost:1", Catalog: "spark_catalog", Database: "shop",
		Storage: "file:///s", Sources: []string{"spark_catalog.samples", "other.samples", "spark_catalog.raw.orders*", "spark_catalog.raw.ref_*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want []string // schema.table candidates, or the start of a problem
	}{
		{"orders", []string{"spark_catalog.samples.orders", "other.samples.orders", "spark_catalog.raw.orders"}},
		{"samples.orders", []string{"spark_catalog.samples.orders", "other.samples.orders"}},
		{"`RAW`.`orders`", []string{"spark_catalog.raw.orders"}},
		{"other.samples.orders", []string{"other.samples.orders"}},
		{"shop.orders", []string{"problem: outside the sources the agent may read: spark_catalog.samples.*, other.samples.*, spark_catalog.raw.orders*, spark_catalog.raw.ref_*"}},
		{"raw.ORDERS_2024", []string{"spark_catalog.raw.ORDERS_2024"}},
		{"raw.ref_country", []string{"spark_catalog.raw.ref_country"}},
		{"raw.customers", []string{"problem: outside"}},
		{"customers", []string{"spark_catalog.samples.customers", "other.samples.customers"}},
		{"x.samples.orders", []string{"problem: outside"}},
		{"orders--", []string{"problem: not a table name"}},
		{"a.b.c.d", []string{"problem: too many name parts"}},
	} {
		cs, err := e.resolveSource(tc.name)
		var got []string
		var ps pipeline.Problems
		switch {
		case errors.As(err, &ps):
			got = []string{"problem: " + ps[0].Message}
		case err != nil:
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, c := range cs {
			got = append(got, c.schema.String()+"."+c.table)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

func TestPreviewLimits(t *testing.T) {
	for _, tc := range []struct {
		req      PreviewRequest
		limit    int
		maxBytes int64
		fields   []string
	}{
		{PreviewRequest{Dataset: "a"}, DefaultPreviewLimit, DefaultPreviewMaxBytes, nil},
		{PreviewRequest{Query: "SELECT 1", Limit: 5, MaxBytes: 10}, 5, 10, nil},
		{PreviewRequest{}, DefaultPreviewLimit, DefaultPreviewMaxBytes, []string{"dataset"}},
		{PreviewRequest{Dataset: "a", Query: "SELECT 1"}, DefaultPreviewLimit, DefaultPreviewMaxBytes, []string{"dataset"}},
		{PreviewRequest{Query: "SELECT 1", Materialized: true}, DefaultPreviewLimit, DefaultPreviewMaxBytes, []string{"materialized"}},
		{PreviewRequest{Dataset: "a", Limit: -1, MaxBytes: -1}, -1, -1, []string{"limit", "max_bytes"}},
		{PreviewRequest{Dataset: "a", Limit: MaxPreviewLimit + 1}, MaxPreviewLimit + 1, DefaultPreviewMaxBytes, []string{"limit"}},
	} {
		limit, maxBytes, err := previewLimits(tc.req)
		var fields []string
		var ps pipeline.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fields = append(fields, p.Field)
			}
		}
		if !cmp.Equal(tc.fields, fields) || (err == nil && (limit != tc.limit || maxBytes != tc.maxBytes)) {
			t.Errorf("%+v: %d %d %v, want %d %d %v", tc.req, limit, maxBytes, fields, tc.limit, tc.maxBytes, tc.fields)
		}
	}
}

func TestLocate(t *testing.T) {
	p := shopModel()
	for _, tc := range []struct{ fragment, dflt, want string }{
		{"amount > 100", "top", "big"},
		{"samples.orders", "top", "top"}, // in clean and log: ambiguous
		{"samples.orders", "log", "log"}, // the default's own text wins
		{"samples.web", "events", "web"}, // a flow of the previewed table
		{"", "big", "big"},
		{"nowhere", "big", "big"},
	} {
		if got := locate(p, tc.fragment, tc.dflt); got != tc.want {
			t.Errorf("locate(%q, %q) = %q, want %q", tc.fragment, tc.dflt, got, tc.want)
		}
	}
}
