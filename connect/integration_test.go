//go:build integration

package connect_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

func dec(s string, precision int32) connect.Decimal {
	scale := int32(0)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = int32(len(s) - i - 1)
		s = s[:i] + s[i+1:]
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad decimal " + s)
	}
	return connect.Decimal{Unscaled: v, Scale: scale, Precision: precision}
}

// TestTypesRoundTrip selects a literal of every Spark SQL type, with NULLs at
// every level, and checks each decoded value exactly, and the column types.
func TestTypesRoundTrip(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 2*time.Minute)
	if err := c.SetConf(ctx, map[string]string{"spark.sql.session.timeZone": "UTC"}); err != nil {
		t.Fatal(err)
	}
	type col struct {
		expr, name, typ string
		want            any
	}
	cols := []col{
		{"CAST(-128 AS TINYINT)", "i8", "tinyint", int8(-128)},
		{"CAST(32767 AS SMALLINT)", "i16", "smallint", int16(32767)},
		{"-2147483648", "i32", "int", int32(-2147483648)},
		{"CAST(-9223372036854775808 AS BIGINT)", "i64", "bigint", int64(-9223372036854775808)},
		{"CAST(1.5 AS FLOAT)", "f32", "float", float32(1.5)},
		{"CAST(-2.2250738585072014E-308 AS DOUBLE)", "f64", "double", -2.2250738585072014e-308},
		{"CAST('-12345678901234567890.123456789012345678' AS DECIMAL(38,18))", "d38", "decimal(38,18)", dec("-12345678901234567890.123456789012345678", 38)},
		{"CAST(0 AS DECIMAL(5,2))", "d0", "decimal(5,2)", dec("0.00", 5)},
		{"'héllo, 世界'", "str", "string", "héllo, 世界"},
		{"X'00DEADBEEF'", "bin", "binary", []byte{0, 0xde, 0xad, 0xbe, 0xef}},
		{"true", "bool", "boolean", true},
		{"DATE'1969-07-20'", "dt", "date", time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC)},
		{"TIMESTAMP'1969-07-20 20:17:40.123456'", "ts", "timestamp", time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)},
		{"TIMESTAMP_NTZ'2024-02-29 23:59:59.999999'", "ntz", "timestamp_ntz", time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)},
		{"INTERVAL '-1-2' YEAR TO MONTH", "ym", "interval year to month", connect.YearMonthInterval{Months: -14}},
		{"INTERVAL '1 02:03:04.000005' DAY TO SECOND", "dts", "interval day to second", 26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Microsecond},
		{"ARRAY(1, NULL, 3)", "arr", "array<int>", []any{int32(1), nil, int32(3)}},
		{"ARRAY(ARRAY('a'), NULL, ARRAY())", "arr2", "array<array<string>>", []any{[]any{"a"}, nil, []any{}}},
		{"MAP('a', 1, 'b', NULL)", "m", "map<string,int>", []connect.MapEntry{{Key: "a", Value: int32(1)}, {Key: "b", Value: nil}}},
		{"MAP(X'01', ARRAY(DATE'2000-01-01'))", "mb", "map<binary,array<date>>", []connect.MapEntry{{Key: []byte{1}, Value: []any{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
		{"NAMED_STRUCT('x', 1, 'y', CAST(NULL AS STRING), 'z', ARRAY(NAMED_STRUCT('k', MAP(1, 'v')), NULL))", "st",
			"struct<x:int,y:string,z:array<struct<k:map<int,string>>>>",
			connect.Row{int32(1), nil, []any{connect.Row{[]connect.MapEntry{{Key: int32(1), Value: "v"}}}, nil}}},
		{"CAST(NULL AS STRUCT<a: INT>)", "nst", "struct<a:int>", nil},
		{"CAST(NULL AS BIGINT)", "nl", "bigint", nil},
		{"NULL", "void", "void", nil},
	}
	var exprs []string
	for _, cl := range cols {
		exprs = append(exprs, cl.expr+" AS "+cl.name)
	}
	res, err := c.Collect(ctx, connect.SQL("SELECT "+strings.Join(exprs, ", ")), connect.ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(cols) {
		t.Fatalf("got %d rows of %v, want 1 row of %d values", len(res.Rows), res.Rows, len(cols))
	}
	decEq := cmp.Comparer(func(a, b connect.Decimal) bool { return a.Equal(b) && a.Precision == b.Precision })
	for i, cl := range cols {
		got := res.Rows[0][i]
		if diff := cmp.Diff(cl.want, got, decEq); diff != "" {
			t.Errorf("%s (%s): value mismatch (-want +got):\n%s", cl.name, cl.expr, diff)
		}
		if res.Columns[i].Name != cl.name || res.Columns[i].Type != cl.typ {
			t.Errorf("column %d = %s %s, want %s %s", i, res.Columns[i].Name, res.Columns[i].Type, cl.name, cl.typ)
		}
	}
}

// TestCalendarInterval checks the legacy interval type, which Spark sends as
// an Arrow month-day-nano interval.
func TestCalendarInterval(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	res, err := c.Collect(ctx, connect.SQL("SELECT MAKE_INTERVAL(1, 2, 0, 3, 4, 5, 6.000007) AS iv"), connect.ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := connect.CalendarInterval{Months: 14, Days: 3, Nanoseconds: int64(4*time.Hour + 5*time.Minute + 6*time.Second + 7*time.Microsecond)}
	if diff := cmp.Diff(want, res.Rows[0][0]); diff != "" {
		t.Errorf("interval (-want +got):\n%s", diff)
	}
	if res.Columns[0].Type != "interval" {
		t.Errorf("type %q, want interval", res.Columns[0].Type)
	}
}

func TestManyRowsAcrossBatches(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 2*time.Minute)
	const n = 200_000
	res, err := c.Collect(ctx, connect.SQL("SELECT id, CAST(id AS STRING) AS s FROM RANGE(200000)"), connect.ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != n {
		t.Fatalf("got %d rows, want %d", len(res.Rows), n)
	}
	for i, r := range res.Rows {
		if r[0] != int64(i) {
			t.Fatalf("row %d: id %v", i, r[0])
		}
	}
}

func TestMissingTable(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	_, err := c.Collect(ctx, connect.SQL("SELECT * FROM no_such_db.no_such_table"), connect.ExecOptions{})
	var se *connect.SparkError
	if !errors.As(err, &se) {
		t.Fatalf("got %T %v, want *connect.SparkError", err, err)
	}
	if se.ErrorClass != "TABLE_OR_VIEW_NOT_FOUND" || se.SQLState != "42P01" {
		t.Errorf("class %q sqlstate %q, want TABLE_OR_VIEW_NOT_FOUND 42P01 (%v)", se.ErrorClass, se.SQLState, se)
	}
	if got := se.MessageParameters["relationName"]; !strings.Contains(got, "no_such_table") {
		t.Errorf("relationName = %q, want the missing table (params %v)", got, se.MessageParameters)
	}
	if connect.ErrorClassOf(err) != "TABLE_OR_VIEW_NOT_FOUND" {
		t.Errorf("ErrorClassOf = %q", connect.ErrorClassOf(err))
	}
	// The schema path (AnalyzePlan) reports the same class.
	_, err = c.Schema(ctx, connect.SQL("SELECT * FROM no_such_table"))
	if connect.ErrorClassOf(err) != "TABLE_OR_VIEW_NOT_FOUND" {
		t.Errorf("Schema error class = %q (%v)", connect.ErrorClassOf(err), err)
	}
}

func TestUnresolvedColumnHasQueryContext(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	_, err := c.Collect(ctx, connect.SQL("SELECT nope FROM RANGE(3)"), connect.ExecOptions{})
	var se *connect.SparkError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a SparkError", err)
	}
	if !strings.HasPrefix(se.ErrorClass, "UNRESOLVED_COLUMN") {
		t.Errorf("class %q, want UNRESOLVED_COLUMN.*", se.ErrorClass)
	}
	if len(se.QueryContexts) == 0 || se.QueryContexts[0].Fragment != "nope" {
		t.Errorf("query contexts %+v, want the fragment \"nope\" (from FetchErrorDetails)", se.QueryContexts)
	}
}

// longQuery runs for many minutes on the sandbox and returns nothing. It has
// no shuffle on purpose: Spark submits the shuffle stages of an adaptive plan
// from other threads, and an interrupt that lands while the query is still
// being planned does not stop a stage submitted after it. That orphaned
// job then holds every core of the shared test sandbox until it stops
// (Spark behaviour, seen once on a SUM over this cross join). The broadcast
// of the small side may still be submitted late, but it takes milliseconds;
// the long join runs in the final stage, in the operation's own thread,
// which the interrupt reaches.
const longQuery = "SELECT a.id FROM RANGE(1000000000) a CROSS JOIN RANGE(1000) b WHERE a.id % 7 + b.id % 3 = 100"

// TestDeadlineInterrupts runs a query that would take many minutes under a
// short deadline: the call must return promptly, and the operation must no
// longer run on the server.
func TestDeadlineInterrupts(t *testing.T) {
	c := sparktest.Client(t)
	const tag = "deadline-test"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	t0 := time.Now()
	_, err := c.Collect(ctx, connect.SQL(longQuery), connect.ExecOptions{Tags: []string{tag}})
	elapsed := time.Since(t0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if elapsed > 15*time.Second {
		t.Errorf("returned after %v; the deadline was 3s", elapsed)
	}
	check := sparktest.Context(t, 30*time.Second)
	ids, err := c.InterruptTag(check, tag)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("operations %v with tag %q were still running after the deadline", ids, tag)
	}
	// The session stays usable.
	res, err := c.Collect(check, connect.SQL("SELECT 42"), connect.ExecOptions{})
	if err != nil || res.Rows[0][0] != int32(42) {
		t.Fatalf("session unusable after interrupt: %v %v", res, err)
	}
}

func TestInterruptByTagFromAnotherGoroutine(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 2*time.Minute)
	const tag = "cancel-me"
	done := make(chan error, 1)
	go func() {
		_, err := c.Collect(ctx, connect.SQL(longQuery), connect.ExecOptions{Tags: []string{tag}})
		done <- err
	}()
	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		var err error
		if ids, err = c.InterruptTag(ctx, tag); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("interrupted %v, want exactly the one running operation", ids)
	}
	select {
	case err := <-done:
		if connect.ErrorClassOf(err) != "OPERATION_CANCELED" && !strings.Contains(strings.ToLower(err.Error()), "cancel") {
			t.Errorf("interrupted query returned %v, want a cancellation error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("interrupted query did not return")
	}
}

func TestWrongTokenRefused(t *testing.T) {
	inst := sparktest.Sandbox(t)
	url := strings.Replace(inst.URL(), "token="+inst.Token, "token=wrong-token", 1)
	if url == inst.URL() {
		t.Fatalf("sandbox URL %s carries no token", inst.RedactedURL())
	}
	c, err := connect.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.SparkVersion(sparktest.Context(t, 30*time.Second))
	var se *connect.SparkError
	if !errors.As(err, &se) || !se.Unauthenticated() {
		t.Fatalf("got %v, want an UNAUTHENTICATED SparkError", err)
	}
	if !strings.Contains(err.Error(), "token") {
		t.Errorf("error %q does not tell the user to check the token", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error %q echoes the token", err)
	}
}

func TestAnalyze(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	v, err := c.SparkVersion(ctx)
	if err != nil || !strings.HasPrefix(v, "4.") {
		t.Fatalf("SparkVersion = %q, %v", v, err)
	}
	p := connect.SQL("SELECT id, CAST(id AS DECIMAL(10,2)) AS d, ARRAY(id) AS a FROM RANGE(5) WHERE id > 1")
	cols, err := c.Schema(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []connect.Column{{Name: "id", Type: "bigint"}, {Name: "d", Type: "decimal(10,2)", Nullable: true}, {Name: "a", Type: "array<bigint>"}}
	if diff := cmp.Diff(want, cols); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	// Struct columns: each one's fields, with their own nullability.
	fields, err := c.StructFields(ctx, connect.SQL("SELECT struct(q.*) AS a, struct(1 AS one) AS b FROM ("+
		"SELECT id, CAST(id AS DECIMAL(10,2)) AS d, ARRAY(id) AS a FROM RANGE(5) WHERE id > 1) AS q"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]connect.Column{want, {{Name: "one", Type: "int"}}}, fields); diff != "" {
		t.Errorf("struct fields (-want +got):\n%s", diff)
	}
	if _, err := c.StructFields(ctx, connect.SQL("SELECT struct(1 AS one) AS b, 2 AS n")); err == nil || !strings.Contains(err.Error(), "not a struct") {
		t.Errorf("StructFields of a plan with a column that is not a struct: %v", err)
	}
	for mode, marker := range map[connect.ExplainMode]string{
		connect.ExplainSimple: "Physical Plan", connect.ExplainExtended: "Analyzed Logical Plan",
		connect.ExplainCodegen: "Generated code", connect.ExplainCost: "Optimized Logical Plan",
		connect.ExplainFormatted: "Physical Plan",
	} {
		s, err := c.Explain(ctx, p, mode)
		if err != nil || !strings.Contains(s, marker) {
			t.Errorf("explain mode %d: %v, output lacks %q:\n%.300s", mode, err, marker, s)
		}
	}
	streaming, err := c.IsStreaming(ctx, p)
	if err != nil || streaming {
		t.Errorf("IsStreaming = %v, %v; want false", streaming, err)
	}
	files, err := c.InputFiles(ctx, p)
	if err != nil || len(files) != 0 {
		t.Errorf("InputFiles = %v, %v; want none for RANGE", files, err)
	}
	ddl, err := c.ParseDDL(ctx, "a INT NOT NULL, b MAP<STRING, ARRAY<DATE>>")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]connect.Column{{Name: "a", Type: "int"}, {Name: "b", Type: "map<string,array<date>>", Nullable: true}}, ddl); diff != "" {
		t.Errorf("ddl (-want +got):\n%s", diff)
	}
}

func TestConfig(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	const key = "spark.sql.shuffle.partitions"
	if err := c.SetConf(ctx, map[string]string{key: "7"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetConf(ctx, key)
	if err != nil || got[key] != "7" {
		t.Fatalf("after set: %v %v", got, err)
	}
	if err := c.UnsetConf(ctx, key); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetConf(ctx, key)
	if err != nil || got[key] == "7" {
		t.Fatalf("after unset: %v %v", got, err)
	}
	// Config is per session: another client does not see this one's value.
	if err := c.SetConf(ctx, map[string]string{key: "9"}); err != nil {
		t.Fatal(err)
	}
	other := sparktest.Client(t)
	got, err = other.GetConf(ctx, key)
	if err != nil || got[key] == "9" {
		t.Fatalf("other session sees %v (%v)", got, err)
	}
}

func TestSessionIDs(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	if c.ServerSessionID() != "" {
		t.Fatal("server session id known before any request")
	}
	if _, err := c.SparkVersion(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.ServerSessionID()
	if first == "" {
		t.Fatal("server did not report a server-side session id")
	}
	if _, err := c.Collect(ctx, connect.SQL("SELECT 1"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if c.ServerSessionID() != first {
		t.Errorf("server session id changed from %s to %s", first, c.ServerSessionID())
	}
}

func TestSQLCommandAndTable(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, 2*time.Minute)
	if _, err := c.Collect(ctx, connect.SQLCommand("CREATE OR REPLACE TEMPORARY VIEW v_cmd AS SELECT id FROM RANGE(4)"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Collect(ctx, connect.Limit(connect.Table("v_cmd"), 2), connect.ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]any{{int64(0)}, {int64(1)}}, res.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// A query sent as a command returns the query's rows.
	res, err = c.Collect(ctx, connect.SQLCommand("SELECT COUNT(*) AS n FROM v_cmd"), connect.ExecOptions{})
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(4) {
		t.Fatalf("command query: %v %v", res, err)
	}
}

func TestMaxBytesStopsTheOperation(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	_, err := c.Collect(ctx, connect.SQL("SELECT id, REPEAT('x', 100) AS s FROM RANGE(1000000)"), connect.ExecOptions{MaxBytes: 1 << 20, Tags: []string{"too-big"}})
	if !errors.Is(err, connect.ErrResultTooLarge) {
		t.Fatalf("got %v, want ErrResultTooLarge", err)
	}
	ids, err := c.InterruptTag(ctx, "too-big")
	if err != nil || len(ids) != 0 {
		t.Errorf("still running after the byte limit: %v %v", ids, err)
	}
}

func TestReleaseSession(t *testing.T) {
	c := sparktest.Client(t)
	ctx := sparktest.Context(t, time.Minute)
	if _, err := c.Collect(ctx, connect.SQLCommand("CREATE OR REPLACE TEMPORARY VIEW released_v AS SELECT 1 AS x"), connect.ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseSession(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Collect(ctx, connect.SQL("SELECT * FROM released_v"), connect.ExecOptions{})
	if !errors.Is(err, connect.ErrServerRestarted) {
		t.Fatalf("after ReleaseSession got %v, want the lost-session error", err)
	}
}
