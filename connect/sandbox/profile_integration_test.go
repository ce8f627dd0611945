//go:build integration

package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// One workspace, two profiles: the default and another (Spark 4.2 + Delta
// and 4.3 + parquet, whichever is not the default). Switching restarts the
// server on the other line's install; each format keeps its own warehouse
// and metastore, so Delta tables are Delta, parquet tables are parquet, and
// nothing is lost by switching back.
func TestIntegrationProfilesSideBySide(t *testing.T) {
	// Three server starts: more time than one test usually gets.
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	t.Cleanup(cancel)
	ws := t.TempDir()
	sql := func(c *connect.Client, q string) [][]any {
		t.Helper()
		res, err := c.Collect(ctx, connect.SQL(q), connect.ExecOptions{})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res.Rows
	}
	provider := func(c *connect.Client, table string) string {
		for _, r := range sql(c, "DESCRIBE TABLE EXTENDED "+table) {
			if fmt.Sprint(r[0]) == "Provider" {
				return fmt.Sprint(r[1])
			}
		}
		return ""
	}

	def := startSandbox(ctx, t, ws)
	if def.Profile != DefaultProfile() || def.SparkVersion != SparkVersion {
		t.Fatalf("default sandbox runs %v (Spark %s), want %v (%s)", def.Profile, def.SparkVersion, DefaultProfile(), SparkVersion)
	}
	paths, err := WorkspacePaths(ws)
	if err != nil {
		t.Fatal(err)
	}
	if want := paths.ForFormat(DefaultProfile().Format).Warehouse; def.WarehousePath != want {
		t.Errorf("warehouse %s, want %s", def.WarehousePath, want)
	}
	c := dial(ctx, t, def)
	sql(c, "CREATE TABLE lake (id INT)")
	sql(c, "INSERT INTO lake VALUES (1), (2)")
	if p := provider(c, "lake"); p != DefaultProfile().Format {
		t.Errorf("a table created without USING on the default sandbox is %q, want %q", p, DefaultProfile().Format)
	}
	c.Close()

	other := Profile{Spark: "4.3", Format: FormatParquet}
	if other == DefaultProfile() {
		other = Profile{Spark: "4.2", Format: FormatDelta}
	}
	inst, err := Start(ctx, Options{Workspace: ws, Memory: "1g", Logger: newTestLogger(t), Profile: other})
	if err != nil {
		t.Fatalf("Start %v: %v", other, err)
	}
	t.Cleanup(func() { forceStop(t, inst) })
	if inst.Reused || inst.PID == def.PID || inst.Profile != other || !strings.HasPrefix(inst.SparkVersion, other.Spark+".") {
		t.Fatalf("switching to %v: reused=%v pid %d (was %d), profile %v, Spark %s", other, inst.Reused, inst.PID, def.PID, inst.Profile, inst.SparkVersion)
	}
	c = dial(ctx, t, inst)
	for _, r := range sql(c, "SHOW TABLES") {
		if fmt.Sprint(r[1]) == "lake" {
			t.Errorf("the %v sandbox sees the %v warehouse's table lake", other, DefaultProfile())
		}
	}
	sql(c, "CREATE TABLE files (id INT)")
	if p := provider(c, "files"); p != other.Format {
		t.Errorf("a table on %v is %q", other, p)
	}
	c.Close()

	back := startSandbox(ctx, t, ws)
	if back.Profile != DefaultProfile() {
		t.Fatalf("back on %v", back.Profile)
	}
	c = dial(ctx, t, back)
	defer c.Close()
	if got := fmt.Sprint(sql(c, "SELECT id FROM lake ORDER BY id")); got != "[[1] [2]]" {
		t.Errorf("lake after switching profiles = %s", got)
	}
}

// Delta's connector jars come from the cache, checked against their pinned
// SHA-256.
func TestIntegrationConnectorJarsPinned(t *testing.T) {
	ctx := testContext(t)
	in, err := Install(ctx, InstallOptions{Profile: Profile{Spark: "4.2", Format: FormatDelta}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Connector == nil || len(in.Jars) != len(in.Connector.Jars) {
		t.Fatalf("install of %v has jars %v for connector %v", in.Profile, in.Jars, in.Connector)
	}
	for i, j := range in.Connector.Jars {
		sum, err := fileSHA256(in.Jars[i])
		if err != nil || sum != j.SHA256 {
			t.Errorf("%s: sha256 %s (%v), pinned %s", in.Jars[i], sum, err, j.SHA256)
		}
	}
}
