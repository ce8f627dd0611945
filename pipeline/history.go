package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// HistoryFile is the history log's path relative to the project folder: one
// JSON object per line, appended after every validation, run and promotion.
// [State] keeps only the latest of each; the history keeps them all.
const HistoryFile = StateDir + "/history.jsonl"

// The kinds of history entries.
const (
	HistoryValidation = "validation"
	HistoryRun        = "run"
	HistoryPromotion  = "promotion"
)

// HistoryEntry is one validation, run or promotion of a pipeline.
type HistoryEntry struct {
	// Kind is one of the History* constants.
	Kind string `json:"kind"`
	// Record is the outcome, as in the state file; for a validation its
	// Datasets say which datasets had problems.
	Record
	// Columns are the columns of each dataset as the engine analysed them
	// (validations only).
	Columns []DatasetColumns `json:"columns,omitempty"`
}

// DatasetColumns are the analysed columns of one dataset.
type DatasetColumns struct {
	Name    string       `json:"name"`
	Columns []ColumnInfo `json:"columns"`
}

// ColumnInfo is one analysed column.
type ColumnInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// maxHistoryLine bounds one history line when reading.
const maxHistoryLine = 4 << 20

// AppendHistory appends e to the history log of the project in dir, as one
// line written with one write call and synced.
func AppendHistory(dir string, e HistoryEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding a history entry: %w", err)
	}
	path := filepath.Join(dir, filepath.FromSlash(HistoryFile))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening the pipeline history: %w", err)
	}
	defer f.Close()
	line = append(line, '\n')
	if endsTorn(path) {
		// The last write was cut short: start on a line of our own.
		line = append([]byte{'\n'}, line...)
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("writing the pipeline history: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing the pipeline history: %w", err)
	}
	return nil
}

// LoadHistory reads the history log of the project in dir, oldest first. A
// project without one has no history; a line that cannot be decoded (a
// write cut short by a crash) is skipped.
func LoadHistory(dir string) ([]HistoryEntry, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(HistoryFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pipeline history: %w", err)
	}
	var out []HistoryEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxHistoryLine)
	for sc.Scan() {
		var e HistoryEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind != "" {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading the pipeline history: %w", err)
	}
	return out, nil
}

// endsTorn reports whether the file at path is not empty and does not end
// with a newline.
func endsTorn(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false
	}
	last := make([]byte, 1)
	_, err = f.ReadAt(last, st.Size()-1)
	return err == nil && last[0] != '\n'
}
