// Package smallfs mounts a small tmpfs for tests that fill a disk: the
// audit log's full-disk tests. Mounting needs root (CAP_SYS_ADMIN); where
// it is impossible the test is skipped with the reason.
package smallfs

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// FS is a mounted tmpfs.
type FS struct {
	// Dir is where it is mounted.
	Dir string
}

// Mount mounts a tmpfs of size bytes on a new directory, unmounted when
// the test ends, and skips the test (saying why) when mounting is
// impossible.
func Mount(t testing.TB, size int64) *FS {
	t.Helper()
	dir, err := os.MkdirTemp("", "smallfs-")
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		os.Remove(dir)
		t.Skipf("skipping: cannot mount a %d-byte tmpfs to fill (needs root or CAP_SYS_ADMIN): %v", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	return &FS{Dir: dir}
}

// Resize changes the size of the tmpfs (space returns, or runs out).
func (f *FS) Resize(t testing.TB, size int64) {
	t.Helper()
	if err := syscall.Mount("tmpfs", f.Dir, "tmpfs", syscall.MS_REMOUNT, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("resizing the tmpfs at %s: %v", f.Dir, err)
	}
}
