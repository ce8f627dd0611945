// Command mcpbench measures the MCP server of sdp-mcp (`make bench` runs it):
//
//   - overhead: what the server itself adds to a tool call — JSON-RPC
//     handling, the input schema check, the SQL guard, the draft on disk,
//     the output schema check and the audit log (two synced records per
//     call) — with Spark excluded: the tools drive a fake engine that
//     answers at once. One client in process, calls one after the other,
//     p50/p99 over -calls calls per tool.
//   - guard: the SQL guard on a 1 KiB and a 64 KiB body and the policy's
//     CEL rules on one call, p50/p99.
//   - load: -clients concurrent MCP clients over streamable HTTP calling
//     preview on the real local sandbox Spark through the built binary
//     (`sdp-mcp serve --transport http`, with a bearer token) for
//     -duration: throughput, p50/p99 and errors (a transport error or an
//     isError result; there must be none).
//
// It writes a markdown report to -out (and stdout).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/sdp-mcp/sdp-mcp/bench/internal/benchenv"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func main() { benchenv.Main("mcpbench", run, os.Interrupt) }

func run(ctx context.Context) error {
	var (
		out      = flag.String("out", "", "also write the report (markdown) to this file")
		calls    = flag.Int("calls", 20000, "measured calls per tool in the overhead benchmark (at least 10000)")
		clients  = flag.Int("clients", 32, "concurrent HTTP clients in the load benchmark")
		duration = flag.Duration("duration", 20*time.Second, "length of the load benchmark (at most 30s)")
		bin      = flag.String("bin", "bin/sdp-mcp", "the sdp-mcp binary for the load benchmark")
		only     = flag.String("only", "", "run only one part: overhead, guard or load")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the in-process parts (overhead, guard) to this file")
	)
	flag.Parse()
	stopProfile, err := benchenv.CPUProfile(*cpuprof)
	if err != nil {
		return err
	}
	defer stopProfile()
	switch {
	case *calls < 10000:
		return fmt.Errorf("-calls %d: measure at least 10000 calls per tool", *calls)
	case *duration <= 0 || *duration > 30*time.Second:
		return fmt.Errorf("-duration %s: use a duration up to 30s", *duration)
	case *clients < 1:
		return fmt.Errorf("-clients %d: want at least 1", *clients)
	}

	var report bytes.Buffer
	fmt.Fprintf(&report, "# MCP server benchmark\n\n%s, %s/%s, %d CPUs, %s, Spark %s (local sandbox).\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), sandbox.SparkVersion)
	if *only == "" || *only == "overhead" {
		if err := overhead(ctx, &report, *calls); err != nil {
			return fmt.Errorf("overhead: %w", err)
		}
	}
	if *only == "" || *only == "guard" {
		if err := guardLatency(ctx, &report, 2000); err != nil {
			return fmt.Errorf("guard: %w", err)
		}
	}
	if *only == "" || *only == "load" {
		if err := load(ctx, &report, *bin, *clients, *duration); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return benchenv.WriteReport(report.Bytes(), *out)
}

// stats summarizes latencies.
type stats struct {
	n                  int
	p50, p99, max, sum time.Duration
}

func summarize(lat []time.Duration) stats {
	if len(lat) == 0 {
		return stats{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	st := stats{n: len(s), max: s[len(s)-1]}
	for _, d := range s {
		st.sum += d
	}
	st.p50 = s[quantileIndex(len(s), 0.50)]
	st.p99 = s[quantileIndex(len(s), 0.99)]
	return st
}

// quantileIndex is the nearest-rank index of quantile q in n sorted values.
func quantileIndex(n int, q float64) int {
	i := int(float64(n)*q+0.5) - 1
	return min(max(i, 0), n-1)
}

func (s stats) mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return s.sum / time.Duration(s.n)
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
