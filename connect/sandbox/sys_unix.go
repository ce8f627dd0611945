//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fileLock is an exclusive advisory lock (flock) on a file. The kernel
// releases it when the process exits, so a crashed holder never blocks
// others forever.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive flock on path, creating the file if needed,
// and waits (polling) until it gets it or ctx is done. onWait, if not nil,
// is called once when the lock is busy.
func lockFile(ctx context.Context, path string, onWait func()) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &fileLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !waited && onWait != nil {
			onWait()
		}
		waited = true
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (l *fileLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// detach makes cmd start in a new session, hence a new process group whose
// id is the child's pid. The server then survives the exit of its parent
// and is not hit by signals sent to the parent's terminal.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// processAlive reports whether a process with this pid exists (zombies
// included).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// groupAlive reports whether any process of process group pgid exists.
func groupAlive(pgid int) bool {
	if pgid <= 1 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// signalGroup sends sig to every process of group pgid. A group that no
// longer exists is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// processGroup returns the process group of pid.
func processGroup(pid int) (int, error) {
	return syscall.Getpgid(pid)
}

// isSparkServer reports whether pid looks like a sandbox server process (a
// spark-submit / java process running SparkConnectServer). It guards against
// signalling an unrelated process that reused a recorded pid.
func isSparkServer(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		// No procfs (macOS, BSD): ask ps.
		out, perr := exec.Command("ps", "-ww", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
		if perr != nil {
			return false
		}
		cmdline = out
	}
	cmdline = bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})
	return strings.Contains(string(cmdline), serverClass)
}
