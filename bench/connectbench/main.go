// Command connectbench measures sdp-mcp's Spark Connect client side by side
// with pyspark's Spark Connect client, in one run against one sandbox
// server: per-query latency, client CPU and client peak memory for the same
// query at several result sizes; plus the CLI's cold start and the idle
// memory of a connected client. `make bench` runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/bench/internal/benchenv"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

// query returns the benchmark query: n rows of ten columns of mixed types.
func query(n int) string {
	return fmt.Sprintf("SELECT id, CAST(id AS INT) AS i, id * 1.5D AS d, CAST(id AS STRING) AS s, "+
		"id %% 2 = 0 AS b, CAST(id AS DECIMAL(18,2)) AS dec, DATE_ADD(DATE'2020-01-01', CAST(id %% 1000 AS INT)) AS dt, "+
		"TIMESTAMP_SECONDS(id) AS ts, CAST(id %% 100 AS SMALLINT) AS sm, CONCAT('row-', id) AS s2 FROM RANGE(%d)", n)
}

// sample is what a worker process reports.
type sample struct {
	Rows      int       `json:"rows"`
	LatencyMS []float64 `json:"latency_ms"`
	CPUMS     []float64 `json:"cpu_ms"`
	PeakRSSKB int64     `json:"peak_rss_kb"`
	IdleRSSKB int64     `json:"idle_rss_kb,omitempty"`
}

func main() { benchenv.Main("connectbench", run, os.Interrupt) }

func run(ctx context.Context) error {
	var (
		out    = flag.String("out", "", "also write the results table (markdown) to this file")
		sizes  = flag.String("sizes", "1000,100000,1000000", "result sizes in rows, comma-separated")
		iters  = flag.Int("iters", 7, "measured queries per size and client")
		worker = flag.String("worker", "", "internal: run as a worker (go|idle)")
		url    = flag.String("url", "", "internal: Spark Connect URL for a worker")
		q      = flag.String("query", "", "internal: query for a worker")
	)
	flag.Parse()
	switch *worker {
	case "go":
		return goWorker(ctx, *url, *q, *iters)
	case "idle":
		return idleWorker(ctx, *url)
	case "":
	default:
		return fmt.Errorf("unknown worker %q", *worker)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Leaves the sandbox running: the benchmarks after this one in `make bench`
	// reuse it.
	sb, err := benchenv.Start(ctx, benchenv.Options{Keep: true, Logger: log})
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pyScript, err := filepath.Abs(filepath.Join("bench", "pyfetch.py"))
	if err != nil {
		return err
	}

	var report bytes.Buffer
	fmt.Fprintf(&report, "Spark Connect client benchmark — %s, Spark %s (local sandbox), %d measured queries per cell after one warm-up; medians.\n\n",
		time.Now().UTC().Format("2006-01-02"), sandbox.SparkVersion, *iters)
	fmt.Fprintln(&report, "| rows × 10 cols | client | latency p50 (ms) | client CPU p50 (ms) | rows/s | peak RSS (MB) |")
	fmt.Fprintln(&report, "|---:|---|---:|---:|---:|---:|")
	var ratios []string
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad size %q", s)
		}
		log.Info("benchmark", "rows", n)
		goRes, err := runWorker(ctx, self, "-worker", "go", "-url", sb.URL(), "-query", query(n), "-iters", strconv.Itoa(*iters))
		if err != nil {
			return fmt.Errorf("go worker: %w", err)
		}
		pyRes, err := runWorker(ctx, sb.Install.Python, pyScript, "--url", sb.PyURL(), "--query", query(n), "--iters", strconv.Itoa(*iters))
		if err != nil {
			return fmt.Errorf("pyspark worker: %w", err)
		}
		if goRes.Rows != n || pyRes.Rows != n {
			return fmt.Errorf("row counts differ: go %d, pyspark %d, want %d", goRes.Rows, pyRes.Rows, n)
		}
		for _, r := range []struct {
			name string
			s    sample
		}{{"sdp-mcp (Go)", goRes}, {"pyspark " + sandbox.SparkVersion, pyRes}} {
			lat := median(r.s.LatencyMS)
			fmt.Fprintf(&report, "| %d | %s | %.1f | %.1f | %.0f | %.0f |\n", n, r.name, lat, median(r.s.CPUMS),
				float64(n)/(lat/1000), float64(r.s.PeakRSSKB)/1024)
		}
		ratios = append(ratios, fmt.Sprintf("| %d | %.2f× | %.2f× | %.2f× | %.2f× |", n,
			median(goRes.CPUMS)/median(pyRes.CPUMS),
			median(pyRes.LatencyMS)/median(goRes.LatencyMS),
			median(goRes.LatencyMS)/median(pyRes.LatencyMS),
			float64(goRes.PeakRSSKB)/float64(pyRes.PeakRSSKB)))
	}
	fmt.Fprintln(&report, "\nRatios, sdp-mcp ÷ pyspark (CPU target ≤ 0.5×; throughput target ≥ 2× at 1e6 rows):")
	fmt.Fprintln(&report, "\n| rows | client CPU | throughput (rows/s) | latency | peak RSS |")
	fmt.Fprintln(&report, "|---:|---:|---:|---:|---:|")
	for _, r := range ratios {
		fmt.Fprintln(&report, r)
	}

	cold, err := coldStart(ctx, filepath.Join("bin", "sdp-mcp"), 21)
	if err != nil {
		return err
	}
	idle, err := runWorker(ctx, self, "-worker", "idle", "-url", sb.URL())
	if err != nil {
		return fmt.Errorf("idle worker: %w", err)
	}
	fmt.Fprintf(&report, "\n| other | measured | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&report, "| `sdp-mcp --version` cold start, median of 21 | %.1f ms | < 100 ms |\n", cold)
	fmt.Fprintf(&report, "| idle RSS of a connected Go client | %.1f MB | < 40 MB |\n", float64(idle.IdleRSSKB)/1024)

	return benchenv.WriteReport(report.Bytes(), *out)
}

// runWorker runs one worker process and decodes the JSON it prints.
func runWorker(ctx context.Context, name string, args ...string) (sample, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%w: %s", err, tail(stderr.String(), 2000))
	}
	var s sample
	if err := json.Unmarshal(lastLine(stdout.Bytes()), &s); err != nil {
		return sample{}, fmt.Errorf("worker output %q: %w", tail(stdout.String(), 500), err)
	}
	return s, nil
}

// coldStart runs the binary with --version n times and returns the median
// wall time in milliseconds.
func coldStart(ctx context.Context, bin string, n int) (float64, error) {
	var ms []float64
	for range n {
		cmd := exec.CommandContext(ctx, bin, "--version")
		cmd.Stdout = io.Discard
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%s --version: %w", bin, err)
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	return median(ms), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
