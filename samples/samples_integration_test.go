//go:build integration

package samples_test

import (
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/internal/sparktest"
	"github.com/sdp-mcp/sdp-mcp/samples"
)

// TestLoadDeterministicAndAppend loads the samples twice into fresh
// schemas and compares checksums, checks that a second load keeps what is
// there, and that appending grows the events by exactly N.
func TestLoadDeterministicAndAppend(t *testing.T) {
	ctx := sparktest.Context(t, 5*time.Minute)
	c := sparktest.Client(t)
	load := func(schema string, reset bool) []samples.TableReport {
		t.Helper()
		rep, err := samples.Load(ctx, c, samples.Options{Schema: schema, Reset: reset})
		if err != nil {
			t.Fatalf("load into %s: %v", schema, err)
		}
		return rep
	}
	t.Cleanup(func() {
		for _, s := range []string{"samples_det_a", "samples_det_b"} {
			_, _ = c.Collect(ctx, connect.SQLCommand("DROP SCHEMA IF EXISTS "+s+" CASCADE"), connect.ExecOptions{})
		}
	})
	a := load("samples_det_a", true)
	b := load("samples_det_b", true)
	if len(a) != len(samples.Tables()) {
		t.Fatalf("load reported %d tables, want %d", len(a), len(samples.Tables()))
	}
	for i := range a {
		if !a[i].Created || a[i].Rows == 0 {
			t.Errorf("%s: created %v with %d rows, want a new, non-empty table", a[i].Table, a[i].Created, a[i].Rows)
		}
		if a[i].Rows != b[i].Rows || a[i].Checksum != b[i].Checksum {
			t.Errorf("table %d differs between two loads: %+v vs %+v", i, a[i], b[i])
		}
	}
	if a[4].Rows != samples.InitialEvents {
		t.Errorf("events: %d rows, want %d", a[4].Rows, samples.InitialEvents)
	}

	// Appending 250 then 750 equals appending 1000 in one go.
	grown, err := samples.AppendEvents(ctx, c, samples.Options{Schema: "samples_det_a"}, 250)
	if err != nil {
		t.Fatal(err)
	}
	if grown.Rows != samples.InitialEvents+250 {
		t.Errorf("after --append 250: %d events, want %d", grown.Rows, samples.InitialEvents+250)
	}
	if _, err := samples.AppendEvents(ctx, c, samples.Options{Schema: "samples_det_a"}, 750); err != nil {
		t.Fatal(err)
	}
	one, err := samples.AppendEvents(ctx, c, samples.Options{Schema: "samples_det_b"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	again := load("samples_det_a", false)
	for i := range again {
		if again[i].Created {
			t.Errorf("%s: recreated by a second load, want it kept", again[i].Table)
		}
	}
	if again[4].Rows != one.Rows || again[4].Checksum != one.Checksum {
		t.Errorf("events after 250+750 appends %+v, after one 1000 append %+v: want equal", again[4], one)
	}
	if _, err := samples.AppendEvents(ctx, c, samples.Options{Schema: "samples_det_missing"}, 5); err != samples.ErrNotLoaded {
		t.Errorf("append to a schema without samples: %v, want ErrNotLoaded", err)
	}
}
