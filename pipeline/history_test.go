package pipeline

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHistoryAppendLoad(t *testing.T) {
	dir := t.TempDir()
	if h, err := LoadHistory(dir); err != nil || h != nil {
		t.Fatalf("empty history: %v %v", h, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := AppendHistory(dir, HistoryEntry{Kind: HistoryValidation, Record: Record{PipelineHash: "h1", StartedAt: t0, FinishedAt: t0, OK: true},
		Columns: []DatasetColumns{{Name: "a", Columns: []ColumnInfo{{Name: "x", Type: "int"}}}}}); err != nil {
		t.Fatal(err)
	}
	// A torn line (a crash mid-write) is skipped, not fatal.
	f, err := os.OpenFile(filepath.Join(dir, HistoryFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"run","pipeline_ha`)
	f.Close()
	if err := AppendHistory(dir, HistoryEntry{Kind: HistoryRun, Record: Record{PipelineHash: "h1", OK: false,
		Datasets: []Outcome{{Name: "a", Status: "failed", Expectations: []ExpectationCount{{Name: "e", Passed: 2, Failed: 1}}}}}}); err != nil {
		t.Fatal(err)
	}
	h, err := LoadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[1].Kind != HistoryRun || h[1].Datasets[0].Expectations[0].Failed != 1 || h[0].Kind != HistoryValidation || h[0].Columns[0].Columns[0].Name != "x" || !h[0].StartedAt.Equal(t0) {
		t.Fatalf("history: %+v", h)
	}
}
