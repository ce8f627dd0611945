package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// recorder is a TCP listener that counts the connections made to it and
// closes them at once: a stand-in for a Spark Connect server that proves
// whether anything was sent.
type recorder struct {
	ln    net.Listener
	conns atomic.Int32
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return r
}

func (r *recorder) url() string { return "sc://" + r.ln.Addr().String() }

func testEngine(t *testing.T, url string) *Engine {
	t.Helper()
	e, err := New(context.Background(), Config{URL: url, Catalog: "spark_catalog", Database: "shop",
		Storage: "file:///tmp/sdp-mcp-test-storage", Sources: []string{"spark_catalog.samples"}, CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// cyclic is a -> b -> a, plus a dataset with a bad name.
func cyclic() *pipeline.Pipeline {
	return &pipeline.Pipeline{Name: "loop", Datasets: []pipeline.Dataset{
		{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT * FROM b"},
		{Name: "b", Kind: pipeline.MaterializedView, Query: "SELECT * FROM a"},
		{Name: "c", Kind: pipeline.MaterializedView, Query: "SELECT * FROM samples.orders"},
	}}
}

func TestStaticProblemsSendNothing(t *testing.T) {
	rec := newRecorder(t)
	e := testEngine(t, rec.url())
	ctx := context.Background()

	v, err := e.Validate(ctx, cyclic())
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || len(v.Problems) == 0 || !strings.Contains(v.Problems.Error(), "a -> b -> a") {
		t.Fatalf("validate of a cycle: %+v", v)
	}
	if h, _ := cyclic().Hash(); v.PipelineHash != h || !strings.Contains(v.Mermaid, "d_a") || len(v.Datasets) != 3 {
		t.Errorf("validate result lacks hash, graph or datasets: %+v", v)
	}
	_, err = e.Run(ctx, cyclic(), RunOptions{}, nil)
	var ps pipeline.Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "cycle") {
		t.Errorf("run of a cycle: %v, want problems", err)
	}
	// A bad refresh selection is refused before anything is sent too.
	ok := &pipeline.Pipeline{Name: "fine", Datasets: []pipeline.Dataset{{Name: "a", Kind: pipeline.MaterializedView, Query: "SELECT 1 AS x"}}}
	if _, err := e.Run(ctx, ok, RunOptions{Refresh: []string{"nosuch"}}, nil); !errors.As(err, &ps) {
		t.Errorf("run with an unknown refresh selection: %v, want problems", err)
	}
	if _, err := e.Preview(ctx, ok, PreviewRequest{Dataset: "nosuch"}); !errors.As(err, &ps) {
		t.Errorf("preview of an unknown dataset: %v, want problems", err)
	}
	if _, err := e.DescribeSource(ctx, "other.orders"); !errors.As(err, &ps) || !strings.Contains(ps.Error(), "spark_catalog.samples") {
		t.Errorf("describe outside the source schemas: %v, want a problem naming them", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := rec.conns.Load(); n != 0 {
		t.Fatalf("%d connections reached the server for checks that need no server", n)
	}

	// The recorder does see an engine that sends something.
	if _, err := e.ListSources(ctx, "*"); err == nil {
		t.Error("listing against a server that hangs up succeeded")
	}
	if n := rec.conns.Load(); n == 0 {
		t.Error("the recorder saw no connection: it cannot prove anything")
	}
}

func TestNewChecksConfig(t *testing.T) {
	good := Config{URL: "sc://localhost:15002", Catalog: "spark_catalog", Database: "shop", Storage: "file:///data/storage",
		Sources: []string{"spark_catalog.samples"}}
	if _, err := New(context.Background(), good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		change func(*Config)
		says   string
	}{
		{func(c *Config) { c.URL = "http://localhost" }, "URL"},
		{func(c *Config) { c.Catalog = "" }, "Catalog"},
		{func(c *Config) { c.Database = "a.b" }, "Database"},
		{func(c *Config) { c.Storage = "/data/storage" }, "Storage"},
		{func(c *Config) { c.Storage = "file:relative" }, "Storage"},
		{func(c *Config) { c.Sources = []string{"samples"} }, "catalog.schema"},
		{func(c *Config) { c.Sources = []string{"a.b.c.d"} }, "catalog.schema.table"},
		{func(c *Config) { c.Sources = []string{"a.*.c"} }, "catalog.schema.table"},
		{func(c *Config) { c.Sources = []string{"a.b.c?"} }, "catalog.schema.table"},
		{func(c *Config) { c.CallTimeout = -time.Second }, "CallTimeout"},
	} {
		cfg := good
		tc.change(&cfg)
		if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("config %+v: %v, want an error about %s", cfg, err, tc.says)
		}
	}
}

func TestBindComesFromConfig(t *testing.T) {
	e := testEngine(t, "sc://localhost:1")
	p := &pipeline.Pipeline{Name: "shop", Catalog: "agent_catalog", Database: "agent_db", Storage: "file:///elsewhere"}
	b := e.bind(p)
	if b.Catalog != "spark_catalog" || b.Database != "shop" || b.Storage != "file:///tmp/sdp-mcp-test-storage" || b.StoragePath() != "file:///tmp/sdp-mcp-test-storage/shop" {
		t.Errorf("bound pipeline %+v", b)
	}
	if p.Catalog != "agent_catalog" {
		t.Error("bind changed the caller's pipeline")
	}
}
