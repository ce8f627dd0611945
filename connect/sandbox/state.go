package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is the content of "<workspace>/sandbox/state.json": what a later
// process needs to find, use and stop a running server. It contains the
// token, so the file is written with mode 0600.
type State struct {
	PID          int       `json:"pid"`
	PGID         int       `json:"pgid"`
	Port         int       `json:"port"`
	Token        string    `json:"token"`
	URL          string    `json:"url"`
	SparkVersion string    `json:"spark_version"`
	SparkLine    string    `json:"spark_line,omitempty"`
	TableFormat  string    `json:"table_format,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	LogPath      string    `json:"log_path"`
	Workspace    string    `json:"workspace"`
	SparkHome    string    `json:"spark_home,omitempty"`
}

// profile is the recorded profile; a state written before profiles existed
// is Spark 4.3 with parquet, the only sandbox there was.
func (s *State) profile() Profile {
	if s.SparkLine == "" && s.TableFormat == "" {
		return Profile{Spark: "4.3", Format: FormatParquet}
	}
	return Profile{Spark: s.SparkLine, Format: s.TableFormat}
}

// ReadState reads a state file. A missing file returns an error matching
// os.ErrNotExist.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if s.PID <= 0 || s.Port <= 0 {
		return nil, fmt.Errorf("parsing %s: missing pid or port", path)
	}
	return &s, nil
}

// WriteState writes s to path atomically (temporary file in the same
// directory, fsync, rename) with mode 0600, so readers see either the old or
// the new content and the token is never world-readable.
func WriteState(path string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return writeFileAtomic(path, b, 0o600)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; be explicit in case perm differs.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// removeState deletes the state file; a missing file is fine.
func removeState(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
