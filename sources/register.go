package sources

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Executor runs Spark Connect plans and resolves schemas (a *connect.Client).
type Executor interface {
	Collect(ctx context.Context, p connect.Plan, opts connect.ExecOptions) (*connect.Result, error)
	Schema(ctx context.Context, p connect.Plan) ([]connect.Column, error)
}

// Formats are the file formats a source can be registered from.
var Formats = []string{"csv", "json", "parquet"}

// Spec is a source to register.
type Spec struct {
	Name Name
	// Path is a file, a directory or a glob (*, ?, [..]) on the machine
	// the sandbox runs on; relative paths are made absolute.
	Path   string
	Format string
	// Options are the reader's options (e.g. delimiter=;); CSV gets
	// header=true and inferSchema=true unless they are given.
	Options map[string]string
}

// Table is a registered or listed source table.
type Table struct {
	Name     string           `json:"name"`
	Format   string           `json:"format,omitempty"`
	Location string           `json:"location,omitempty"`
	Type     string           `json:"type,omitempty"` // EXTERNAL (registered files), MANAGED, VIEW
	Comment  string           `json:"comment,omitempty"`
	Columns  []connect.Column `json:"columns"`
	// Files is how many files the path matched when it was registered.
	Files int `json:"files,omitempty"`
}

var optionKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.]*$`)

// Check checks the spec without Spark: the format, the options, the name
// against the policy's globs, and that the path matches readable files.
// It returns the absolute path and the number of files it matches.
func (s *Spec) Check(globs []string) (string, int, error) {
	if !slices.Contains(Formats, s.Format) {
		return "", 0, fmt.Errorf("invalid --format %q: want one of %s", s.Format, strings.Join(Formats, ", "))
	}
	for k := range s.Options {
		if !optionKeyRE.MatchString(k) {
			return "", 0, fmt.Errorf("invalid option name %q: want letters, digits, dots and underscores (e.g. --option delimiter=';')", k)
		}
		if strings.EqualFold(k, "path") || strings.EqualFold(k, "paths") {
			return "", 0, fmt.Errorf("option %q is not allowed: the path is the second argument", k)
		}
	}
	if !Allowed(s.Name, globs) {
		return "", 0, fmt.Errorf("the policy does not let agents read %s (its sandbox sources are %s): register it under an allowed name, e.g. %s.%s, or add %s.%s.* to environments.sandbox.sources of the policy",
			s.Name, strings.Join(globs, ", "), DefaultSchema, s.Name.Table, s.Name.Catalog, s.Name.Schema)
	}
	abs, err := filepath.Abs(s.Path)
	if err != nil {
		return "", 0, fmt.Errorf("path %s: %w", s.Path, err)
	}
	matches, err := filepath.Glob(abs)
	if err != nil {
		return "", 0, fmt.Errorf("path %s is not a valid glob: %w", s.Path, err)
	}
	if len(matches) == 0 {
		return "", 0, fmt.Errorf("path %s matches no file: check the path (it is read on this machine, where the sandbox runs)", s.Path)
	}
	files := 0
	for _, m := range matches {
		err := filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			files++
			return f.Close()
		})
		if err != nil {
			return "", 0, fmt.Errorf("path %s cannot be read: %w", s.Path, err)
		}
	}
	if files == 0 {
		return "", 0, fmt.Errorf("path %s matches no data file (only directories or hidden files)", s.Path)
	}
	return abs, files, nil
}

// ErrExists reports a source name already in use.
var ErrExists = errors.New("already exists")

// Register checks the spec, creates an external table over the files and
// returns it with the schema Spark inferred.
func Register(ctx context.Context, ex Executor, s Spec, globs []string) (*Table, error) {
	abs, files, err := s.Check(globs)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{}
	if s.Format == "csv" {
		opts["header"], opts["inferSchema"] = "true", "true"
	}
	maps.Copy(opts, s.Options)
	opts["path"] = abs
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		kv = append(kv, quote(k)+" '"+escape(opts[k])+"'")
	}
	if err := exec(ctx, ex, "CREATE SCHEMA IF NOT EXISTS "+quote(s.Name.Catalog)+"."+quote(s.Name.Schema)); err != nil {
		return nil, fmt.Errorf("create schema %s.%s: %w", s.Name.Catalog, s.Name.Schema, err)
	}
	stmt := "CREATE TABLE " + s.Name.quoted() + " USING " + s.Format + " OPTIONS (" + strings.Join(kv, ", ") + ")"
	err = exec(ctx, ex, stmt)
	if cls := connect.ErrorClassOf(err); cls == "TABLE_OR_VIEW_ALREADY_EXISTS" {
		return nil, fmt.Errorf("source %s %w: remove it first (sdp-mcp sources remove %s) or pick another name", s.Name, ErrExists, s.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("Spark could not read %s as %s: %w", s.Path, s.Format, err)
	}
	t, err := Describe(ctx, ex, s.Name)
	if err != nil {
		// The files matched but do not read: leave nothing behind.
		_ = exec(ctx, ex, "DROP TABLE IF EXISTS "+s.Name.quoted())
		return nil, fmt.Errorf("Spark could not read %s as %s: %w", s.Path, s.Format, err)
	}
	t.Files = files
	return t, nil
}

func exec(ctx context.Context, ex Executor, stmt string) error {
	_, err := ex.Collect(ctx, connect.SQLCommand(stmt), connect.ExecOptions{})
	return err
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
