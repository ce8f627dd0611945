// Command pipelinebench measures sdp-mcp's pipeline engine side by side with
// the pinned `spark-pipelines` CLI, in one run against one sandbox server,
// on the same generated 20-dataset pipeline:
//
//   - validation: a warm engine's Validate (static checks, per-dataset
//     analysis, SDP dry-run) against `spark-pipelines dry-run` on the project
//     folder Pipeline.Save wrote;
//   - a full run: the engine's Run against `spark-pipelines run`, both with a
//     full refresh of every dataset, each writing to its own schema and
//     storage.
//
// Calls alternate between the two sides, after one unmeasured warm-up call
// each. The results table (medians, p90, ratios, core count) goes to stdout
// and, with -out, to a file. Run it from the repository root:
//
//	go run ./bench/pipelinebench -out bench/pipeline-results.md
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pipelinebench:", err)
		os.Exit(1)
	}
}

// config is the benchmark's command line.
type config struct {
	out           string
	validateIters int
	runIters      int
	rows          int
	timeout       time.Duration
	keepSandbox   bool
}

func run() error {
	var c config
	iters := flag.Int("iters", 0, "measured calls per side for both measurements (overrides -validate-iters and -run-iters)")
	flag.StringVar(&c.out, "out", "", "also write the results table (markdown) to this file")
	flag.IntVar(&c.validateIters, "validate-iters", 7, "measured validations per side")
	flag.IntVar(&c.runIters, "run-iters", 5, "measured full runs per side")
	flag.IntVar(&c.rows, "rows", 5000, "rows in the largest source tables")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "bound on each single validation or run")
	maxTotal := flag.Duration("max", 60*time.Minute, "bound on the whole benchmark")
	flag.BoolVar(&c.keepSandbox, "keep-sandbox", false, "leave a sandbox server this run started running")
	flag.Parse()
	if *iters > 0 {
		c.validateIters, c.runIters = *iters, *iters
	}
	if c.validateIters < 1 || c.runIters < 1 || c.rows < 100 || c.timeout <= 0 {
		return errors.New("-iters, -validate-iters and -run-iters must be ≥ 1, -rows ≥ 100, -timeout > 0")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxTotal)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	inst, err := sandbox.Install(ctx, sandbox.InstallOptions{Logger: log})
	if err != nil {
		return err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	ws := filepath.Join(cache, "sdp-mcp", "bench-workspace")
	sb, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Logger: log})
	if err != nil {
		return err
	}
	if !sb.Reused && !c.keepSandbox {
		defer func() {
			sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
			defer scancel()
			if _, err := sb.Stop(sctx); err != nil {
				log.Warn("stopping the sandbox this benchmark started", "err", err)
			}
		}()
	}
	b := &bench{cfg: c, inst: inst, sb: sb, log: log}
	defer b.cleanup()
	report, err := b.measure(ctx)
	if report != nil {
		os.Stdout.Write(report)
		if c.out != "" {
			if werr := os.WriteFile(c.out, report, 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

// bench is one benchmark run: its sandbox and the schemas and folders it
// created (removed by cleanup).
type bench struct {
	cfg  config
	inst *sandbox.Installation
	sb   *sandbox.Instance
	log  *slog.Logger

	admin   *connect.Client
	work    string   // folder for project and storage, under the workspace
	schemas []string // schemas to drop
}

func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b.admin != nil {
		for _, s := range b.schemas {
			if _, err := b.admin.Collect(ctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+s+" CASCADE"), connect.ExecOptions{}); err != nil {
				b.log.Warn("dropping a benchmark schema", "schema", s, "err", err)
			}
		}
		_ = b.admin.Close()
	}
	if b.work != "" {
		_ = os.RemoveAll(b.work)
	}
}

func (b *bench) exec(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := b.admin.Collect(ctx, connect.SQLCommand(s), connect.ExecOptions{}); err != nil {
			return fmt.Errorf("%.80s…: %w", s, err)
		}
	}
	return nil
}

// measure sets up the sources, the project folder and the engine, runs both
// measurements and returns the report.
func (b *bench) measure(ctx context.Context) ([]byte, error) {
	var err error
	if b.admin, err = connect.Dial(ctx, b.sb.URL()); err != nil {
		return nil, err
	}
	parent := filepath.Join(b.sb.Workspace, "pipelinebench")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	if b.work, err = os.MkdirTemp(parent, "run-"); err != nil {
		return nil, err
	}
	suffix := time.Now().UnixNano() % 1e12
	src := fmt.Sprintf("pbench_src_%d", suffix)
	goSchema := fmt.Sprintf("pbench_go_%d", suffix)
	cliSchema := fmt.Sprintf("pbench_cli_%d", suffix)
	for _, s := range []string{src, goSchema, cliSchema} {
		if err := b.exec(ctx, "CREATE SCHEMA "+s); err != nil {
			return nil, err
		}
		b.schemas = append(b.schemas, s)
	}
	b.log.Info("creating source tables", "schema", src, "rows", b.cfg.rows)
	if err := b.exec(ctx, sourceTables(src, b.cfg.rows)...); err != nil {
		return nil, err
	}

	p, err := benchPipeline(src)
	if err != nil {
		return nil, err
	}
	// The CLI's folder: the same pipeline, bound to its own schema and
	// storage (the engine binds its copy to goSchema the same way).
	folder := p.Clone()
	folder.Catalog, folder.Database = "spark_catalog", cliSchema
	folder.Storage = fileURI(filepath.Join(b.work, "cli-storage")) // the spec names <root>/<name>
	dir := filepath.Join(b.work, "project")
	if err := folder.Save(dir); err != nil {
		return nil, err
	}
	spec := filepath.Join(dir, pipeline.SpecFile)

	eng, err := engine.New(ctx, engine.Config{
		URL: b.sb.URL(), Catalog: "spark_catalog", Database: goSchema,
		Storage: fileURI(filepath.Join(b.work, "go-storage")), Sources: []string{"spark_catalog." + src},
		CallTimeout: b.cfg.timeout,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	defer eng.Close()

	var validation *validationNote
	goValidate := func(ctx context.Context) error {
		res, err := eng.Validate(ctx, p)
		if err != nil {
			return err
		}
		if !res.OK {
			return fmt.Errorf("validate found problems: %v", res.Problems)
		}
		validation = &validationNote{Datasets: len(res.Datasets), Warnings: len(res.Warnings)}
		return nil
	}
	cliDry := func(ctx context.Context) error {
		return b.cli(ctx, "dry-run", "--spec", spec, "--remote", b.sb.PyURL())
	}
	goRun := func(ctx context.Context) error {
		res, err := eng.Run(ctx, p, engine.RunOptions{FullRefreshAll: true}, nil)
		if err != nil {
			return err
		}
		if !res.OK {
			return fmt.Errorf("run failed: %+v", res.Failure)
		}
		return nil
	}
	cliRun := func(ctx context.Context) error {
		return b.cli(ctx, "run", "--spec", spec, "--full-refresh-all", "--remote", b.sb.PyURL())
	}

	b.log.Info("measuring validation", "iters", b.cfg.validateIters)
	goV, cliV, err := b.sideBySide(ctx, "validation", b.cfg.validateIters, goValidate, cliDry)
	if err != nil {
		return nil, err
	}
	// Where validation time goes: the SDP dry-run alone through our client
	// (the floor of any validation that includes one), and the CLI's fixed
	// start-up (it exits at the spec check, before contacting Spark).
	bare := p.Clone()
	bare.Catalog, bare.Database = "spark_catalog", goSchema
	bare.Storage = fileURI(filepath.Join(b.work, "bare-storage"))
	bareDry := func(ctx context.Context) error { return b.bareDryRun(ctx, bare) }
	missing := filepath.Join(b.work, "no-such-dir", pipeline.SpecFile)
	cliStart := func(ctx context.Context) error {
		err := b.cli(ctx, "dry-run", "--spec", missing, "--remote", b.sb.PyURL())
		if err == nil || !strings.Contains(err.Error(), "PIPELINE_SPEC_FILE_DOES_NOT_EXIST") {
			return fmt.Errorf("want PIPELINE_SPEC_FILE_DOES_NOT_EXIST, got %v", err)
		}
		return nil
	}
	b.log.Info("measuring where validation time goes", "iters", b.cfg.validateIters)
	bareS, startS, err := b.sideBySide(ctx, "diagnostics", b.cfg.validateIters, bareDry, cliStart)
	if err != nil {
		return nil, err
	}

	b.log.Info("measuring full runs", "iters", b.cfg.runIters)
	goR, cliR, err := b.sideBySide(ctx, "full run", b.cfg.runIters, goRun, cliRun)
	if err != nil {
		return nil, err
	}
	counts, total, countErr := b.compareCounts(ctx, stored(p), goSchema, cliSchema)

	var r bytes.Buffer
	fmt.Fprintf(&r, "Pipeline engine benchmark — %s, Spark %s (local sandbox), %d CPU cores (%s/%s).\n\n",
		time.Now().UTC().Format("2006-01-02"), b.sb.SparkVersion, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&r, "Pipeline: generated, %s; 5 parquet source tables, %d rows in each of orders, web_events and app_events.\n", mix(p), b.cfg.rows)
	fmt.Fprintf(&r, "sdp-mcp: one warm `engine.Engine` in the benchmark process (created once; its first call is not measured). "+
		"CLI: `spark-pipelines` of pyspark %s, one process per call (spark-submit JVM plus Python client) with `--remote` to the same server, "+
		"on the project folder `Pipeline.Save` wrote. Separate schemas and storage per side; calls alternate, after one unmeasured warm-up call each. "+
		"Wall time in seconds; p90 is nearest-rank (the slowest call when n < 10).\n\n", b.inst.Version)
	fmt.Fprintln(&r, "| measurement | n | sdp-mcp p50 | sdp-mcp p90 | spark-pipelines p50 | spark-pipelines p90 | ratio of medians | target | met |")
	fmt.Fprintln(&r, "|---|---:|---:|---:|---:|---:|---:|---|:---:|")
	vRatio := median(cliV) / median(goV)
	fmt.Fprintf(&r, "| validation: `Validate` vs `dry-run` | %d | %.3f | %.3f | %.3f | %.3f | %.1f× faster | ≥ 10× faster | %s |\n",
		len(goV), median(goV), p90(goV), median(cliV), p90(cliV), vRatio, yes(vRatio >= 10))
	rRatio := median(goR) / median(cliR)
	fmt.Fprintf(&r, "| full refresh run: `Run` vs `run --full-refresh-all` | %d | %.3f | %.3f | %.3f | %.3f | %.2f× the CLI's time | ≤ 1.1× | %s |\n",
		len(goR), median(goR), p90(goR), median(cliR), p90(cliR), rRatio, yes(rRatio <= 1.1))
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "Where validation time goes (same n, medians / p90):")
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "| part | p50 | p90 |")
	fmt.Fprintln(&r, "|---|---:|---:|")
	fmt.Fprintf(&r, "| SDP dry-run alone through our client (new session, graph, %d SQL files, `StartRun{dry}`) | %.3f | %.3f |\n", len(p.Datasets)+len(p.Flows), median(bareS), p90(bareS))
	fmt.Fprintf(&r, "| `Validate` minus that: static checks, per-dataset analysis, warnings | %.3f | — |\n", median(goV)-median(bareS))
	fmt.Fprintf(&r, "| spark-pipelines start-up alone (JVM + Python; exits at the spec check) | %.3f | %.3f |\n", median(startS), p90(startS))
	fmt.Fprintf(&r, "| `dry-run` minus that: the CLI's session, registration and dry-run | %.3f | — |\n", median(cliV)-median(startS))
	fmt.Fprintln(&r)
	if validation != nil {
		fmt.Fprintf(&r, "Checks: every `Validate` was OK (%d datasets, %d warnings) and every dry-run exited 0; every run succeeded on both sides", validation.Datasets, validation.Warnings)
	}
	if countErr != nil {
		fmt.Fprintf(&r, "; row counts DIFFER between the two sides: %v.\n", countErr)
	} else {
		fmt.Fprintf(&r, "; after the last run the %d stored tables hold the same row counts on both sides (%d rows in all: %s).\n", len(counts), total, strings.Join(counts, ", "))
	}
	return r.Bytes(), countErr
}

// validationNote is what the last Validate reported.
type validationNote struct{ Datasets, Warnings int }

// sideBySide calls each side once unmeasured, then n measured times,
// alternating, each call bounded by the per-call timeout. It returns the
// wall times in seconds.
func (b *bench) sideBySide(ctx context.Context, what string, n int, ours, cli func(context.Context) error) (goS, cliS []float64, err error) {
	call := func(side string, i int, fn func(context.Context) error) (float64, error) {
		cctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
		defer cancel()
		t0 := time.Now()
		if err := fn(cctx); err != nil {
			return 0, fmt.Errorf("%s, %s, call %d: %w", what, side, i, err)
		}
		s := time.Since(t0).Seconds()
		b.log.Info(what, "side", side, "call", i, "seconds", fmt.Sprintf("%.3f", s))
		return s, nil
	}
	for i := 0; i <= n; i++ {
		g, err := call("sdp-mcp", i, ours)
		if err != nil {
			return nil, nil, err
		}
		c, err := call("spark-pipelines", i, cli)
		if err != nil {
			return nil, nil, err
		}
		if i > 0 { // call 0 is the warm-up
			goS, cliS = append(goS, g), append(cliS, c)
		}
	}
	return goS, cliS, nil
}

// bareDryRun dry-runs p's files through our client as the CLI would, with
// nothing else: a new session, CreateDataflowGraph, one DefineSqlGraphElements
// per file and a dry StartRun.
func (b *bench) bareDryRun(ctx context.Context, p *pipeline.Pipeline) error {
	files, err := p.Files()
	if err != nil {
		return err
	}
	c, err := connect.Dial(ctx, b.sb.URL())
	if err != nil {
		return err
	}
	defer c.Close()
	g, err := c.CreateDataflowGraph(ctx, connect.GraphOptions{DefaultCatalog: p.Catalog, DefaultDatabase: p.Database})
	if err != nil {
		return err
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, pipeline.TransformationsDir+"/") {
			if err := g.DefineSQL(ctx, f.Path, string(f.Content)); err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
		}
	}
	_, err = g.StartRun(ctx, connect.RunOptions{Dry: true, Storage: p.StoragePath()}, nil)
	return err
}

// cli runs the pinned spark-pipelines with args, from the work folder (the
// spec is given with --spec), in a process group of its own.
func (b *bench) cli(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, b.inst.SparkPipelines, args...)
	cmd.Dir = b.work
	cmd.Env = append(os.Environ(), b.inst.Env()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ownGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		text := strings.ReplaceAll(out.String(), b.sb.Token, "<redacted>")
		if len(text) > 3000 {
			text = "…" + text[len(text)-3000:]
		}
		return fmt.Errorf("spark-pipelines %s: %w\n%s", args[0], err, text)
	}
	return nil
}

// compareCounts counts the rows of each stored table in both schemas, in a
// new session (a session caches the file listings of tables it read).
func (b *bench) compareCounts(ctx context.Context, tables []string, goSchema, cliSchema string) ([]string, int64, error) {
	c, err := connect.Dial(ctx, b.sb.URL())
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	count := func(table string) (int64, error) {
		res, err := c.Collect(ctx, connect.SQL("SELECT COUNT(*) FROM "+table), connect.ExecOptions{})
		if err != nil {
			return 0, err
		}
		if len(res.Rows) != 1 {
			return 0, fmt.Errorf("count of %s: %d rows", table, len(res.Rows))
		}
		n, _ := res.Rows[0][0].(int64)
		return n, nil
	}
	var out, diff []string
	var total int64
	for _, t := range tables {
		g, err := count(goSchema + "." + t)
		if err != nil {
			return nil, 0, err
		}
		k, err := count(cliSchema + "." + t)
		if err != nil {
			return nil, 0, err
		}
		if g != k {
			diff = append(diff, fmt.Sprintf("%s: sdp-mcp %d, spark-pipelines %d", t, g, k))
		}
		out = append(out, fmt.Sprintf("%s %d", t, g))
		total += g
	}
	if len(diff) > 0 {
		return out, total, errors.New(strings.Join(diff, "; "))
	}
	return out, total, nil
}

// fileURI returns the file:// URI of an absolute path joined with more
// slash-separated parts.
func fileURI(abs string, more ...string) string {
	u := "file://" + filepath.ToSlash(abs)
	for _, m := range more {
		u += "/" + m
	}
	return u
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// p90 is the nearest-rank 90th percentile.
func p90(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(0.9*float64(len(s))))-1]
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
