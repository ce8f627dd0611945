package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// InstallOptions configure [Install].
type InstallOptions struct {
	// CacheDir is where installs live; "" means [CacheDir].
	CacheDir string
	// Python is the interpreter used to create the virtual env; "" means
	// $SDP_MCP_PYTHON, else python3 on PATH.
	Python string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// Output receives the output of venv creation and pip; nil discards it
	// (the last lines are still quoted in errors).
	Output io.Writer
	// Profile selects the Spark line and table format; the zero Profile
	// means [DefaultProfile].
	Profile Profile
}

// Installation is a finished pyspark install.
type Installation struct {
	Version        string // pyspark / Spark release of the profile's line
	Profile        Profile
	Connector      *Connector // nil when the format needs no extra jars
	Jars           []string   // local paths of the connector's jars
	Dir            string     // root of the virtual env
	Python         string     // the virtual env's python
	SparkHome      string     // the pyspark package directory, usable as SPARK_HOME
	SparkSubmit    string     // <SparkHome>/bin/spark-submit
	SparkPipelines string     // <SparkHome>/bin/spark-pipelines
	Java           *Java      // Java runtime found for running Spark
}

// Env returns environment variables (KEY=value) that make Spark tools use
// this install: SPARK_HOME, PYSPARK_PYTHON (spark-pipelines runs it) and,
// when known, JAVA_HOME.
func (in *Installation) Env() []string {
	env := []string{
		"SPARK_HOME=" + in.SparkHome,
		"PYSPARK_PYTHON=" + in.Python,
		"PYSPARK_DRIVER_PYTHON=" + in.Python,
	}
	if in.Java != nil && in.Java.Home != "" {
		env = append(env, "JAVA_HOME="+in.Java.Home)
	}
	return env
}

const markerName = "sdp-mcp-install.json"

// installMarker is written into a finished install before it is moved into
// place.
type installMarker struct {
	Version       string    `json:"version"`
	SparkHome     string    `json:"spark_home"` // relative to the install dir
	PythonVersion string    `json:"python_version"`
	InstalledAt   time.Time `json:"installed_at"`
}

// Install makes sure the pyspark release of the profile's Spark line (with
// the connect and pipelines extras) and the format's connector jars are in
// the cache and returns them. Each line has its own install, side by side. It first checks that
// Java 17+ is available (needed to run Spark) and, when it has to install,
// that Python 3.10+ is.
//
// It is idempotent and safe to call from several goroutines or processes at
// once: a finished install (marked by a marker file) is returned as is;
// otherwise an exclusive file lock in the cache directory is taken, the
// virtual env is built in a temporary directory and then renamed into
// place.
func Install(ctx context.Context, opts InstallOptions) (*Installation, error) {
	log := opts.Logger
	if log == nil {
		log = discardLogger()
	}
	java, err := FindJava(ctx)
	if err != nil {
		return nil, err
	}
	log.Debug("found java", "path", java.Path, "version", java.Version)

	cache := opts.CacheDir
	if cache == "" {
		if cache, err = CacheDir(); err != nil {
			return nil, err
		}
	} else if cache, err = filepath.Abs(cache); err != nil {
		return nil, err
	}
	prof, err := ResolveProfile(opts.Profile.Spark, opts.Profile.Format)
	if err != nil {
		return nil, err
	}
	in, err := installPySpark(ctx, cache, prof.PySpark(), java, opts, log)
	if err != nil {
		return nil, err
	}
	in.Profile, in.Connector = prof.Profile, prof.Connector
	if prof.Connector != nil {
		if in.Jars, err = ensureJars(ctx, cache, in, prof.Connector, log); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// installPySpark installs pyspark version into the cache (see [Install]).
func installPySpark(ctx context.Context, cache, version string, java *Java, opts InstallOptions, log *slog.Logger) (*Installation, error) {
	dir := InstallDir(cache, version)
	if in, err := loadInstall(dir, version, java); err == nil {
		log.Debug("pyspark already installed", "dir", dir)
		return in, nil
	}

	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	lock, err := lockFile(ctx, filepath.Join(cache, "pyspark-"+version+".lock"), func() {
		log.Info("another process is installing pyspark; waiting for it", "dir", dir)
	})
	if err != nil {
		return nil, err
	}
	defer lock.unlock()

	// Somebody may have finished while we waited for the lock.
	if in, err := loadInstall(dir, version, java); err == nil {
		return in, nil
	}

	py, err := FindPython(ctx, opts.Python)
	if err != nil {
		return nil, err
	}

	// We hold the lock, so leftovers are from interrupted installs.
	if leftovers, _ := filepath.Glob(dir + ".tmp-*"); len(leftovers) > 0 {
		for _, d := range leftovers {
			log.Debug("removing leftover of an interrupted install", "dir", d)
			_ = os.RemoveAll(d)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		log.Info("removing incomplete pyspark install", "dir", dir)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("removing incomplete install %s: %w", dir, err)
		}
	}

	tmp, err := os.MkdirTemp(cache, filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary install directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()

	start := time.Now()
	log.Info("installing pyspark for the local Spark sandbox (one-time, downloads about 1 GB)",
		"version", version, "dir", dir, "python", py.Path, "python_version", py.String())

	out := &tailWriter{max: 32 << 10}
	var w io.Writer = out
	if opts.Output != nil {
		w = io.MultiWriter(out, opts.Output)
	}
	if err := runLogged(ctx, w, py.Path, "-m", "venv", tmp); err != nil {
		hint := ""
		if strings.Contains(out.String(), "ensurepip") {
			hint = " The venv module is incomplete; on Debian/Ubuntu install python3-venv."
		}
		return nil, fmt.Errorf("creating virtual env with %s -m venv failed: %w.%s\n%s", py.Path, err, hint, indent(lastLines(out.String(), 20)))
	}
	vpy := filepath.Join(tmp, "bin", "python")
	pkg := "pyspark[connect,pipelines]==" + version
	stop := heartbeat(log, "still installing pyspark", start, 10*time.Second)
	err = runLogged(ctx, w, vpy, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", pkg)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("installing %s: %w", pkg, ctx.Err())
		}
		return nil, fmt.Errorf("pip install %s failed: %w\n%s", pkg, err, indent(lastLines(out.String(), 20)))
	}

	info, err := runQuiet(ctx, time.Minute, vpy, "-c",
		"import os, pyspark; print(os.path.dirname(os.path.abspath(pyspark.__file__))); print(pyspark.__version__)")
	if err != nil {
		return nil, fmt.Errorf("locating the installed pyspark: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(info), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("locating the installed pyspark: unexpected output %q", info)
	}
	home, got := strings.TrimSpace(lines[len(lines)-2]), strings.TrimSpace(lines[len(lines)-1])
	if got != version {
		return nil, fmt.Errorf("pip installed pyspark %s, want %s", got, version)
	}
	rel, err := filepath.Rel(tmp, home)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("installed pyspark at %s is outside the virtual env %s", home, tmp)
	}
	m := installMarker{Version: version, SparkHome: rel, PythonVersion: py.String(), InstalledAt: time.Now().UTC()}
	if err := checkSparkHome(home, version); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileAtomic(filepath.Join(tmp, markerName), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	_ = os.Chmod(tmp, 0o755) // MkdirTemp made it private
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("moving install into place: %w", err)
	}
	ok = true
	in, err := loadInstall(dir, version, java)
	if err != nil {
		return nil, fmt.Errorf("install finished but is not usable: %w", err)
	}
	log.Info("installed pyspark", "version", version, "spark_home", in.SparkHome, "took", time.Since(start).Round(time.Second))
	return in, nil
}

// loadInstall returns the finished install in dir, or an error if there is
// none (or it is incomplete).
func loadInstall(dir, version string, java *Java) (*Installation, error) {
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if err != nil {
		return nil, err
	}
	var m installMarker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing install marker: %w", err)
	}
	if m.Version != version {
		return nil, fmt.Errorf("install in %s is pyspark %s, want %s", dir, m.Version, version)
	}
	home := filepath.Join(dir, m.SparkHome)
	if err := checkSparkHome(home, version); err != nil {
		return nil, err
	}
	return &Installation{
		Version:        m.Version,
		Dir:            dir,
		Python:         filepath.Join(dir, "bin", "python"),
		SparkHome:      home,
		SparkSubmit:    filepath.Join(home, "bin", "spark-submit"),
		SparkPipelines: filepath.Join(home, "bin", "spark-pipelines"),
		Java:           java,
	}, nil
}

// checkSparkHome verifies the pieces of the distribution the sandbox uses.
func checkSparkHome(home, version string) error {
	for _, rel := range []string{
		filepath.Join("bin", "spark-submit"),
		filepath.Join("bin", "spark-pipelines"),
		filepath.Join("jars", "spark-connect_2.13-"+version+".jar"),
		filepath.Join("jars", "spark-pipelines_2.13-"+version+".jar"),
	} {
		if _, err := os.Stat(filepath.Join(home, rel)); err != nil {
			return fmt.Errorf("pyspark install at %s is incomplete: %s is missing", home, rel)
		}
	}
	return nil
}

// runLogged runs a command with stdout and stderr going to w.
func runLogged(ctx context.Context, w io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// heartbeat logs msg every interval until the returned stop is called.
func heartbeat(log *slog.Logger, msg string, start time.Time, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				log.Info(msg, "elapsed", time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func indent(s string) string {
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
