package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tmpDir is where files are staged before they are renamed into place. It
// sits in the state directory, outside the transformations/** glob, so that a
// crash never leaves a stray file the pipeline would try to run.
func tmpDir(project string) string { return filepath.Join(project, StateDir, "tmp") }

// writeAtomic replaces path with data: it writes a temporary file in tmp (on
// the same file system), syncs it, renames it over path and syncs the
// directory. Readers see the old or the new content, never a mix. It does
// nothing when path already holds data.
func writeAtomic(tmp, path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.CreateTemp(tmp, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("staging %s: %w", path, err)
	}
	staged := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(staged)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", staged, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", staged, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", staged, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", staged, err)
	}
	if err := os.Rename(staged, path); err != nil {
		return fmt.Errorf("moving %s into place: %w", path, err)
	}
	ok = true
	return syncDir(filepath.Dir(path))
}

// removeDurably removes path and syncs its directory.
func removeDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// cleanTmp removes files a crashed write left in the staging directory.
func cleanTmp(project string) error {
	entries, err := os.ReadDir(tmpDir(project))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", tmpDir(project), err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(tmpDir(project), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing a stale temporary file: %w", err)
			}
		}
	}
	return nil
}
