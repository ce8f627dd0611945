//go:build !linux

package smallfs

import (
	"runtime"
	"testing"
)

// FS is a mounted tmpfs.
type FS struct {
	// Dir is where it is mounted.
	Dir string
}

// Mount skips the test: tmpfs mounts are Linux only.
func Mount(t testing.TB, size int64) *FS {
	t.Helper()
	t.Skipf("skipping: mounting a small tmpfs is only done on Linux, not %s", runtime.GOOS)
	return nil
}

// Resize is never reached.
func (f *FS) Resize(t testing.TB, size int64) {}
