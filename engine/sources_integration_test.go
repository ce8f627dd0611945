//go:build integration

package engine

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func TestSources(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	e.exec("CREATE TABLE "+e.src+".orders (order_id INT, amount DECIMAL(10,2)) USING parquet COMMENT 'one row per order'",
		"CREATE TABLE "+e.src+".order_lines (order_id INT, sku STRING) USING parquet",
		"CREATE TABLE "+e.src+".customers (id BIGINT, name STRING) USING parquet",
		// Outside the source schemas: never listed, never described.
		"CREATE TABLE "+e.schema+".secret (x INT) USING parquet")

	t0 := time.Now()
	all, err := e.eng.ListSources(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("listing 3 sources took %v", time.Since(t0))
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	q := "spark_catalog." + e.src + "."
	if d := cmp.Diff([]string{q + "customers", q + "order_lines", q + "orders"}, names); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]connect.Column{{Name: "id", Type: "bigint", Nullable: true}, {Name: "name", Type: "string", Nullable: true}}, all[0].Columns); d != "" {
		t.Errorf("columns of customers (-want +got):\n%s", d)
	}

	some, err := e.eng.ListSources(e.ctx, "ORDER*")
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 2 || some[0].Name != q+"order_lines" || some[1].Name != q+"orders" {
		t.Errorf("ORDER*: %+v", some)
	}
	if _, err := e.eng.ListSources(e.ctx, "[a-"); !isProblem(err, "pattern") {
		t.Errorf("bad pattern: %v", err)
	}

	for _, name := range []string{"orders", e.src + ".orders", q + "orders", "`" + e.src + "`.`orders`"} {
		src, err := e.eng.DescribeSource(e.ctx, name)
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		want := &Source{Name: q + "orders", Comment: "one row per order",
			Columns: []connect.Column{{Name: "order_id", Type: "int", Nullable: true}, {Name: "amount", Type: "decimal(10,2)", Nullable: true}}}
		if d := cmp.Diff(want, src); d != "" {
			t.Errorf("describe %s (-want +got):\n%s", name, d)
		}
	}
	for _, tc := range []struct{ name, says string }{
		{e.schema + ".secret", "spark_catalog." + e.src}, // another schema: names the allowed ones
		{"other_catalog." + e.src + ".orders", "spark_catalog." + e.src},
		{"nosuch", "list_sources"},
		{"orders; DROP TABLE x", "list_sources"},
		{"a.b.c.d", "table, schema.table or catalog.schema.table"},
	} {
		_, err := e.eng.DescribeSource(e.ctx, tc.name)
		var ps pipeline.Problems
		if !errors.As(err, &ps) || !strings.Contains(ps.Error(), tc.says) {
			t.Errorf("describe %q: %v, want a problem mentioning %q", tc.name, err, tc.says)
		}
	}
}

func isProblem(err error, field string) bool {
	var ps pipeline.Problems
	return errors.As(err, &ps) && len(ps) > 0 && ps[0].Field == field
}

// TestSessionLostAndLockdown: the engine's session is locked down, and when
// the server loses it the engine opens a new one — locked down again — and
// retries the call once.
func TestSessionLostAndLockdown(t *testing.T) {
	e := newEnv(t, 5*time.Minute)
	p := pipe(t, "lost", nil)
	if _, err := e.eng.Preview(e.ctx, p, PreviewRequest{Query: "SELECT 1 AS one"}); err != nil {
		t.Fatal(err)
	}
	first := e.eng.sessions[""].client
	got, err := first.GetConf(e.ctx, slices.Collect(maps.Keys(lockdown()))...)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(lockdown(), got); d != "" {
		t.Errorf("session conf (-want +got):\n%s", d)
	}

	// What the server does to a session it lost: forget it.
	if err := first.ReleaseSession(e.ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.eng.Preview(e.ctx, p, PreviewRequest{Query: "SELECT current_timezone() AS tz"})
	if err != nil {
		t.Fatalf("preview after the session was lost: %v", err)
	}
	if d := cmp.Diff([][]any{{"UTC"}}, res.Rows); d != "" {
		t.Errorf("time zone of the new session (-want +got):\n%s", d)
	}
	second := e.eng.sessions[""].client
	if second == first {
		t.Fatal("the engine kept the lost session")
	}
	got, err = second.GetConf(e.ctx, slices.Collect(maps.Keys(lockdown()))...)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(lockdown(), got); d != "" {
		t.Errorf("conf of the new session (-want +got):\n%s", d)
	}

	// The lockdown holds: SQL over file paths is refused.
	_, err = e.eng.Preview(e.ctx, p, PreviewRequest{Query: "SELECT * FROM parquet.`/tmp`"})
	var ps pipeline.Problems
	if !errors.As(err, &ps) {
		t.Errorf("path read: %v, want a problem", err)
	} else {
		t.Logf("path read refused:%s", problemsText(ps))
	}
}

// A source schema that does not exist (yet) has no tables: listing the
// sources does not fail, as with the default policy on a fresh sandbox
// before the samples are loaded or a file is registered.
func TestSourcesMissingSchema(t *testing.T) {
	e := newEnv(t, 2*time.Minute)
	e.exec("CREATE TABLE " + e.src + ".orders (order_id INT) USING parquet")
	eng := e.engine(Config{Sources: []string{"spark_catalog." + e.src + ".*", "spark_catalog.sdp_no_such_schema.*"}})
	all, err := eng.ListSources(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Name != "spark_catalog."+e.src+".orders" {
		t.Errorf("sources: %+v", all)
	}
	if src, err := eng.DescribeSource(e.ctx, "orders"); err != nil || src.Name != all[0].Name {
		t.Errorf("describe orders: %+v %v", src, err)
	}
}
