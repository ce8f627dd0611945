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
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sdp-mcp/sdp-mcp/bench/internal/benchenv"
	"github.com/sdp-mcp/sdp-mcp/bench/internal/quantile"
	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func main() { benchenv.Main("pipelinebench", run, os.Interrupt, syscall.SIGTERM) }

// config is the benchmark's command line.
type config struct {
	out           string
	validateIters int
	runIters      int
	rows          int
	timeout       time.Duration
	keepSandbox   bool
}

func run(ctx context.Context) error {
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

	opts := benchenv.Options{Keep: c.keepSandbox, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Command: "pipelinebench", Limit: *maxTotal, Cleanup: 2 * time.Minute, Out: c.out}
	return benchenv.Measure(ctx, opts, func(ctx context.Context, r *benchenv.Run) ([]byte, error) {
		return (&bench{Run: r, cfg: c}).measure(ctx)
	})
}

// bench is one benchmark run on its sandbox.
type bench struct {
	*benchenv.Run
	cfg config
}

// measure sets up the sources, the project folder and the engine, runs both
// measurements and returns the report.
func (b *bench) measure(ctx context.Context) ([]byte, error) {
	suffix := time.Now().UnixNano() % 1e12
	src := fmt.Sprintf("pbench_src_%d", suffix)
	goSchema := fmt.Sprintf("pbench_go_%d", suffix)
	cliSchema := fmt.Sprintf("pbench_cli_%d", suffix)
	for _, s := range []string{src, goSchema, cliSchema} {
		if err := b.Scratch.CreateSchema(ctx, s); err != nil {
			return nil, err
		}
	}
	b.Log.Info("creating source tables", "schema", src, "rows", b.cfg.rows)
	if err := b.Scratch.Exec(ctx, sourceTables(src, b.cfg.rows)...); err != nil {
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
	folder.Storage = b.Scratch.StorageURI("cli-storage") // the spec names <root>/<name>
	dir := filepath.Join(b.Scratch.Dir, "project")
	if err := folder.Save(dir); err != nil {
		return nil, err
	}
	spec := filepath.Join(dir, pipeline.SpecFile)

	eng, err := engine.New(ctx, engine.Config{
		URL: b.Sandbox.URL(), Catalog: "spark_catalog", Database: goSchema,
		Storage: b.Scratch.StorageURI("go-storage"), Sources: []string{"spark_catalog." + src},
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
		return b.cli(ctx, "dry-run", "--spec", spec, "--remote", b.Sandbox.PyURL())
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
		return b.cli(ctx, "run", "--spec", spec, "--full-refresh-all", "--remote", b.Sandbox.PyURL())
	}

	b.Log.Info("measuring validation", "iters", b.cfg.validateIters)
	goV, cliV, err := b.sideBySide(ctx, "validation", b.cfg.validateIters, goValidate, cliDry)
	if err != nil {
		return nil, err
	}
	// Where validation time goes: the SDP dry-run alone through our client
	// (the floor of any validation that includes one), and the CLI's fixed
	// start-up (it exits at the spec check, before contacting Spark).
	bare := p.Clone()
	bare.Catalog, bare.Database = "spark_catalog", goSchema
	bare.Storage = b.Scratch.StorageURI("bare-storage")
	bareDry := func(ctx context.Context) error { return b.bareDryRun(ctx, bare) }
	missing := filepath.Join(b.Scratch.Dir, "no-such-dir", pipeline.SpecFile)
	cliStart := func(ctx context.Context) error {
		err := b.cli(ctx, "dry-run", "--spec", missing, "--remote", b.Sandbox.PyURL())
		if err == nil || !strings.Contains(err.Error(), "PIPELINE_SPEC_FILE_DOES_NOT_EXIST") {
			return fmt.Errorf("want PIPELINE_SPEC_FILE_DOES_NOT_EXIST, got %v", err)
		}
		return nil
	}
	b.Log.Info("measuring where validation time goes", "iters", b.cfg.validateIters)
	bareS, startS, err := b.sideBySide(ctx, "diagnostics", b.cfg.validateIters, bareDry, cliStart)
	if err != nil {
		return nil, err
	}

	b.Log.Info("measuring full runs", "iters", b.cfg.runIters)
	goR, cliR, err := b.sideBySide(ctx, "full run", b.cfg.runIters, goRun, cliRun)
	if err != nil {
		return nil, err
	}
	counts, total, countErr := b.compareCounts(ctx, stored(p), goSchema, cliSchema)

	var r bytes.Buffer
	fmt.Fprintf(&r, "Pipeline engine benchmark — %s, Spark %s (local sandbox), %d CPU cores (%s/%s).\n\n",
		time.Now().UTC().Format("2006-01-02"), b.Sandbox.SparkVersion, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&r, "Pipeline: generated, %s; 5 parquet source tables, %d rows in each of orders, web_events and app_events.\n", mix(p), b.cfg.rows)
	fmt.Fprintf(&r, "sdp-mcp: one warm `engine.Engine` in the benchmark process (created once; its first call is not measured). "+
		"CLI: `spark-pipelines` of pyspark %s, one process per call (spark-submit JVM plus Python client) with `--remote` to the same server, "+
		"on the project folder `Pipeline.Save` wrote. Separate schemas and storage per side; calls alternate, after one unmeasured warm-up call each. "+
		"Wall time in seconds; p90 is nearest-rank (the slowest call when n < 10).\n\n", b.Sandbox.Install.Version)
	fmt.Fprintln(&r, "| measurement | n | sdp-mcp p50 | sdp-mcp p90 | spark-pipelines p50 | spark-pipelines p90 | ratio of medians | target | met |")
	fmt.Fprintln(&r, "|---|---:|---:|---:|---:|---:|---:|---|:---:|")
	vRatio := quantile.Median(cliV) / quantile.Median(goV)
	fmt.Fprintf(&r, "| validation: `Validate` vs `dry-run` | %d | %.3f | %.3f | %.3f | %.3f | %.1f× faster | ≥ 10× faster | %s |\n",
		len(goV), quantile.Median(goV), quantile.P90(goV), quantile.Median(cliV), quantile.P90(cliV), vRatio, yes(vRatio >= 10))
	rRatio := quantile.Median(goR) / quantile.Median(cliR)
	fmt.Fprintf(&r, "| full refresh run: `Run` vs `run --full-refresh-all` | %d | %.3f | %.3f | %.3f | %.3f | %.2f× the CLI's time | ≤ 1.1× | %s |\n",
		len(goR), quantile.Median(goR), quantile.P90(goR), quantile.Median(cliR), quantile.P90(cliR), rRatio, yes(rRatio <= 1.1))
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "Where validation time goes (same n, medians / p90):")
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "| part | p50 | p90 |")
	fmt.Fprintln(&r, "|---|---:|---:|")
	fmt.Fprintf(&r, "| SDP dry-run alone through our client (new session, graph, %d SQL files, `StartRun{dry}`) | %.3f | %.3f |\n", len(p.Datasets)+len(p.Flows), quantile.Median(bareS), quantile.P90(bareS))
	fmt.Fprintf(&r, "| `Validate` minus that: static checks, per-dataset analysis, warnings | %.3f | — |\n", quantile.Median(goV)-quantile.Median(bareS))
	fmt.Fprintf(&r, "| spark-pipelines start-up alone (JVM + Python; exits at the spec check) | %.3f | %.3f |\n", quantile.Median(startS), quantile.P90(startS))
	fmt.Fprintf(&r, "| `dry-run` minus that: the CLI's session, registration and dry-run | %.3f | — |\n", quantile.Median(cliV)-quantile.Median(startS))
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
		b.Log.Info(what, "side", side, "call", i, "seconds", fmt.Sprintf("%.3f", s))
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
	c, err := connect.Dial(ctx, b.Sandbox.URL())
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
// spec is given with --spec).
func (b *bench) cli(ctx context.Context, args ...string) error {
	return b.Sandbox.CLI(ctx, b.Scratch.Dir, args...)
}

// compareCounts counts the rows of each stored table in both schemas, in a
// new session (a session caches the file listings of tables it read).
func (b *bench) compareCounts(ctx context.Context, tables []string, goSchema, cliSchema string) ([]string, int64, error) {
	c, err := connect.Dial(ctx, b.Sandbox.URL())
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

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
