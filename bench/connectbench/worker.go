package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// goWorker fetches the query iters times (after one warm-up) with our client
// and prints a sample.
func goWorker(ctx context.Context, url, query string, iters int) error {
	c, err := connect.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	warm, err := c.Collect(ctx, connect.SQL(query), connect.ExecOptions{})
	if err != nil {
		return err
	}
	s := sample{Rows: len(warm.Rows)}
	warm = nil
	for range iters {
		runtime.GC() // start each query from the same heap, as pyspark's worker does
		c0, t0 := cpuTime(), time.Now()
		res, err := c.Collect(ctx, connect.SQL(query), connect.ExecOptions{})
		if err != nil {
			return err
		}
		t1, c1 := time.Now(), cpuTime()
		if len(res.Rows) != s.Rows {
			return fmt.Errorf("row count changed: %d != %d", len(res.Rows), s.Rows)
		}
		s.LatencyMS = append(s.LatencyMS, float64(t1.Sub(t0).Microseconds())/1000)
		s.CPUMS = append(s.CPUMS, float64((c1-c0).Microseconds())/1000)
	}
	s.PeakRSSKB = maxRSSKB()
	return json.NewEncoder(os.Stdout).Encode(s)
}

// idleWorker connects, runs one small query, settles and reports its RSS.
func idleWorker(ctx context.Context, url string) error {
	c, err := connect.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Collect(ctx, connect.SQL("SELECT 1 AS one"), connect.ExecOptions{}); err != nil {
		return err
	}
	runtime.GC()
	time.Sleep(time.Second)
	rss, err := currentRSSKB()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(sample{IdleRSSKB: rss, PeakRSSKB: maxRSSKB()})
}

func currentRSSKB() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("VmRSS not found in /proc/self/status")
}
