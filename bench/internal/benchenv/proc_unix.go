//go:build unix

package benchenv

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own and makes a cancelled
// context kill the whole group: spark-pipelines is a JVM that starts a
// Python client, and neither may outlive the benchmark.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
