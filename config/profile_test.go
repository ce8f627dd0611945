package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func TestSandboxProfileDefaultsAndCompletion(t *testing.T) {
	def := sandbox.DefaultProfile()
	for _, tc := range []struct {
		name, yaml  string
		spark, fmt  string
		storageTail string
	}{
		{"none", "", def.Spark, def.Format, ""},
		{"line only picks the lakehouse format", "environments:\n  sandbox:\n    spark: 4.2\n", "4.2", "delta", "delta/pipeline-storage"},
		{"format only picks the newest line", "environments:\n  sandbox:\n    table_format: parquet\n", "4.3", "parquet", "sandbox/pipeline-storage"},
		{"both, quoted line", "environments:\n  sandbox:\n    spark: \"4.3\"\n    table_format: parquet\n", "4.3", "parquet", ""},
		{"delta", "environments:\n  sandbox:\n    spark: 4.2\n    table_format: delta\n", "4.2", "delta", "sandbox/delta/pipeline-storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("sdp-mcp.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			ws := t.TempDir()
			c.Apply(Flags{Workspace: &ws})
			if err := c.Validate(noEnv); err != nil {
				t.Fatal(err)
			}
			sb := c.Environments.Sandbox
			if sb.Spark != tc.spark || sb.TableFormat != tc.fmt {
				t.Errorf("profile = %s/%s, want %s/%s", sb.Spark, sb.TableFormat, tc.spark, tc.fmt)
			}
			if got := sb.Profile(); got != (sandbox.Profile{Spark: tc.spark, Format: tc.fmt}) {
				t.Errorf("Profile() = %v", got)
			}
			if !strings.HasSuffix(sb.Storage, filepath.ToSlash(tc.storageTail)) {
				t.Errorf("storage = %q, want it to end in %q", sb.Storage, tc.storageTail)
			}
		})
	}
}

func TestProfileProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"release instead of line", "environments:\n  sandbox:\n    spark: 4.2.0\n",
			[]string{"environments.sandbox.spark", "line 3", "is a release, not a Spark line; write the line: 4.2"}},
		{"garbage line", "environments:\n  sandbox:\n    spark: latest\n",
			[]string{"environments.sandbox.spark", "not a Spark line"}},
		{"unknown format", "environments:\n  sandbox:\n    table_format: hudi\n",
			[]string{"environments.sandbox.table_format", `unknown table format "hudi"`, "delta, iceberg, parquet"}},
		{"delta on 4.3", "environments:\n  sandbox:\n    spark: 4.3\n    table_format: delta\n",
			[]string{"environments.sandbox.table_format", "cannot run Spark 4.3 + delta", "4.2/delta", "no Delta release exists for Spark 4.3"}},
		{"iceberg", "environments:\n  sandbox:\n    table_format: iceberg\n",
			[]string{"environments.sandbox.table_format", "cannot run table format iceberg", "up to Spark 4.1"}},
		{"unsupported line", "environments:\n  sandbox:\n    spark: 3.5\n",
			[]string{"environments.sandbox.spark", "cannot run Spark 3.5", "supported: 4.2/delta"}},
		{"production format typo", "environments:\n  production:\n    url: sc://h:1/\n    catalog: c\n    schema: s\n    storage: s3://b/x\n    table_format: Delta\n",
			[]string{"environments.production.table_format", `unknown table format "Delta"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("sdp-mcp.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			ws := t.TempDir()
			c.Apply(Flags{Workspace: &ws})
			err = c.Validate(noEnv)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
		})
	}
}

// A remote environment's profile is only checked for syntax: any line and
// format a cluster may run is accepted, and empty means unknown.
func TestRemoteProfileIsStatedNotResolved(t *testing.T) {
	c, err := Parse("sdp-mcp.yaml", []byte("environments:\n  production:\n    url: sc://h:1/\n    catalog: c\n    schema: s\n    storage: s3://b/x\n    spark: 4.1\n    table_format: iceberg\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	c.Apply(Flags{Workspace: &ws})
	if err := c.Validate(noEnv); err != nil {
		t.Fatal(err)
	}
	if p := c.Environments.Production.Profile(); p != (sandbox.Profile{Spark: "4.1", Format: "iceberg"}) {
		t.Errorf("production profile = %v", p)
	}
	c, _ = Parse("sdp-mcp.yaml", []byte("environments:\n  production:\n    url: sc://h:1/\n    catalog: c\n    schema: s\n    storage: s3://b/x\n"))
	c.Apply(Flags{Workspace: &ws})
	if err := c.Validate(noEnv); err != nil {
		t.Fatal(err)
	}
	if p := c.Environments.Production.Profile(); !p.IsZero() {
		t.Errorf("unstated production profile = %v, want zero (unknown)", p)
	}
}
