package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the state file's path relative to the project folder. It is
// outside the spec's transformations/** glob.
const StateFile = StateDir + "/state.json"

// stateVersion versions the state file's format.
const stateVersion = 1

// State records what happened to a pipeline's draft: the last validation,
// run and promotion. It lives beside the draft in [StateFile].
type State struct {
	// Version is the file format version.
	Version int `json:"version"`
	// Validation is the last validation, if any.
	Validation *Record `json:"validation,omitempty"`
	// Run is the last sandbox run, if any.
	Run *Record `json:"run,omitempty"`
	// Promotion is the last promotion to production, if any.
	Promotion *Record `json:"promotion,omitempty"`
}

// Record is the outcome of one validation, run or promotion.
type Record struct {
	// PipelineHash is [Pipeline.Hash] of the draft it was about.
	PipelineHash string `json:"pipeline_hash"`
	// StartedAt and FinishedAt bracket the operation (UTC).
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// OK is true when the operation succeeded with no problems.
	OK bool `json:"ok"`
	// Problems lists everything that was wrong.
	Problems []Problem `json:"problems,omitempty"`
	// Datasets holds per-dataset (and per-flow) outcomes, in name order.
	Datasets []Outcome `json:"datasets,omitempty"`
}

// Outcome is what happened to one dataset or flow.
type Outcome struct {
	// Name is the dataset or flow name.
	Name string `json:"name"`
	// Status is the engine's final state for it, e.g. "completed", "failed",
	// "skipped", or "ok" for a validation.
	Status string `json:"status"`
	// Message explains a failure, when there is one.
	Message string `json:"message,omitempty"`
	// Rows is the number of rows written, when the engine reports it.
	Rows *int64 `json:"rows,omitempty"`
	// Expectations holds the expectation counts computed after a run.
	Expectations []ExpectationCount `json:"expectations,omitempty"`
}

// ExpectationCount is how many rows passed and failed an expectation.
type ExpectationCount struct {
	Name   string `json:"name"`
	Passed int64  `json:"passed"`
	Failed int64  `json:"failed"`
}

// LoadState reads the state file of the project in dir. A project without a
// state file has an empty state.
func LoadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(StateFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: stateVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pipeline state: %w", err)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", StateFile, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("reading %s: unsupported version %d (this build reads version %d)", StateFile, s.Version, stateVersion)
	}
	return &s, nil
}

// SaveState writes s to the state file of the project in dir, atomically.
func SaveState(dir string, s *State) error {
	c := *s
	c.Version = stateVersion
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the pipeline state: %w", err)
	}
	data = append(data, '\n')
	return writeAtomic(tmpDir(dir), filepath.Join(dir, filepath.FromSlash(StateFile)), data)
}

// CheckPromotable returns nil when the draft may be promoted: requested
// (the pipeline_hash the agent asks to promote) is the current draft's hash,
// and the last validation succeeded on exactly that draft. Otherwise it
// returns [Problems] saying what to do.
func (s *State) CheckPromotable(requested, draft string) error {
	v := s.Validation
	fix := "call validate on the current draft, fix what it reports, then promote the pipeline_hash it returns"
	var msg string
	switch {
	case requested != draft:
		msg = "the draft changed after this hash was computed (the draft is now " + short(draft) + ")"
	case v == nil:
		msg = "the pipeline has never been validated"
	case v.PipelineHash != draft:
		msg = "the draft changed since the last validation (which was of " + short(v.PipelineHash) + ")"
	case !v.OK:
		msg = fmt.Sprintf("the last validation of this draft failed with %d problem(s)", len(v.Problems))
	default:
		return nil
	}
	return Problems{{On: "pipeline", Field: "pipeline_hash", Got: requested, Message: msg, Fix: fix}}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
