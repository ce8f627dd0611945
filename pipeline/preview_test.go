package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPreviewSQL(t *testing.T) {
	tests := []struct {
		name    string
		p       *Pipeline
		dataset string
		want    string
	}{
		{"stream reads become batch reads; names get the pipeline's schema",
			graphPipeline([]Dataset{{Name: "s", Kind: StreamingTable,
				Query: "SELECT * FROM STREAM(raw) JOIN STREAM /* c */ ( db2.more ) AS m ON true JOIN STREAM x.y.z USING (id)"}}),
			"s",
			"SELECT * FROM (\nSELECT * FROM `cat`.`db`.`raw` JOIN `cat`.`db2`.`more` AS m ON true JOIN x.y.z USING (id)\n) AS `preview`\nLIMIT 5"},
		{"qualified references to datasets become CTE names",
			graphPipeline([]Dataset{
				mvd("up", "SELECT 1 AS id"),
				mvd("down", "SELECT * FROM cat.db.up AS a JOIN db.up AS b USING (id) JOIN STREAM(`UP`) AS c USING (id)"),
			}),
			"down",
			"WITH `up` AS (\nSELECT * FROM (\nSELECT 1 AS id\n) AS `up`\n)\n" +
				"SELECT * FROM (\nSELECT * FROM `up` AS a JOIN `up` AS b USING (id) JOIN `up` AS c USING (id)\n) AS `preview`\nLIMIT 5"},
		{"upstream drop filters apply, fail and warn do not",
			graphPipeline([]Dataset{
				{Name: "up", Kind: MaterializedView, Query: "SELECT 1 AS id", Expectations: []Expectation{
					{Name: "w", Condition: "id > 5", OnViolation: Warn},
					{Name: "f", Condition: "id > 6", OnViolation: Fail},
					{Name: "d", Condition: "id > 7", OnViolation: Drop},
				}},
				{Name: "down", Kind: MaterializedView, Query: "SELECT * FROM up", Expectations: []Expectation{
					{Name: "d", Condition: "id < 100", OnViolation: Drop},
				}},
			}),
			"down",
			"WITH `up` AS (\nSELECT * FROM (\nSELECT 1 AS id\n) AS `up`\nWHERE (id > 7) IS TRUE\n)\n" +
				"SELECT * FROM (\nSELECT * FROM `up`\n) AS `preview`\nWHERE (id < 100) IS TRUE\nLIMIT 5"},
		{"streaming table fed by flows, no schema: positional union",
			graphPipeline([]Dataset{{Name: "t", Kind: StreamingTable}},
				Flow{Name: "f1", Target: "t", Query: "SELECT a FROM STREAM(s1)"},
				Flow{Name: "f2", Target: "t", Query: "SELECT a FROM STREAM(s2)"}),
			"t",
			"SELECT * FROM (\nSELECT * FROM (\nSELECT a FROM `cat`.`db`.`s1`\n) AS `f1`\nUNION ALL\n" +
				"SELECT * FROM (\nSELECT a FROM `cat`.`db`.`s2`\n) AS `f2`\n) AS `preview`\nLIMIT 5"},
		{"temporary views are inlined too, in dependency order",
			graphPipeline([]Dataset{
				{Name: "v2", Kind: TemporaryView, Query: "SELECT * FROM v1"},
				{Name: "v1", Kind: TemporaryView, Query: "SELECT 1 AS id"},
				mvd("m", "SELECT * FROM v2 JOIN v1 USING (id)"),
			}),
			"m",
			"WITH `v1` AS (\nSELECT * FROM (\nSELECT 1 AS id\n) AS `v1`\n),\n`v2` AS (\nSELECT * FROM (\nSELECT * FROM `v1`\n) AS `v2`\n)\n" +
				"SELECT * FROM (\nSELECT * FROM `v2` JOIN `v1` USING (id)\n) AS `preview`\nLIMIT 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PreviewSQL(tc.p, tc.dataset, 5)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreMemo); diff != "" {
				t.Errorf("PreviewSQL (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreviewSQLProblems(t *testing.T) {
	tests := []struct {
		name    string
		p       *Pipeline
		dataset string
		limit   int
		want    []where
	}{
		{"unknown dataset", graphPipeline(nil), "nope", 5, []where{{"dataset", "nope", "name", "nope"}}},
		{"bad limit", graphPipeline([]Dataset{mvd("a", "SELECT 1")}), "a", 0, []where{{"preview", "", "limit", "0"}}},
		{"cycle upstream", graphPipeline([]Dataset{
			mvd("a", "SELECT * FROM b"), mvd("b", "SELECT * FROM a"), mvd("c", "SELECT * FROM a"),
		}), "c", 5, []where{{"dataset", "a", "query", "a -> b -> a"}}},
		{"streaming table without writers", graphPipeline([]Dataset{{Name: "t", Kind: StreamingTable}}), "t", 5,
			[]where{{"dataset", "t", "query", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PreviewSQL(tc.p, tc.dataset, tc.limit)
			if diff := cmp.Diff(tc.want, wheres(t, err), ignoreMemo); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("problems elsewhere do not block a preview", func(t *testing.T) {
		p := graphPipeline([]Dataset{mvd("a", "SELECT 1"), mvd("broken", "SELECT * FROM db.gone")})
		if _, err := PreviewSQL(p, "a", 5); err != nil {
			t.Errorf("PreviewSQL(a) = %v, want no error", err)
		}
	})
}

func TestPreviewQuerySQL(t *testing.T) {
	p := graphPipeline([]Dataset{mvd("up", "SELECT 1 AS id")})
	got, err := PreviewQuerySQL(p, "SELECT * FROM STREAM(up) JOIN ext USING (id)", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := "WITH `up` AS (\nSELECT * FROM (\nSELECT 1 AS id\n) AS `up`\n)\n" +
		"SELECT * FROM (\nSELECT * FROM `up` JOIN `cat`.`db`.`ext` USING (id)\n) AS `preview`\nLIMIT 3"
	if diff := cmp.Diff(want, got, ignoreMemo); diff != "" {
		t.Errorf("PreviewQuerySQL (-want +got):\n%s", diff)
	}
	_, err = PreviewQuerySQL(p, "SELECT 1) UNION (SELECT 2", 3)
	if diff := cmp.Diff([]where{{"query", "", "query", "SELECT 1) UNION (SELECT 2"}}, wheres(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestViolationCountSQLProblems(t *testing.T) {
	p := graphPipeline([]Dataset{mvd("a", "SELECT 1"), {Name: "t", Kind: StreamingTable,
		Expectations: []Expectation{{Name: "e", Condition: "x > 0", OnViolation: Warn}}}})
	for _, tc := range []struct {
		dataset string
		want    []where
	}{
		{"nope", []where{{"dataset", "nope", "name", "nope"}}},
		{"a", []where{{"dataset", "a", "expectations", ""}}},
		{"t", []where{{"dataset", "t", "query", ""}}},
	} {
		_, err := ViolationCountSQL(p, tc.dataset)
		if diff := cmp.Diff(tc.want, wheres(t, err), ignoreMemo); diff != "" {
			t.Errorf("ViolationCountSQL(%s) problems (-want +got):\n%s", tc.dataset, diff)
		}
	}
}

func TestViolationCountSQLInlinesTemporaryViews(t *testing.T) {
	p := graphPipeline([]Dataset{
		mvd("m", "SELECT 1 AS id"),
		{Name: "v", Kind: TemporaryView, Query: "SELECT * FROM m WHERE id > 0"},
		{Name: "out", Kind: MaterializedView, Query: "SELECT * FROM v JOIN m USING (id)",
			Expectations: []Expectation{{Name: "pos", Condition: "id > 1", OnViolation: Drop}}},
	})
	got, err := ViolationCountSQL(p, "out")
	if err != nil {
		t.Fatal(err)
	}
	want := "WITH `v` AS (\nSELECT * FROM (\nSELECT * FROM `cat`.`db`.`m` WHERE id > 0\n) AS `v`\n),\n" +
		"`__sdp_mcp_rows` AS (\nSELECT (id > 1) IS TRUE AS `e0` FROM (\nSELECT * FROM `v` JOIN `cat`.`db`.`m` USING (id)\n) AS `out`\n)\n" +
		"SELECT stack(1, 'pos', `p0`, `f0`) AS (`expectation`, `passed`, `failed`)\n" +
		"FROM (SELECT COUNT_IF(`e0`) AS `p0`, COUNT_IF(NOT `e0`) AS `f0` FROM `__sdp_mcp_rows`) AS `counts`"
	if diff := cmp.Diff(want, got, ignoreMemo); diff != "" {
		t.Errorf("ViolationCountSQL (-want +got):\n%s", diff)
	}
}
