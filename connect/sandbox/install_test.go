package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakePython is a stand-in interpreter that supports exactly what Install
// runs: the version query, "-m venv DIR", "-m pip install ..." (which lays
// out a minimal pyspark distribution and counts its runs) and the pyspark
// location query.
const fakePython = `
root=$(cd "$(dirname "$0")/.." && pwd)
home="$root/lib/python3.11/site-packages/pyspark"
case "$1" in
-c)
	case "$2" in
	*version_info*) echo 3.11.7 ;;
	*pyspark*) echo "$home"; echo "$FAKE_SPARK_VERSION" ;;
	esac ;;
-m)
	case "$2" in
	venv) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
	pip)
		echo "Collecting pyspark"
		echo run >> "$FAKE_PIP_COUNTER"
		if [ -n "$FAKE_PIP_FAIL" ]; then echo "ERROR: No matching distribution found" >&2; exit 1; fi
		sleep 0.2
		mkdir -p "$home/bin" "$home/jars"
		touch "$home/bin/spark-submit" "$home/bin/spark-pipelines" \
			"$home/jars/spark-connect_2.13-$FAKE_SPARK_VERSION.jar" \
			"$home/jars/spark-pipelines_2.13-$FAKE_SPARK_VERSION.jar"
		chmod +x "$home/bin/spark-submit" "$home/bin/spark-pipelines"
		echo "Successfully installed pyspark-$FAKE_SPARK_VERSION" ;;
	esac ;;
esac
`

// fakeProfile is the default Spark line without connector jars: the fake
// tools install pyspark only.
var fakeProfile = Profile{Spark: DefaultProfile().Spark, Format: FormatParquet}

func setupFakeTools(t *testing.T) (cache, counter string) {
	t.Helper()
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "python3"), fakePython)
	javaHome := filepath.Join(dir, "jdk")
	writeScript(t, filepath.Join(javaHome, "bin", "java"), `echo 'openjdk version "17.0.15" 2025-04-15' >&2`+"\n")
	t.Setenv("JAVA_HOME", javaHome)
	t.Setenv(EnvPython, filepath.Join(dir, "python3"))
	counter = filepath.Join(dir, "pip-runs")
	t.Setenv("FAKE_PIP_COUNTER", counter)
	t.Setenv("FAKE_SPARK_VERSION", SparkVersion)
	return filepath.Join(dir, "cache"), counter
}

func pipRuns(t *testing.T, counter string) int {
	b, err := os.ReadFile(counter)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run")
}

func TestInstallConcurrentAndIdempotent(t *testing.T) {
	cache, counter := setupFakeTools(t)
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	results := make([]*Installation, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = Install(ctx, InstallOptions{Profile: fakeProfile, CacheDir: cache})
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("Install %d: %v", i, errs[i])
		}
		if results[i].SparkHome != results[0].SparkHome {
			t.Errorf("installs disagree: %s vs %s", results[i].SparkHome, results[0].SparkHome)
		}
	}
	if runs := pipRuns(t, counter); runs != 1 {
		t.Errorf("pip ran %d times, want 1", runs)
	}
	in := results[0]
	dir := InstallDir(cache, SparkVersion)
	if in.Dir != dir || in.Version != SparkVersion {
		t.Errorf("install = %+v", in)
	}
	if want := filepath.Join(dir, "lib", "python3.11", "site-packages", "pyspark"); in.SparkHome != want {
		t.Errorf("SparkHome = %s, want %s", in.SparkHome, want)
	}
	for _, p := range []string{in.Python, in.SparkSubmit, in.SparkPipelines, filepath.Join(dir, markerName)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	if leftovers, _ := filepath.Glob(dir + ".tmp-*"); len(leftovers) != 0 {
		t.Errorf("temporary install directories left: %v", leftovers)
	}
	env := strings.Join(in.Env(), "\n")
	if !strings.Contains(env, "SPARK_HOME="+in.SparkHome) || !strings.Contains(env, "PYSPARK_PYTHON="+in.Python) {
		t.Errorf("Env() = %s", env)
	}

	// Again: nothing to do.
	if _, err := Install(ctx, InstallOptions{Profile: fakeProfile, CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
	if runs := pipRuns(t, counter); runs != 1 {
		t.Errorf("pip ran again on an installed cache (%d runs)", runs)
	}
}

func TestInstallFailureLeavesNothing(t *testing.T) {
	cache, _ := setupFakeTools(t)
	t.Setenv("FAKE_PIP_FAIL", "1")
	var out strings.Builder
	_, err := Install(context.Background(), InstallOptions{Profile: fakeProfile, CacheDir: cache, Output: &out})
	if err == nil {
		t.Fatal("want error")
	}
	if !strings.Contains(err.Error(), "No matching distribution") {
		t.Errorf("error does not quote pip output: %v", err)
	}
	if !strings.Contains(out.String(), "Collecting pyspark") {
		t.Errorf("pip output not streamed: %q", out.String())
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "pyspark-"+SparkVersion) && !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("failed install left %s", e.Name())
		}
	}
	// A later attempt succeeds.
	t.Setenv("FAKE_PIP_FAIL", "")
	if _, err := Install(context.Background(), InstallOptions{Profile: fakeProfile, CacheDir: cache}); err != nil {
		t.Fatal(err)
	}
}

func TestInstallRejectsOldPythonAndJava(t *testing.T) {
	cache, _ := setupFakeTools(t)
	old := filepath.Join(t.TempDir(), "python3.8")
	writeScript(t, old, "echo 3.8.10\n")
	_, err := Install(context.Background(), InstallOptions{Profile: fakeProfile, CacheDir: cache, Python: old})
	if err == nil || !strings.Contains(err.Error(), "found Python 3.8.10") {
		t.Errorf("old python: %v", err)
	}
	writeScript(t, filepath.Join(os.Getenv("JAVA_HOME"), "bin", "java"), `echo 'java version "1.8.0_292"' >&2`+"\n")
	_, err = Install(context.Background(), InstallOptions{Profile: fakeProfile, CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "found Java 8") {
		t.Errorf("old java: %v", err)
	}
}
