// Command scalebench measures how sdp-mcp's validation, preview and drafts
// grow with the size and depth of a pipeline, side by side with the pinned
// `spark-pipelines` CLI, in one run against one sandbox server. Shapes:
// wide (four layers, 100 to 1000 datasets), chain (each dataset reads the one
// before, 25 to 100 deep) and a diamond lattice (each dataset joins two of
// the row before). Measured per shape:
//
//   - `spark-pipelines dry-run` on the project folder Pipeline.Save wrote;
//   - a cold Validate (a new engine, its session warmed on another
//     pipeline, nothing cached);
//   - a re-validation after one dataset's body changed (its columns kept),
//     on the warm engine;
//   - a preview of the deepest dataset;
//
// then `declare_table` through the real MCP server (file audit log on) on
// drafts of 10, 100 and 500 datasets, and a full run of wide-200 against
// `spark-pipelines run --full-refresh-all`. The results (medians, p90,
// targets) go to stdout and, with -out, to a file. From the repository
// root:
//
//	go run ./bench/scalebench -out bench/scale-results.md
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
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sdp-mcp/sdp-mcp/bench/internal/benchenv"
	"github.com/sdp-mcp/sdp-mcp/bench/internal/quantile"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

func main() { benchenv.Main("scalebench", run, os.Interrupt, syscall.SIGTERM) }

type settings struct {
	out            string
	iters          int
	declareCalls   int
	timeout        time.Duration
	previewTimeout time.Duration
	runTimeout     time.Duration
	skipRun        bool
	only           []string
	declareOnly    bool
	revalidateOnly bool
}

func run(ctx context.Context) error {
	var c settings
	flag.StringVar(&c.out, "out", "", "also write the results (markdown) to this file")
	flag.IntVar(&c.iters, "iters", 3, "measured calls per side and measurement")
	flag.IntVar(&c.declareCalls, "declare-calls", 200, "measured declare_table calls per draft size")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on each single call")
	flag.DurationVar(&c.previewTimeout, "preview-timeout", 3*time.Minute, "bound on each preview (previews of deep lattices grow fast)")
	flag.DurationVar(&c.runTimeout, "run-timeout", 30*time.Minute, "bound on each full run of wide-200 (about ten minutes on two cores with Delta)")
	flag.BoolVar(&c.revalidateOnly, "revalidate-only", false, "measure re-validations after one change only (one unmeasured cold validation per shape)")
	flag.BoolVar(&c.declareOnly, "declare-only", false, "measure declare_table only (no Spark needed)")
	flag.BoolVar(&c.skipRun, "skip-run", false, "leave out the full runs of wide-200")
	only := flag.String("shapes", "", "comma-separated shapes to measure (e.g. wide-500,chain-100); default all")
	maxTotal := flag.Duration("max", 90*time.Minute, "bound on the whole benchmark")
	wsFlag := flag.String("workspace", "", "sandbox workspace (default: the shared bench workspace in the user cache)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole benchmark to this file")
	flag.Parse()
	if *only != "" {
		c.only = strings.Split(*only, ",")
	}
	stopProfile, err := benchenv.CPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if c.iters < 1 || c.declareCalls < 10 || c.timeout <= 0 {
		return errors.New("-iters must be ≥ 1, -declare-calls ≥ 10, -timeout > 0")
	}
	opts := benchenv.Options{Workspace: *wsFlag, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Command: "scalebench", Limit: *maxTotal, Cleanup: 5 * time.Minute, Out: c.out}
	return benchenv.Measure(ctx, opts, func(ctx context.Context, r *benchenv.Run) ([]byte, error) {
		return (&bench{Run: r, cfg: c}).measure(ctx)
	})
}

// bench is one benchmark run on its sandbox.
type bench struct {
	*benchenv.Run
	cfg    settings
	src    string // the source schema
	suffix int64  // of the run's schema names
}

// schema creates a schema of the benchmark (dropped with the scratch).
func (b *bench) schema(ctx context.Context, kind string) (string, error) {
	s := fmt.Sprintf("sbench_%s_%d", strings.NewReplacer("-", "_").Replace(kind), b.suffix)
	return s, b.Scratch.CreateSchema(ctx, s)
}

// result is what was measured on one shape.
type result struct {
	s                   *shape
	cli, cold, re, prev []float64
	coldA, coldD        []float64 // analysis and full dry-run within the cold validations
	reA, reD            []float64 // analysis and partial dry-run within the re-validations
	cliErr, prevErr     string
	reChecks            *engine.ValidationChecks
	coldChecks          *engine.ValidationChecks
}

func (b *bench) measure(ctx context.Context) ([]byte, error) {
	var err error
	b.suffix = time.Now().UnixNano() % 1e12
	if b.src, err = b.schema(ctx, "src"); err != nil {
		return nil, err
	}
	if err := b.Scratch.Exec(ctx, sourceTables(b.src)...); err != nil {
		return nil, err
	}
	src := "spark_catalog." + b.src
	var shapes []*shape
	for _, mk := range []func() (*shape, error){
		func() (*shape, error) { return wide(src, 100) },
		func() (*shape, error) { return wide(src, 200) },
		func() (*shape, error) { return wide(src, 500) },
		func() (*shape, error) { return wide(src, 1000) },
		func() (*shape, error) { return chain(src, 25) },
		func() (*shape, error) { return chain(src, 50) },
		func() (*shape, error) { return chain(src, 100) },
		func() (*shape, error) { return lattice(src, 4) },
		func() (*shape, error) { return lattice(src, 6) },
		func() (*shape, error) { return lattice(src, 8) },
	} {
		s, err := mk()
		if err != nil {
			return nil, err
		}
		if len(b.cfg.only) == 0 || slices.Contains(b.cfg.only, s.name) {
			shapes = append(shapes, s)
		}
	}
	// One unmeasured CLI call: the first JVM start reads cold files.
	if err := b.cli(ctx, "dry-run", "--spec", filepath.Join(b.Scratch.Dir, "none", pipeline.SpecFile), "--remote", b.Sandbox.PyURL()); err == nil {
		return nil, errors.New("the CLI accepted a missing spec file")
	}
	var results []*result
	if b.cfg.declareOnly {
		shapes, b.cfg.skipRun = nil, true
	}
	if b.cfg.revalidateOnly {
		b.cfg.skipRun = true
	}
	for _, s := range shapes {
		r, err := b.shape(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		results = append(results, r)
		b.partial(b.report(results, nil, 0, 0))
	}
	var decl []declareResult
	if !b.cfg.revalidateOnly {
		if decl, err = b.declare(ctx); err != nil {
			return nil, err
		}
	}
	b.partial(b.report(results, decl, 0, 0))
	var runGo, runCLI float64
	if !b.cfg.skipRun {
		i := slices.IndexFunc(shapes, func(s *shape) bool { return s.name == "wide-200" })
		if i < 0 {
			return nil, errors.New("the full run measures wide-200: add it to -shapes or pass -skip-run")
		}
		if runGo, runCLI, err = b.fullRun(ctx, shapes[i]); err != nil {
			return nil, err
		}
	}
	return b.report(results, decl, runGo, runCLI), nil
}

// partial writes the report so far to -out, so that a benchmark stopped
// part way keeps what it measured (the final report replaces it).
func (b *bench) partial(report []byte) {
	if b.cfg.out == "" {
		return
	}
	if err := os.WriteFile(b.cfg.out, append(report, []byte("\n(Partial: the benchmark did not finish.)\n")...), 0o644); err != nil {
		b.Log.Warn("writing the partial report", "err", err)
	}
}

// shape measures one shape.
func (b *bench) shape(ctx context.Context, s *shape) (*result, error) {
	r := &result{s: s}
	cliSchema, err := b.schema(ctx, "cli_"+s.name)
	if err != nil {
		return nil, err
	}
	goSchema, err := b.schema(ctx, "go_"+s.name)
	if err != nil {
		return nil, err
	}
	folder := s.p.Clone()
	folder.Catalog, folder.Database = "spark_catalog", cliSchema
	folder.Storage = b.Scratch.StorageURI("cli-storage-" + s.name)
	dir := filepath.Join(b.Scratch.Dir, "project-"+s.name)
	if err := folder.Save(dir); err != nil {
		return nil, err
	}
	spec := filepath.Join(dir, pipeline.SpecFile)
	var eng *engine.Engine
	defer func() {
		if eng != nil {
			eng.Close()
		}
	}()
	for i := 0; i < b.cfg.iters; i++ {
		// The CLI's dry-run.
		var t float64
		var err error
		if !b.cfg.revalidateOnly {
			t, err = b.timed(ctx, func(ctx context.Context) error {
				return b.cli(ctx, "dry-run", "--spec", spec, "--remote", b.Sandbox.PyURL())
			})
		}
		switch {
		case b.cfg.revalidateOnly:
		case err != nil:
			r.cliErr = firstLine(err.Error())
			b.Log.Warn("CLI dry-run failed", "shape", s.name, "err", err)
		default:
			r.cli = append(r.cli, t)
		}
		// A cold validation: a new engine, warmed on another pipeline.
		if eng != nil {
			eng.Close()
		}
		if eng, err = b.engine(ctx, goSchema); err != nil {
			return nil, err
		}
		var res *engine.ValidationResult
		t, err = b.timed(ctx, func(ctx context.Context) error {
			res, err = eng.Validate(ctx, s.p)
			return ok(res, err)
		})
		if err != nil {
			return nil, fmt.Errorf("cold validate: %w", err)
		}
		r.cold, r.coldChecks = append(r.cold, t), res.Checks
		r.coldA = append(r.coldA, res.Checks.AnalysisTime.Seconds())
		r.coldD = append(r.coldD, res.Checks.DryRunTime.Seconds())
		b.Log.Info("measured", "shape", s.name, "cli", r.cli, "cold", r.cold)
	}
	// Re-validations after one change, on the warm engine (cheap: at
	// least five).
	for i := 1; i <= max(b.cfg.iters, 5); i++ {
		q, err := changed(s.p, s.change, i)
		if err != nil {
			return nil, err
		}
		var res *engine.ValidationResult
		t, err := b.timed(ctx, func(ctx context.Context) error {
			res, err = eng.Validate(ctx, q)
			return ok(res, err)
		})
		if err != nil {
			return nil, fmt.Errorf("re-validate: %w", err)
		}
		r.re, r.reChecks = append(r.re, t), res.Checks
		r.reA = append(r.reA, res.Checks.AnalysisTime.Seconds())
		r.reD = append(r.reD, res.Checks.DryRunTime.Seconds())
	}
	// Previews of the deepest dataset.
	for i := 0; i < b.cfg.iters && !b.cfg.revalidateOnly; i++ {
		pctx, cancel := context.WithTimeout(ctx, b.cfg.previewTimeout)
		t, err := b.timed(pctx, func(ctx context.Context) error {
			res, err := eng.Preview(ctx, s.p, engine.PreviewRequest{Dataset: s.deepest, Limit: 10})
			if err == nil && len(res.Rows) == 0 {
				err = fmt.Errorf("preview of %s returned no rows", s.deepest)
			}
			return err
		})
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(fmt.Sprint(err), "did not finish within") {
			r.prevErr = fmt.Sprintf("did not finish within %s", b.cfg.previewTimeout)
			break
		}
		if err != nil {
			return nil, fmt.Errorf("preview: %w", err)
		}
		r.prev = append(r.prev, t)
	}
	b.Log.Info("measured", "shape", s.name, "re", r.re, "preview", r.prev)
	return r, nil
}

func ok(res *engine.ValidationResult, err error) error {
	switch {
	case err != nil:
		return err
	case !res.OK:
		return fmt.Errorf("validate found problems: %v", res.Problems)
	}
	return nil
}

// engine returns a new engine whose session is warm (it validated a
// one-dataset pipeline), with nothing cached about the shapes.
func (b *bench) engine(ctx context.Context, schema string) (*engine.Engine, error) {
	eng, err := engine.New(ctx, engine.Config{
		URL: b.Sandbox.URL(), Catalog: "spark_catalog", Database: schema,
		Storage: b.Scratch.StorageURI("go-storage-" + schema), Sources: []string{"spark_catalog." + b.src},
		CallTimeout: b.cfg.timeout,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	warm := &pipeline.Pipeline{Name: "warm"}
	if _, err := warm.PutDataset(mv("one", "SELECT k FROM spark_catalog."+b.src+".dims")); err != nil {
		return nil, err
	}
	if err := ok(eng.Validate(ctx, warm)); err != nil {
		eng.Close()
		return nil, fmt.Errorf("warming the engine: %w", err)
	}
	return eng, nil
}

// fullRun runs s in full on both sides, once each.
func (b *bench) fullRun(ctx context.Context, s *shape) (goS, cliS float64, err error) {
	goSchema, err := b.schema(ctx, "run_go")
	if err != nil {
		return 0, 0, err
	}
	cliSchema, err := b.schema(ctx, "run_cli")
	if err != nil {
		return 0, 0, err
	}
	eng, err := b.engine(ctx, goSchema)
	if err != nil {
		return 0, 0, err
	}
	defer eng.Close()
	goS, err = b.timedWithin(ctx, b.cfg.runTimeout, func(ctx context.Context) error {
		res, err := eng.Run(ctx, s.p, engine.RunOptions{FullRefreshAll: true}, nil)
		if err == nil && !res.OK {
			err = fmt.Errorf("run failed: %+v", res.Failure)
		}
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("run %s: %w", s.name, err)
	}
	folder := s.p.Clone()
	folder.Catalog, folder.Database = "spark_catalog", cliSchema
	folder.Storage = b.Scratch.StorageURI("run-cli-storage")
	dir := filepath.Join(b.Scratch.Dir, "run-project")
	if err := folder.Save(dir); err != nil {
		return 0, 0, err
	}
	cliS, err = b.timedWithin(ctx, b.cfg.runTimeout, func(ctx context.Context) error {
		return b.cli(ctx, "run", "--spec", filepath.Join(dir, pipeline.SpecFile), "--full-refresh-all", "--remote", b.Sandbox.PyURL())
	})
	return goS, cliS, err
}

// timed calls fn under the per-call timeout and returns its wall time.
func (b *bench) timed(ctx context.Context, fn func(context.Context) error) (float64, error) {
	return b.timedWithin(ctx, b.cfg.timeout, fn)
}

// timedWithin calls fn under the given bound and returns its wall time.
func (b *bench) timedWithin(ctx context.Context, bound time.Duration, fn func(context.Context) error) (float64, error) {
	cctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	t0 := time.Now()
	err := fn(cctx)
	return time.Since(t0).Seconds(), err
}

// cli runs the pinned spark-pipelines from the work folder.
func (b *bench) cli(ctx context.Context, args ...string) error {
	return b.Sandbox.CLI(ctx, b.Scratch.Dir, args...)
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "Exception") || strings.Contains(l, "Error") {
			return strings.TrimSpace(l)
		}
	}
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// report renders the results.
func (b *bench) report(rs []*result, decl []declareResult, runGo, runCLI float64) []byte {
	var r bytes.Buffer
	fmt.Fprintf(&r, "# Scale benchmark — %s, Spark %s (local sandbox), %d CPU cores (%s/%s)\n\n",
		time.Now().UTC().Format("2006-01-02"), b.Sandbox.SparkVersion, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&r, "Reproduce: `go run ./bench/scalebench -out bench/scale-results.md` (part of `make bench`). "+
		"One run, one sandbox server. sdp-mcp: `engine.Engine` in the benchmark process; a cold validation uses a new engine "+
		"(its session warmed on another pipeline, nothing cached); the re-validation changes one dataset's body in the middle "+
		"of the graph (its columns kept) on the warm engine; the preview shows 10 rows of the deepest dataset. "+
		"CLI: `spark-pipelines` of pyspark %s, one process per call, `--remote` to the same server, on the folder "+
		"`Pipeline.Save` wrote. Wall time in seconds, medians of %d (p90 nearest-rank).\n\n", b.Sandbox.Install.Version, b.cfg.iters)
	fmt.Fprintln(&r, "| shape | datasets | CLI dry-run p50 | validate cold p50 (p90) | cold / CLI | re-validate p50 (p90) | re-validate checks | preview deepest p50 |")
	fmt.Fprintln(&r, "|---|---:|---:|---:|---:|---:|---|---:|")
	for _, x := range rs {
		cli := fmt.Sprintf("%.3f", quantile.Median(x.cli))
		ratio := fmt.Sprintf("%.2f", quantile.Median(x.cold)/quantile.Median(x.cli))
		switch {
		case b.cfg.revalidateOnly:
			cli, ratio = "not run", "—"
		case len(x.cli) == 0:
			cli, ratio = "fails", "—"
		}
		fmt.Fprintf(&r, "| %s | %d | %s | %.3f (%.3f) | %s | %.3f (%.3f) | %d analysed, %d reused, dry-run %s of %d | %.3f |\n",
			x.s.name, x.s.n, cli, quantile.Median(x.cold), quantile.P90(x.cold), ratio, quantile.Median(x.re), quantile.P90(x.re),
			x.reChecks.Analyzed, x.reChecks.Reused, x.reChecks.DryRun, x.reChecks.DryRunElements, quantile.Median(x.prev))
	}
	for _, x := range rs {
		if x.cliErr != "" {
			fmt.Fprintf(&r, "\nCLI dry-run of %s failed: `%s`\n", x.s.name, x.cliErr)
		}
		if x.prevErr != "" {
			fmt.Fprintf(&r, "\nPreview of %s's deepest dataset %s.\n", x.s.name, x.prevErr)
		}
	}
	fmt.Fprintln(&r, "\nWhere a cold validation's time goes (medians; the per-dataset analysis and the full SDP dry-run run side by side, "+
		"the dry-run in a session of its own, as the CLI's does after its start-up):")
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "| shape | validate cold | analysis (stand-ins, plan check) | full dry-run through our client | re-validate | its analysis | its partial dry-run (after the analysis) |")
	fmt.Fprintln(&r, "|---|---:|---:|---:|---:|---:|---:|")
	for _, x := range rs {
		fmt.Fprintf(&r, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", x.s.name, quantile.Median(x.cold), quantile.Median(x.coldA), quantile.Median(x.coldD),
			quantile.Median(x.re), quantile.Median(x.reA), quantile.Median(x.reD))
	}
	fmt.Fprintln(&r, "\nGrowth with n (milliseconds per dataset, medians):")
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "| shape | CLI dry-run | validate cold | re-validate | preview deepest |")
	fmt.Fprintln(&r, "|---|---:|---:|---:|---:|")
	for _, x := range rs {
		n := float64(x.s.n)
		fmt.Fprintf(&r, "| %s | %.1f | %.1f | %.2f | %.1f |\n", x.s.name, 1000*quantile.Median(x.cli)/n, 1000*quantile.Median(x.cold)/n, 1000*quantile.Median(x.re)/n, 1000*quantile.Median(x.prev)/n)
	}
	fmt.Fprintln(&r, "\n`declare_table` through the MCP server (in-process mcp-go client, the real file audit log, the SQL guard, "+
		"the draft written to disk), re-declaring one dataset of a draft of n datasets:")
	fmt.Fprintln(&r)
	fmt.Fprintln(&r, "| draft size | calls | p50 (ms) | p99 (ms) |")
	fmt.Fprintln(&r, "|---:|---:|---:|---:|")
	for _, d := range decl {
		fmt.Fprintf(&r, "| %d | %d | %.2f | %.2f |\n", d.n, d.calls, d.p50, d.p99)
	}
	if runGo > 0 {
		fmt.Fprintf(&r, "\nFull run of wide-200 (every dataset fully refreshed, one call each): sdp-mcp `Run` %.1f s, `spark-pipelines run --full-refresh-all` %.1f s (%.2f× the CLI's time).\n",
			runGo, runCLI, runGo/runCLI)
	}
	fmt.Fprintln(&r, "\nTargets:")
	fmt.Fprintln(&r)
	for _, x := range rs {
		switch x.s.name {
		case "wide-500":
			if b.cfg.revalidateOnly {
				fmt.Fprintf(&r, "- re-validate after one change ≤ 0.5 s at 500 datasets: %.3f s — %s\n", quantile.Median(x.re), yes(quantile.Median(x.re) <= 0.5))
				continue
			}
			fmt.Fprintf(&r, "- wide-500 validate ≤ 0.5× the CLI dry-run: %.2f× — %s\n", quantile.Median(x.cold)/quantile.Median(x.cli), yes(quantile.Median(x.cold) <= 0.5*quantile.Median(x.cli)))
			fmt.Fprintf(&r, "- re-validate after one change ≤ 0.5 s at 500 datasets: %.3f s — %s\n", quantile.Median(x.re), yes(quantile.Median(x.re) <= 0.5))
		case "chain-100":
			if b.cfg.revalidateOnly {
				continue
			}
			fmt.Fprintf(&r, "- chain-100 validates and previews: validate %.2f s, preview %.2f s — yes\n", quantile.Median(x.cold), quantile.Median(x.prev))
		}
	}
	for _, d := range decl {
		if d.n == 500 {
			fmt.Fprintf(&r, "- declare_table p50 ≤ 2 ms at 500 datasets: %.2f ms — %s\n", d.p50, yes(d.p50 <= 2))
		}
	}
	return r.Bytes()
}
