package pipeline

import (
	"strings"
	"testing"
)

func TestRenderType(t *testing.T) {
	for in, want := range map[string]string{
		"int":                       "int",
		"decimal(10,2)":             "decimal(10,2)",
		"string collate UNICODE_CI": "string collate UNICODE_CI",
		"interval day to second":    "interval day to second",
		"interval year":             "interval year",
		"array<struct<x:int,seen:timestamp_ntz>>": "array<struct<`x`:int,`seen`:timestamp_ntz>>",
		"map<string,array<int>>":                  "map<string,array<int>>",
		"struct<a:struct<b:varchar(5)>>":          "struct<`a`:struct<`b`:varchar(5)>>",
		"time(6)":                                 "time(6)",
		"variant":                                 "variant",
	} {
		got, ok := renderType(in)
		if !ok || got != want {
			t.Errorf("renderType(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	// Field names that are not plain identifiers, and anything outside the
	// grammar, are refused: nothing but the renderer's own tokens reaches
	// the SQL.
	for _, in := range []string{
		"struct<a b:int>", "struct<int>) AS c, (SELECT * FROM t:int>", "struct<`a`:int>",
		"int)", "int, x", "unknown", "array<int", "map<int>", "struct<>", "decimal(100,2)",
		"string collate x) --", "int\n", "",
	} {
		if got, ok := renderType(in); ok {
			t.Errorf("renderType(%q) = %q, accepted", in, got)
		}
	}
}

func TestStandInSQL(t *testing.T) {
	cols := map[string][]StandInColumn{
		"up":    {{Name: "id", Type: "bigint"}, {Name: "we`ird", Type: "struct<x:int>", Nullable: true}},
		"other": {{Name: "d", Type: "decimal(10,2)"}},
	}
	got, ok := StandInSQL("SELECT * FROM `up` JOIN `other`", []string{"other", "up"}, func(r string) []StandInColumn { return cols[r] })
	want := "WITH `other` AS (SELECT CAST(NULL AS decimal(10,2)) AS `d` WHERE false),\n" +
		"`up` AS (SELECT 0L AS `id`, CAST(NULL AS struct<`x`:int>) AS `we``ird` WHERE false)\n" +
		"SELECT * FROM (\nSELECT * FROM `up` JOIN `other`\n) AS `preview`"
	if !ok || got != want {
		t.Errorf("StandInSQL =\n%s\nwant\n%s", got, want)
	}
	for _, bad := range [][]StandInColumn{nil, {{Name: "a\nb", Type: "int"}}, {{Name: "a", Type: "struct<a b:int>"}}} {
		if s, ok := StandInSQL("SELECT 1", []string{"up"}, func(string) []StandInColumn { return bad }); ok {
			t.Errorf("stand-in for %+v accepted: %s", bad, s)
		}
	}
	if s, _ := StandInSQL("SELECT 1", nil, nil); !strings.HasPrefix(s, "SELECT * FROM (\n") {
		t.Errorf("no reads: %q", s)
	}
}
