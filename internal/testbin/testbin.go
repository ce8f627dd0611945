// Package testbin prepares what the end-to-end and browser test binaries
// drive from outside their process: the sdp-mcp command built from this
// tree, and the tools the project's own install scripts (under scripts/)
// provide. A failure is returned, never skipped: tests that need a real
// binary or a real tool fail without one.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds the package pkg (e.g. "./cmd/sdp-mcp") of the module at
// root into a new temporary folder and returns the binary's path and a
// function that removes the folder. Tests never drive a stale binary.
func Build(root, pkg, name string) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "sdp-mcp-test-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", path, pkg)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building %s: %w", pkg, err)
	}
	return path, cleanup, nil
}

// Script runs the project script scripts/<name> of the module at root
// (which installs what it provides, cached and idempotent) and returns
// the one line it prints: a path or a PATH list. Its diagnostics go to
// stderr.
func Script(root, name string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(root, "scripts", name))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s: %w", name, err)
	}
	line := strings.TrimSpace(string(out))
	if line == "" {
		return "", fmt.Errorf("scripts/%s printed nothing", name)
	}
	return line, nil
}

// Env is what a test binary in a package folder of the module prepares
// before its tests run.
type Env struct {
	Root    string // the module's root folder
	Bin     string // the sdp-mcp command built from it
	Tool    string // what the install script printed
	cleanup func()
}

// Prepare builds sdp-mcp from the module whose root is the parent of the
// current folder (a test binary runs in its package's folder) and runs
// the install script scripts/<script>. Close removes the binary.
func Prepare(script string) (*Env, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	bin, cleanup, err := Build(root, "./cmd/sdp-mcp", "sdp-mcp")
	if err != nil {
		return nil, err
	}
	tool, err := Script(root, script)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &Env{Root: root, Bin: bin, Tool: tool, cleanup: cleanup}, nil
}

// Close removes what Prepare built.
func (e *Env) Close() { e.cleanup() }
