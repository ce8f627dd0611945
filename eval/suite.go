package eval

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sdp-mcp/sdp-mcp/sources"
)

// Suite is a list of tasks, read from YAML.
type Suite struct {
	Name  string `yaml:"name" json:"name"`
	Tasks []Task `yaml:"tasks" json:"tasks"`
	// dir is the suite file's directory: file paths are relative to it.
	dir string
}

// Task is one goal for the agent and how to score it.
type Task struct {
	Name string `yaml:"name" json:"name"`
	// Goal is the text the agent is given.
	Goal string `yaml:"goal" json:"goal"`
	// Pipeline is the pipeline the agent must build (named in the goal).
	Pipeline string  `yaml:"pipeline" json:"pipeline"`
	Sources  Sources `yaml:"sources" json:"sources"`
	// Expected are the tables the pipeline must produce.
	Expected []Expected `yaml:"expected" json:"expected"`
	Budget   Budget     `yaml:"budget" json:"budget"`
}

// Sources are what a task's agent may read: the sample tables and/or files
// registered for the task.
type Sources struct {
	Samples bool         `yaml:"samples" json:"samples"`
	Files   []FileSource `yaml:"files" json:"files,omitempty"`
}

// FileSource is a file (or glob) registered as a source table of the task,
// in the task's source schema (eval_<task>_src).
type FileSource struct {
	Name    string            `yaml:"name" json:"name"`
	Path    string            `yaml:"path" json:"path"`
	Format  string            `yaml:"format" json:"format"`
	Options map[string]string `yaml:"options" json:"options,omitempty"`
}

// Expected is one table the pipeline must produce: the dataset's rows must
// equal the rows of SQL, which reads the sources (samples as
// spark_catalog.samples.*, files as ${src}.<name>: ${src} stands for the
// task's source schema, in the goal too).
type Expected struct {
	Table string `yaml:"table" json:"table"`
	SQL   string `yaml:"sql" json:"sql"`
	// Key, when set, matches rows by these columns and compares the
	// others; numbers may differ by Tolerance. Without a key the two
	// tables must hold the same rows (any order).
	Key       []string `yaml:"key" json:"key,omitempty"`
	Tolerance float64  `yaml:"tolerance" json:"tolerance,omitempty"`
}

// Budget bounds a task: tool calls and wall time of the agent.
type Budget struct {
	Calls int      `yaml:"calls" json:"calls"`
	Time  Duration `yaml:"time" json:"time"`
}

// Duration is a time.Duration written as "90s", "5m".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 90s, 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

var taskNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// LoadSuite reads and checks a suite file; unknown keys are errors.
func LoadSuite(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("suite %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	s.dir = filepath.Dir(abs)
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("suite %s: %w", path, err)
	}
	return &s, nil
}

func (s *Suite) check() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if len(s.Tasks) == 0 {
		errs = append(errs, errors.New("tasks: at least one task is required"))
	}
	seen := map[string]bool{}
	for i, t := range s.Tasks {
		at := fmt.Sprintf("tasks[%d] (%s)", i, t.Name)
		if !taskNameRE.MatchString(t.Name) {
			errs = append(errs, fmt.Errorf("%s: name must be lower case letters, digits and underscores, starting with a letter", at))
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("%s: a second task of that name", at))
		}
		seen[t.Name] = true
		if t.Goal == "" || t.Pipeline == "" {
			errs = append(errs, fmt.Errorf("%s: goal and pipeline are required", at))
		}
		if !t.Sources.Samples && len(t.Sources.Files) == 0 {
			errs = append(errs, fmt.Errorf("%s: sources: name samples: true or files", at))
		}
		for j, f := range t.Sources.Files {
			if _, err := sources.ParseName(f.Name); err != nil || f.Path == "" || f.Format == "" {
				errs = append(errs, fmt.Errorf("%s: sources.files[%d]: name (a table name), path and format are required", at, j))
			}
		}
		if len(t.Expected) == 0 {
			errs = append(errs, fmt.Errorf("%s: expected: at least one table", at))
		}
		for j, e := range t.Expected {
			if e.Table == "" || e.SQL == "" || e.Tolerance < 0 {
				errs = append(errs, fmt.Errorf("%s: expected[%d]: table and sql are required, tolerance >= 0", at, j))
			}
		}
		if t.Budget.Calls < 1 || t.Budget.Time <= 0 {
			errs = append(errs, fmt.Errorf("%s: budget: calls and time are required (e.g. calls: 20, time: 5m)", at))
		}
	}
	return errors.Join(errs...)
}

// filePath resolves a file source's path against the suite's directory.
func (s *Suite) filePath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}
