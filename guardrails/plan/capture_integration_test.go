//go:build integration

package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
)

// captureSetup creates the tables, views and catalogs the capture cases
// read. The schema names are fixed so that captured texts are stable.
var captureSetup = []string{
	"DROP SCHEMA IF EXISTS plancap_src CASCADE",
	"DROP SCHEMA IF EXISTS plancap_other CASCADE",
	"CREATE SCHEMA plancap_src",
	"CREATE SCHEMA plancap_other",
	"CREATE TABLE plancap_src.orders (id INT, amount DOUBLE, customer STRING) USING parquet",
	"CREATE TABLE plancap_src.customers (name STRING, city STRING) USING parquet",
	"CREATE TABLE plancap_src.hive_t (k INT, v STRING) STORED AS TEXTFILE",
	"CREATE TABLE plancap_src.wide (c1 INT, c2 INT, c3 INT, c4 INT, c5 INT, c6 INT, c7 INT, c8 INT, c9 INT, c10 INT, " +
		"c11 INT, c12 INT, c13 INT, c14 INT, c15 INT, c16 INT, c17 INT, c18 INT, c19 INT, c20 INT, " +
		"c21 INT, c22 INT, c23 INT, c24 INT, c25 INT, c26 INT, c27 INT, c28 INT, c29 INT, c30 INT) USING parquet",
	"CREATE TABLE plancap_other.secret (k INT, v STRING) USING parquet",
	"INSERT INTO plancap_src.orders VALUES (1, 10.0, 'ann')",
	"CREATE VIEW plancap_src.v_orders AS SELECT id, amount FROM plancap_src.orders WHERE amount > 0",
	"CREATE VIEW plancap_src.v_secret AS SELECT * FROM plancap_other.secret",
	"CREATE VIEW plancap_src.v_nested AS SELECT * FROM plancap_src.v_orders JOIN plancap_src.hive_t ON v_orders.id = hive_t.k",
	"CREATE TEMPORARY VIEW plancap_tv AS SELECT * FROM plancap_src.orders",
	// A DataSource V2 catalog for RelationV2: JDBC over an in-memory Derby
	// database (Derby ships with the Hive metastore).
	"SET spark.sql.catalog.plancap_jdbc=org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTableCatalog",
	"SET `spark.sql.catalog.plancap_jdbc.url`=`jdbc:derby:memory:plancap;create=true`",
	"SET spark.sql.catalog.plancap_jdbc.driver=org.apache.derby.jdbc.EmbeddedDriver",
	"DROP TABLE IF EXISTS plancap_jdbc.app.t1",
	"CREATE TABLE plancap_jdbc.app.t1 (id INT)",
	// A path read, to capture a Relation without a table name.
	"SET spark.sql.runSQLOnFiles=true",
}

// TestCapture asks the pinned Spark for the extended explain of every
// capture case. With -update it rewrites testdata/plans/<name>.txt;
// otherwise it checks that the fresh plan reads the same as the stored one
// (operators, relations), so that a Spark upgrade that changes the plan
// text fails here first.
func TestCapture(t *testing.T) {
	ctx := sparktest.Context(t, 5*time.Minute)
	inst := sparktest.Sandbox(t)
	c := sparktest.Client(t)
	for _, s := range captureSetup {
		if _, err := c.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, s := range []string{"DROP SCHEMA IF EXISTS plancap_src CASCADE", "DROP SCHEMA IF EXISTS plancap_other CASCADE"} {
			_, _ = c.Collect(cctx, connect.SQLCommand(s), connect.ExecOptions{})
		}
	})
	normalize := func(s string) string {
		return strings.ReplaceAll(s, strings.TrimRight(inst.WarehousePath, "/"), warehouseToken)
	}
	for _, tc := range captureCases {
		t.Run(tc.name, func(t *testing.T) {
			query := strings.ReplaceAll(tc.query, warehouseToken, inst.WarehousePath)
			text, err := c.Explain(ctx, connect.SQL(query), connect.ExplainExtended)
			if err != nil {
				t.Fatalf("explain %s: %v", query, err)
			}
			text = normalize(text)
			path := filepath.Join("testdata", "plans", tc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(caseFile(tc, text)), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			_, stored := readCase(t, tc.name)
			got, want := readBack(text), readBack(stored)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("the pinned Spark's plan for %s no longer reads like testdata/plans/%s.txt (-stored +fresh; -update recaptures):\n%s", tc.query, tc.name, d)
			}
		})
	}
	for _, bc := range batchCases {
		t.Run(bc.name, func(t *testing.T) {
			query, _ := BatchSQL(bc.queries(t))
			text, err := c.Explain(ctx, connect.SQL(query), connect.ExplainExtended)
			if err != nil {
				t.Fatalf("explain %s: %v", query, err)
			}
			path := filepath.Join("testdata", "plans", bc.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(batchFile(bc, normalize(text))), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			_, stored := readCase(t, bc.name)
			if d := cmp.Diff(readBack(stored), readBack(normalize(text))); d != "" {
				t.Errorf("the pinned Spark's plan for batch %s no longer reads like testdata/plans/%s.txt (-stored +fresh; -update recaptures):\n%s", bc.name, bc.name, d)
			}
		})
	}
}

// readBack is what Parse makes of an explain text: its summary, or the
// error.
func readBack(text string) string {
	p, err := Parse(text)
	if err != nil {
		return "error: " + err.Error()
	}
	return summary(p)
}
