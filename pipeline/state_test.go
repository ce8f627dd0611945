package pipeline

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	empty, err := LoadState(dir)
	if err != nil {
		t.Fatalf("LoadState without a file: %v", err)
	}
	if diff := cmp.Diff(&State{Version: 1}, empty, ignoreMemo); diff != "" {
		t.Errorf("empty state (-want +got):\n%s", diff)
	}
	start := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	rows := int64(42)
	s := &State{
		Validation: &Record{PipelineHash: "abc", StartedAt: start, FinishedAt: start.Add(3 * time.Second), OK: true},
		Run: &Record{PipelineHash: "abc", StartedAt: start.Add(time.Minute), FinishedAt: start.Add(2 * time.Minute),
			Problems: []Problem{{On: "dataset", Name: "orders", Message: "run failed", Fix: "look at the error"}},
			Datasets: []Outcome{
				{Name: "orders", Status: "failed", Message: "boom"},
				{Name: "totals", Status: "completed", Rows: &rows,
					Expectations: []ExpectationCount{{Name: "positive", Passed: 40, Failed: 2}}},
			}},
	}
	if err := SaveState(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Version = 1
	if diff := cmp.Diff(s, got, ignoreMemo); diff != "" {
		t.Errorf("state round trip (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, ".sdp-mcp", "state.json")); err != nil {
		t.Errorf("state file not at .sdp-mcp/state.json: %v", err)
	}

	writeFile(t, filepath.Join(dir, ".sdp-mcp", "state.json"), `{"version":1,"surprise":true}`)
	if _, err := LoadState(dir); err == nil {
		t.Errorf("LoadState accepted an unknown field")
	}
	writeFile(t, filepath.Join(dir, ".sdp-mcp", "state.json"), `{"version":7}`)
	if _, err := LoadState(dir); err == nil {
		t.Errorf("LoadState accepted an unknown version")
	}
}

func TestStateIsOutsideTheLibraryGlob(t *testing.T) {
	p := mustPut(t, &Pipeline{Name: "p", Storage: "s3a://b/p"}, Dataset{Name: "a", Kind: MaterializedView, Query: "SELECT 1"})
	dir := t.TempDir()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := SaveState(dir, &State{Validation: &Record{PipelineHash: "h", OK: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("Load after SaveState: %v", err)
	}
}

func TestCheckPromotable(t *testing.T) {
	ok := &Record{PipelineHash: "h1", OK: true}
	tests := []struct {
		name             string
		s                State
		requested, draft string
		wantOK           bool
	}{
		{"validated draft", State{Validation: ok}, "h1", "h1", true},
		{"never validated", State{}, "h1", "h1", false},
		{"draft changed since validation", State{Validation: ok}, "h2", "h2", false},
		{"draft changed since the agent saw it", State{Validation: ok}, "h1", "h2", false},
		{"validation failed", State{Validation: &Record{PipelineHash: "h1", Problems: []Problem{{On: "dataset", Message: "x"}}}}, "h1", "h1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.CheckPromotable(tc.requested, tc.draft)
			if (err == nil) != tc.wantOK {
				t.Errorf("CheckPromotable = %v, want ok=%v", err, tc.wantOK)
			}
			if err != nil {
				if diff := cmp.Diff([]where{{"pipeline", "", "pipeline_hash", tc.requested}}, wheres(t, err), ignoreMemo); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestHash(t *testing.T) {
	p := everyFeaturePipeline(t)
	h, err := p.Hash()
	if err != nil {
		t.Fatal(err)
	}
	// The hash is part of the state file's contract: it must not change
	// unless the canonical encoding's version does.
	checkGolden(t, "every_feature/hash.txt", []byte(h+"\n"))

	same := p.Clone()
	same.Catalog, same.Database, same.Storage = "prod", "shop", "s3a://prod-bucket/shop"
	same.Datasets[0].PartitionBy = []string{} // empty and absent are the same
	slicesReverse(same.Datasets)
	slicesReverse(same.Flows)
	if h2, _ := same.Hash(); h2 != h {
		t.Errorf("hash depends on the environment or on order: %s != %s", h2, h)
	}

	for name, mod := range map[string]func(*Pipeline){
		"query":   func(p *Pipeline) { p.Datasets[0].Query += " " },
		"comment": func(p *Pipeline) { p.Datasets[0].Comment = "other" },
		"expectation": func(p *Pipeline) {
			i, _ := p.datasetIndex("orders_clean")
			p.Datasets[i].Expectations[0].OnViolation = Warn
		},
		"flow comment":  func(p *Pipeline) { p.Flows[0].Comment = "x" },
		"configuration": func(p *Pipeline) { p.Configuration["k"] = "v" },
		"name":          func(p *Pipeline) { p.Name = "other" },
	} {
		c := p.Clone()
		mod(c)
		if h2, _ := c.Hash(); h2 == h {
			t.Errorf("changing the %s did not change the hash", name)
		}
	}
}

func slicesReverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
