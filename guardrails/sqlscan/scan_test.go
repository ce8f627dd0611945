package sqlscan

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rel renders a relation compactly: flags, then the name.
func rel(r Relation) string {
	var b strings.Builder
	if r.Stream {
		b.WriteString("stream ")
	}
	if r.Path {
		b.WriteString("path ")
	}
	if r.Dynamic {
		b.WriteString("dyn ")
	}
	if r.Function != "" {
		b.WriteString("fn " + r.Function)
	}
	b.WriteString(strings.Join(r.Parts, "|"))
	if r.TimeTravel {
		b.WriteString(" +tt")
	}
	if r.Options {
		b.WriteString(" +opt")
	}
	if r.Changes {
		b.WriteString(" +chg")
	}
	return b.String()
}

func rels(res *Result) []string {
	out := []string{}
	for _, r := range res.Relations {
		out = append(out, rel(r))
	}
	return out
}

func fns(res *Result) []string {
	out := []string{}
	for _, f := range res.Functions {
		out = append(out, strings.Join(f.Name, "|"))
	}
	return out
}

func TestScanRelations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// plain and qualified names
		{"single", "SELECT * FROM t", []string{"t"}},
		{"three part", "SELECT * FROM cat.sch.tbl", []string{"cat|sch|tbl"}},
		{"backquoted parts", "SELECT * FROM `a.b`.`c`", []string{"a.b|c"}},
		{"backquote escape", "SELECT * FROM `we``ird`", []string{"we`ird"}},
		{"case kept", "SELECT * FROM PROD.Finance.SALARIES", []string{"PROD|Finance|SALARIES"}},
		{"keyword as table name", "SELECT * FROM data.year", []string{"data|year"}},
		{"comment inside name", "SELECT * FROM a /* x */ . /* y */ b", []string{"a|b"}},
		{"no from", "SELECT 1, 'x', abs(-1)", []string{}},

		// aliases and joins
		{"aliases", "SELECT * FROM a AS x JOIN b y ON x.id = y.id", []string{"a", "b"}},
		{"alias column list", "SELECT * FROM a AS x(c1, c2), b y(c)", []string{"a", "b"}},
		{"comma joins", "SELECT * FROM a, b, c", []string{"a", "b", "c"}},
		{"comma after on", "SELECT * FROM a JOIN b ON a.k = b.k, c", []string{"a", "b", "c"}},
		{"join kinds", "SELECT * FROM a LEFT JOIN b ON 1=1 RIGHT OUTER JOIN c ON 1=1 FULL OUTER JOIN d ON 1=1 CROSS JOIN e INNER JOIN f ON 1=1 LEFT SEMI JOIN g ON 1=1 LEFT ANTI JOIN h ON 1=1 NATURAL JOIN i SEMI JOIN j ON 1=1 ANTI JOIN k ON 1=1",
			[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}},
		{"join using", "SELECT * FROM dev.s.a JOIN prod.s.b USING (id)", []string{"dev|s|a", "prod|s|b"}},
		{"nested relation", "SELECT * FROM (a JOIN b ON a.x = b.x) AS j, c", []string{"a", "b", "c"}},
		{"doubly nested relation", "SELECT * FROM ((a JOIN b ON true)) j", []string{"a", "b"}},
		{"lateral subquery", "SELECT * FROM a, LATERAL (SELECT * FROM b WHERE b.x = a.x) l", []string{"a", "b"}},
		{"join lateral", "SELECT * FROM a JOIN LATERAL (SELECT * FROM b) l ON true", []string{"a", "b"}},
		{"lateral view", "SELECT * FROM a LATERAL VIEW explode(a.arr) t AS c1, c2 LATERAL VIEW OUTER posexplode(m) u WHERE c1 > 0", []string{"a"}},
		{"lateral view then join keyword alias", "SELECT * FROM a LATERAL VIEW explode(x) t AS c JOIN b", []string{"a", "b"}},
		{"pivot", "SELECT * FROM a PIVOT (sum(v) AS s FOR k IN ('x' AS x, 'y')) p JOIN b ON true", []string{"a", "b"}},
		{"unpivot", "SELECT * FROM a UNPIVOT INCLUDE NULLS (v FOR k IN (c1, c2)) u, b", []string{"a", "b"}},
		{"tablesample", "SELECT * FROM a TABLESAMPLE (10 PERCENT) REPEATABLE (3) s JOIN b TABLESAMPLE (5 ROWS) ON true", []string{"a", "b"}},
		{"bucket sample", "SELECT * FROM a TABLESAMPLE (BUCKET 1 OUT OF 4 ON rand()) JOIN b", []string{"a", "b"}},
		{"watermark", "SELECT * FROM STREAM(e) WATERMARK ts DELAY OF INTERVAL 10 MINUTES w JOIN b ON true", []string{"stream e", "b"}},

		// subqueries
		{"in subquery", "SELECT * FROM dev.s.a WHERE id IN (SELECT id FROM prod.s.b)", []string{"dev|s|a", "prod|s|b"}},
		{"exists subquery", "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM b WHERE b.x = a.x) AND NOT EXISTS(SELECT 1 FROM c)", []string{"a", "b", "c"}},
		{"scalar subquery in select", "SELECT (SELECT max(x) FROM b) AS m, coalesce((SELECT 1 FROM c), 0) FROM a", []string{"b", "c", "a"}},
		{"derived table", "SELECT * FROM (SELECT * FROM (SELECT * FROM deep) d1) d2", []string{"deep"}},
		{"set operations", "SELECT a FROM x UNION ALL SELECT a FROM y INTERSECT SELECT a FROM z EXCEPT SELECT a FROM w MINUS SELECT a FROM v", []string{"x", "y", "z", "w", "v"}},
		{"parenthesised set operation", "SELECT * FROM ((SELECT * FROM x) UNION (SELECT * FROM y)) u", []string{"x", "y"}},
		{"subquery in join condition", "SELECT * FROM a JOIN b ON b.k IN (SELECT k FROM c)", []string{"a", "b", "c"}},
		{"subquery in having", "SELECT k FROM a GROUP BY k HAVING count(*) > (SELECT count(*) FROM b)", []string{"a", "b"}},
		{"subquery in case", "SELECT CASE WHEN x IN (SELECT y FROM b) THEN 1 END FROM a", []string{"b", "a"}},
		{"subquery in function argument", "SELECT size(array((SELECT x FROM b))) FROM a", []string{"b", "a"}},
		{"table query", "TABLE t", []string{"t"}},
		{"table in set operation", "SELECT * FROM a UNION ALL TABLE b", []string{"a", "b"}},
		{"values query", "VALUES (1), (2)", []string{}},
		{"hive style from first", "FROM src SELECT a, b WHERE c > 1", []string{"src"}},
		{"hive from with join", "FROM a JOIN b ON a.x=b.x SELECT *", []string{"a", "b"}},

		// CTEs
		{"cte name is not a relation", "WITH prod_b AS (SELECT 1 AS id) SELECT * FROM prod_b", []string{}},
		{"cte body reads", "WITH x AS (SELECT * FROM t1) SELECT * FROM x JOIN t2 ON true", []string{"t1", "t2"}},
		{"cte sees earlier cte", "WITH x AS (SELECT 1), y AS (SELECT * FROM x) SELECT * FROM y", []string{}},
		{"cte does not see later cte", "WITH y AS (SELECT * FROM x), x AS (SELECT 1) SELECT * FROM y", []string{"x"}},
		{"non-recursive cte does not see itself", "WITH t AS (SELECT * FROM t) SELECT * FROM t", []string{"t"}},
		{"recursive cte sees itself", "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", []string{}},
		{"cte case insensitive", "WITH Foo AS (SELECT 1) SELECT * FROM FOO", []string{}},
		{"cte backquoted", "WITH `my cte` AS (SELECT 1) SELECT * FROM `my cte`", []string{}},
		{"cte qualified name is a table", "WITH t AS (SELECT 1) SELECT * FROM db.t", []string{"db|t"}},
		{"cte column list", "WITH c (a, b) AS (SELECT 1, 2) SELECT * FROM c", []string{}},
		{"cte without as", "WITH c (SELECT 1) SELECT * FROM c", []string{}},
		{"cte scope ends with its parentheses", "SELECT * FROM (WITH q AS (SELECT 1) SELECT * FROM q) s JOIN q ON true", []string{"q"}},
		{"inner cte scope ends at outer cte body", "WITH a AS (WITH b AS (SELECT 1) SELECT * FROM b) SELECT * FROM a, b", []string{"b"}},
		{"cte in subquery expression", "SELECT * FROM t WHERE x IN (WITH c AS (SELECT 1) SELECT * FROM c) AND y IN (SELECT * FROM c)", []string{"t", "c"}},
		{"cte visible in nested subquery", "WITH c AS (SELECT 1) SELECT * FROM (SELECT * FROM c) s WHERE EXISTS (SELECT 1 FROM c)", []string{}},
		{"cte across set operation", "WITH c AS (SELECT 1) SELECT * FROM c UNION ALL SELECT * FROM c", []string{}},
		{"table of cte", "WITH c AS (SELECT 1) TABLE c", []string{}},
		{"cte max recursion", "WITH RECURSIVE r MAX RECURSION LEVEL 10 AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r, t", []string{"t"}},
		{"with rollup is not a cte", "SELECT a FROM t GROUP BY a WITH ROLLUP", []string{"t"}},

		// streaming and special relations
		{"stream parens", "SELECT * FROM STREAM(dev.s.events)", []string{"stream dev|s|events"}},
		{"stream bare", "SELECT * FROM STREAM dev.s.events e JOIN b ON true", []string{"stream dev|s|events", "b"}},
		{"stream lower case", "SELECT * FROM stream(ev) AS e", []string{"stream ev"}},
		{"stream of a keyword-named table", "SELECT * FROM stream WHERE x", []string{"stream WHERE"}},
		{"stream as", "SELECT * FROM stream AS s", []string{"stream AS"}},
		{"table named stream", "SELECT * FROM stream JOIN t ON true", []string{"stream", "t"}},
		{"stream of cte is reported", "WITH c AS (SELECT 1) SELECT * FROM STREAM(c)", []string{"stream c"}},
		{"tvf", "SELECT * FROM range(10) AS r(id)", []string{"fn range"}},
		{"tvf qualified", "SELECT * FROM system.builtin.range(1, 2)", []string{"fn system.builtin.range"}},
		{"tvf with table argument", "SELECT * FROM my_tvf(TABLE(prod.t), TABLE prod.u PARTITION BY a ORDER BY b, x => 1)", []string{"fn my_tvf", "prod|t", "prod|u"}},
		{"tvf with table subquery argument", "SELECT * FROM f(TABLE (SELECT * FROM prod.v))", []string{"fn f", "prod|v"}},
		{"tvf then comma", "SELECT * FROM range(3), t", []string{"fn range", "t"}},
		{"read_files", "SELECT * FROM read_files('/x')", []string{"fn read_files"}},
		{"inline table", "SELECT * FROM VALUES (1, 2), (3, 4) AS v(a, b), t", []string{"t"}},
		{"inline table without alias keyword", "SELECT * FROM VALUES 1, 2 v JOIN t ON true", []string{"t"}},
		{"identifier clause", "SELECT * FROM IDENTIFIER('prod.hr.salaries')", []string{"dyn prod|hr|salaries"}},
		{"identifier clause backquoted", "SELECT * FROM IDENTIFIER('`c.d`.e') JOIN IDENTIFIER('`a``b`.c') ON true", []string{"dyn c.d|e", "dyn a`b|c"}},
		{"identifier clause expression", "SELECT * FROM IDENTIFIER('a' || '.b')", []string{"dyn "}},
		{"identifier clause malformed", "SELECT * FROM IDENTIFIER('a..b'), IDENTIFIER('`a')", []string{"dyn ", "dyn "}},
		{"table identifier clause", "TABLE IDENTIFIER('x.y')", []string{"dyn x|y"}},
		{"identifier clause table function", "SELECT * FROM IDENTIFIER('range')(3)", []string{"dyn fn IDENTIFIER"}},

		// path-based reads
		{"path backquoted", "SELECT * FROM parquet.`/etc/passwd`", []string{"path parquet|/etc/passwd"}},
		{"path file uri", "SELECT * FROM text.`file:///etc/passwd`", []string{"path text|file:///etc/passwd"}},
		{"path unquoted uri", "SELECT * FROM text.file:///etc/passwd", []string{"path text|file:///etc/passwd"}},
		{"path s3", "SELECT * FROM json.`s3a://other-bucket/`", []string{"path json|s3a://other-bucket/"}},
		{"path delta", "SELECT * FROM delta.`/mnt/prod/x`", []string{"path delta|/mnt/prod/x"}},
		{"path binary file glob", "SELECT * FROM binaryFile.`//etc/*.conf`", []string{"path binaryFile|//etc/*.conf"}},
		{"format with plain name", "SELECT * FROM csv.data", []string{"path csv|data"}},
		{"class name format", "SELECT * FROM `org.apache.spark.sql.parquet`.x", []string{"path org.apache.spark.sql.parquet|x"}},
		{"file format class", "SELECT * FROM `com.example.MyFileFormat`.x", []string{"path com.example.MyFileFormat|x"}},
		{"three part is not a file format read", "SELECT * FROM cat.parquet.t", []string{"cat|parquet|t"}},

		// time travel and options
		{"version as of", "SELECT * FROM dev.s.a VERSION AS OF 1", []string{"dev|s|a +tt"}},
		{"timestamp as of with alias", "SELECT * FROM a TIMESTAMP AS OF '2024-01-01' x JOIN b ON true", []string{"a +tt", "b"}},
		{"for system_time", "SELECT * FROM a FOR SYSTEM_TIME AS OF current_timestamp() - INTERVAL 1 DAY, b", []string{"a +tt", "b"}},
		{"for system_version", "SELECT * FROM a FOR SYSTEM_VERSION AS OF 3 z", []string{"a +tt"}},
		{"options clause", "SELECT * FROM dev.s.a WITH ('path'='/etc') x", []string{"dev|s|a +opt"}},
		{"stream options", "SELECT * FROM STREAM(e) WITH ('maxFilesPerTrigger'=1)", []string{"stream e +opt"}},

		// FROM that is not a relation
		{"extract trim substring overlay", "SELECT EXTRACT(YEAR FROM ts), TRIM(BOTH 'x' FROM s), TRIM(LEADING FROM s), SUBSTRING(s FROM 1 FOR 2), substr(s FROM 2), OVERLAY(a PLACING b FROM 2 FOR 1) FROM dev.s.a",
			[]string{"dev|s|a"}},
		{"is distinct from", "SELECT a IS DISTINCT FROM b, a IS NOT DISTINCT FROM c, a IS ! DISTINCT FROM d FROM t", []string{"t"}},
		{"subquery inside extract", "SELECT extract(YEAR FROM (SELECT max(ts) FROM prod.x)) FROM t", []string{"prod|x", "t"}},
		{"position in", "SELECT position('a' IN s) FROM t", []string{"t"}},

		// pipe syntax
		{"pipe join", "FROM a |> WHERE x > 1 |> LEFT JOIN b ON a.k = b.k |> JOIN c USING (k) |> SELECT x", []string{"a", "b", "c"}},
		{"pipe union table", "TABLE a |> UNION ALL (SELECT * FROM b) |> AS t |> SET x = 1 |> DROP y", []string{"a", "b"}},

		// keyword traps and conservative reports
		{"keyword where as relation", "SELECT * FROM where", []string{"where"}},
		{"keyword select after from is reported and scanned", "SELECT * FROM SELECT * FROM t", []string{"SELECT", "t"}},
		{"column named table", "SELECT table FROM t", []string{"t"}},
		{"column named table in list", "SELECT a, table, b FROM t", []string{"t"}},
		{"table of keyword name", "SELECT * FROM (TABLE from)", []string{"from"}},

		// Spark 4.3 syntax
		{"at version", "SELECT * FROM t@v3 x, cat.db.u@20240101000000000 JOIN w ON true", []string{"t +tt", "cat|db|u +tt", "w"}},
		{"changes", "SELECT * FROM t CHANGES FROM VERSION 1 TO VERSION 3 x JOIN u ON true", []string{"t +chg", "u"}},
		{"changes timestamp", "SELECT * FROM STREAM t CHANGES FROM TIMESTAMP '2024-01-01', v", []string{"stream t +chg", "v"}},
		{"changes as alias", "SELECT * FROM STREAM(t) CHANGES", []string{"stream t"}},
		{"tablesample system", "SELECT * FROM t TABLESAMPLE SYSTEM (10 PERCENT) s, u TABLESAMPLE BERNOULLI (1 PERCENT)", []string{"t", "u"}},
		{"qualify", "SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1", []string{"t"}},
		{"unnest", "SELECT * FROM t, UNNEST(t.arr) WITH ORDINALITY AS u(x, n)", []string{"t", "fn UNNEST"}},
		{"json_table", "SELECT * FROM json_table(t.j, '$' COLUMNS (a INT PATH '$.a')) jt, t", []string{"fn json_table", "t"}},
		{"asof is an alias", "SELECT * FROM a ASOF JOIN b ON a.k = b.k", []string{"a", "b"}},

		// script transform and friends still expose their relations
		{"transform query", "SELECT TRANSFORM(a) USING 'cat' AS (b) FROM t", []string{"t"}},
		{"map reduce", "FROM t MAP a USING 'cat' AS b", []string{"t"}},
		{"statement tables are seen", "CACHE TABLE t; DROP TABLE u", []string{"t", "u"}},
		{"insert source", "INSERT INTO x SELECT * FROM y", []string{"y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(tc.src)
			if err != nil {
				t.Fatalf("Scan(%q) error: %v", tc.src, err)
			}
			if diff := cmp.Diff(tc.want, rels(res)); diff != "" {
				t.Errorf("Scan(%q) relations (-want +got):\n%s", tc.src, diff)
			}
		})
	}
}

func TestScanFunctions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"simple", "SELECT abs(x), upper(trim(s)) FROM t", []string{"abs", "upper", "trim"}},
		{"backquoted with comment", "SELECT `ReFlEcT` /*x*/ ('a','b')", []string{"ReFlEcT"}},
		{"qualified", "SELECT system.builtin.try_reflect('a'), builtin.java_method('a')", []string{"system|builtin|try_reflect", "builtin|java_method"}},
		{"keyword functions", "SELECT if(a, 1, 2), left(s, 2), right(s, 1), map(1, 2), array(1), struct(1), date_add(d, 1), current_date()", []string{"if", "left", "right", "map", "array", "struct", "date_add", "current_date"}},
		{"cast and type", "SELECT CAST(x AS DECIMAL(10, 2)), TRY_CAST(y AS STRUCT<a: INT, b: MAP<STRING, ARRAY<INT>>>), z::VARCHAR(3), w::INTERVAL DAY TO SECOND",
			[]string{"CAST", "TRY_CAST"}},
		{"timestamp type", "SELECT CAST(x AS TIMESTAMP WITHOUT TIME ZONE), y::timestamp_ntz", []string{"CAST"}},
		{"higher order", "SELECT transform(arr, x -> x + 1), filter(arr, x -> x > 0), aggregate(arr, 0, (acc, x) -> acc + x), exists(arr, x -> x = 1), reduce(arr, 0, (a, b) -> a + b)",
			[]string{"transform", "filter", "aggregate", "exists", "reduce"}},
		{"aggregate filter and window", "SELECT count(*) FILTER (WHERE a > 1) OVER (PARTITION BY k ORDER BY o ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
			[]string{"count"}},
		{"within group", "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t", []string{"percentile_cont"}},
		{"structural keywords are not calls", "SELECT * FROM t WHERE a IN (1, 2) AND NOT (b) OR EXISTS (SELECT 1) GROUP BY ROLLUP (a), CUBE (b), GROUPING SETS ((a), (b))",
			[]string{}},
		{"grouping is a function", "SELECT grouping(a), grouping_id() FROM t GROUP BY GROUPING SETS ((a))", []string{"grouping", "grouping_id"}},
		{"like any", "SELECT * FROM t WHERE a LIKE ANY ('x%', 'y%') AND b NOT LIKE ALL ('z')", []string{}},
		{"any aggregate", "SELECT any(flag), some(flag) FROM t", []string{"any", "some"}},
		{"tvf not a function", "SELECT * FROM range(3) r, explode_outer_tvf(x)", []string{}},
		{"lateral view generator is a function", "SELECT * FROM t LATERAL VIEW explode(a) e", []string{"explode"}},
		{"identifier clause", "SELECT IDENTIFIER('reflect')('a')", []string{"IDENTIFIER"}},
		{"alias column list is not a call", "SELECT * FROM t AS x(a, b)", []string{}},
		{"cte column list is not a call", "WITH c(a, b) AS (SELECT 1, 2) SELECT * FROM c", []string{}},
		{"star except", "SELECT * EXCEPT (a, b) FROM t", []string{}},
		{"values rows", "VALUES (1, 2), (3, 4)", []string{}},
		{"hint contents are not calls", "SELECT /*+ BROADCAST(t) */ * FROM t", []string{}},
		{"comment contents are not calls", "SELECT /* reflect('a') */ 1 -- java_method('b')\n", []string{}},
		{"string contents are not calls", "SELECT 'reflect(1)'", []string{}},
		{"extract is a call", "SELECT extract(YEAR FROM ts)", []string{"extract"}},
		{"script transform", "SELECT TRANSFORM(a, b) USING 'cat' FROM t", []string{"TRANSFORM"}},
		{"window function and clause", "SELECT window(ts, '5 minutes'), sum(x) OVER w FROM t GROUP BY 1 WINDOW w AS (ORDER BY ts)", []string{"window", "sum"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(tc.src)
			if err != nil {
				t.Fatalf("Scan(%q) error: %v", tc.src, err)
			}
			if diff := cmp.Diff(tc.want, fns(res)); diff != "" {
				t.Errorf("Scan(%q) functions (-want +got):\n%s", tc.src, diff)
			}
		})
	}
}

func TestScanCTEs(t *testing.T) {
	res, err := Scan("WITH a AS (WITH b AS (SELECT 1) SELECT * FROM b), `c d` (x) AS (SELECT 2) SELECT * FROM a, (WITH e AS (SELECT 3) SELECT * FROM e)")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c d", "e"}, res.CTEs); diff != "" {
		t.Errorf("CTEs (-want +got):\n%s", diff)
	}
	if res.Recursive {
		t.Error("Recursive = true without RECURSIVE")
	}
	res, _ = Scan("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r")
	if !res.Recursive {
		t.Error("Recursive = false for WITH RECURSIVE")
	}
}

func TestScanSpans(t *testing.T) {
	src := "SELECT f(x)\nFROM  `a`.b AS t, range(3)"
	res, err := Scan(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Relations) != 2 || len(res.Functions) != 1 {
		t.Fatalf("got %v %v", rels(res), fns(res))
	}
	r := res.Relations[0]
	if got := src[r.Start.Offset:r.End.Offset]; got != "`a`.b" || r.Start.String() != "2:7" {
		t.Errorf("relation span %q at %v", got, r.Start)
	}
	r = res.Relations[1]
	if got := src[r.Start.Offset:r.End.Offset]; got != "range" {
		t.Errorf("tvf span %q", got)
	}
	f := res.Functions[0]
	if got := src[f.Start.Offset:f.End.Offset]; got != "f" || f.Start.String() != "1:8" {
		t.Errorf("function span %q at %v", got, f.Start)
	}
}

func TestScanErrors(t *testing.T) {
	res, err := Scan("SELECT * FROM t WHERE s = 'abc")
	var e *Error
	if !errors.As(err, &e) || e.Rule != RuleUnclosedString {
		t.Errorf("unclosed string: err = %v", err)
	}
	if res == nil || len(res.Relations) != 1 {
		t.Errorf("partial result lost: %+v", res)
	}

	deep := strings.Repeat("(", MaxDepth+5) + "SELECT 1" + strings.Repeat(")", MaxDepth+5)
	res, err = Scan(deep)
	if !errors.As(err, &e) || e.Rule != RuleTooDeep {
		t.Errorf("deep nesting: err = %v", err)
	}
	if res == nil || len(res.Tokens) != 2*(MaxDepth+5)+2 {
		t.Errorf("deep nesting: tokens lost")
	}

	ok := strings.Repeat("(", 200) + "SELECT * FROM t" + strings.Repeat(")", 200)
	res, err = Scan(ok)
	if err != nil || len(res.Relations) != 1 {
		t.Errorf("200 levels: %v %v", err, rels(res))
	}
}

// TestScanNeverStalls runs the scanner over inputs made of structural
// fragments in unusual orders; it must end and never panic.
func TestScanNeverStalls(t *testing.T) {
	frags := []string{"(", ")", ",", "FROM", "JOIN", "WITH", "AS", "TABLE", "STREAM", "LATERAL", "VIEW",
		"VALUES", "SELECT", "x", "ON", "USING", "::", "CAST", "<", ">", "VERSION", "OF", "WATERMARK",
		"DELAY", "TABLESAMPLE", "IDENTIFIER", "INTERVAL", "CASE", "END", "[", "]", "|>", "EXISTS", "RECURSIVE"}
	// Every pair and triple of fragments.
	for _, a := range frags {
		for _, b := range frags {
			for _, c := range frags {
				src := a + " " + b + " " + c
				if _, err := Scan(src); err != nil {
					var e *Error
					if !errors.As(err, &e) {
						t.Fatalf("Scan(%q): non-*Error %v", src, err)
					}
				}
			}
		}
	}
}

func TestScannerReuse(t *testing.T) {
	var s Scanner
	for _, src := range []string{"SELECT * FROM a JOIN b ON true", "SELECT 1", "WITH c AS (SELECT * FROM d) SELECT * FROM c, e"} {
		got, err := s.Scan(src)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Scan(src)
		if diff := cmp.Diff(rels(want), rels(got)); diff != "" {
			t.Errorf("Scanner.Scan(%q) relations differ (-Scan +Scanner):\n%s", src, diff)
		}
		if diff := cmp.Diff(kt(want.Tokens), kt(got.Tokens)); diff != "" {
			t.Errorf("Scanner.Scan(%q) tokens differ:\n%s", src, diff)
		}
	}
}
