package sandbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveProfile(t *testing.T) {
	for _, tc := range []struct {
		spark, format string
		want          Profile
		err           string
	}{
		{"", "", DefaultProfile(), ""},
		{"4.2", "", Profile{"4.2", FormatDelta}, ""},
		{"4.3", "", Profile{"4.3", FormatParquet}, ""},
		{"", FormatParquet, Profile{"4.3", FormatParquet}, ""},
		{"", FormatDelta, Profile{"4.2", FormatDelta}, ""},
		{"4.2", FormatParquet, Profile{"4.2", FormatParquet}, ""},
		{"4.3", FormatDelta, Profile{}, "no Delta release exists for Spark 4.3"},
		{"", FormatIceberg, Profile{}, "runtimes only up to Spark 4.1"},
		{"4.2.0", "", Profile{}, "write the line: 4.2"},
		{"4.1", "", Profile{}, "cannot run Spark 4.1; supported: 4.2/delta, 4.2/parquet, 4.3/parquet"},
		{"", "orc", Profile{}, `unknown table format "orc"`},
	} {
		got, err := ResolveProfile(tc.spark, tc.format)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ResolveProfile(%q, %q) error = %v, want %q", tc.spark, tc.format, err, tc.err)
			}
			continue
		}
		if err != nil || got.Profile != tc.want {
			t.Errorf("ResolveProfile(%q, %q) = %v, %v; want %v", tc.spark, tc.format, got.Profile, err, tc.want)
		}
		if (got.Format == FormatDelta) != (got.Connector != nil) {
			t.Errorf("%v: connector = %v", got.Profile, got.Connector)
		}
	}
}

func TestEveryProfileHasAnInstallableLine(t *testing.T) {
	if v := DefaultProfile().PySpark(); v != SparkVersion {
		t.Errorf("SparkVersion = %s, but the default profile installs pyspark %s", SparkVersion, v)
	}
	for _, s := range SupportedProfiles() {
		l, ok := LineOf(s.Spark)
		if !ok || !strings.HasPrefix(l.PySpark, s.Spark+".") {
			t.Errorf("%v: line %+v", s.Profile, l)
		}
		if s.Connector == nil {
			continue
		}
		for _, j := range s.Connector.Jars {
			if len(j.SHA256) != 64 || j.Group == "" || j.Artifact == "" || j.Version == "" {
				t.Errorf("%v: jar %+v is not pinned", s.Profile, j)
			}
		}
	}
}

func TestForFormatSeparatesLakehouseData(t *testing.T) {
	p, _ := WorkspacePaths("/ws")
	if q := p.ForFormat(FormatParquet); q != p {
		t.Errorf("parquet moved: %+v", q)
	}
	q := p.ForFormat(FormatDelta)
	if q.Warehouse != "/ws/sandbox/delta/warehouse" || q.Metastore != "/ws/sandbox/delta/metastore" ||
		q.PipelineStorage != "/ws/sandbox/delta/pipeline-storage" || q.State != p.State || q.Lock != p.Lock {
		t.Errorf("delta paths = %+v", q)
	}
}

// Cached jars are used when their checksum matches and replaced when not;
// nothing is downloaded for a complete cache.
func TestCheckJars(t *testing.T) {
	cache := t.TempDir()
	good := Jar{Group: "org.example", Artifact: "good", Version: "1.0"}
	bad := Jar{Group: "org.example", Artifact: "bad", Version: "1.0", SHA256: strings.Repeat("0", 64)}
	for _, j := range []*Jar{&good, &bad} {
		p := jarPath(cache, *j)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("jar "+j.Artifact), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := fileSHA256(jarPath(cache, good))
	if err != nil {
		t.Fatal(err)
	}
	good.SHA256 = sum
	paths, missing := checkJars(cache, &Connector{Jars: []Jar{good, bad}}, slog.New(slog.DiscardHandler))
	if len(paths) != 1 || paths[0] != jarPath(cache, good) {
		t.Errorf("paths = %v", paths)
	}
	if len(missing) != 1 || missing[0] != bad {
		t.Errorf("missing = %v", missing)
	}
	if _, err := os.Stat(jarPath(cache, bad)); !os.IsNotExist(err) {
		t.Errorf("a jar with the wrong checksum was kept: %v", err)
	}
	in := &Installation{Connector: &delta44, Jars: []string{"/c/a.jar", "/c/b.jar"}}
	args := strings.Join(serverArgs(p0(t), 1, "1g", in, nil), " ")
	for _, w := range []string{"--jars /c/a.jar,/c/b.jar", "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog", "spark.sql.sources.default=delta"} {
		if !strings.Contains(args, w) {
			t.Errorf("server args lack %q: %s", w, args)
		}
	}
}

func p0(t *testing.T) Paths {
	p, err := WorkspacePaths(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
