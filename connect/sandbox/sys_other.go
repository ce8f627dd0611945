//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sandbox

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"syscall"
)

var errUnsupported = errors.New("the local Spark sandbox is not supported on " + runtime.GOOS)

type fileLock struct{}

func lockFile(context.Context, string, func()) (*fileLock, error) { return nil, errUnsupported }
func (l *fileLock) unlock()                                       {}
func detach(*exec.Cmd)                                            {}
func processAlive(int) bool                                       { return false }
func groupAlive(int) bool                                         { return false }
func signalGroup(int, syscall.Signal) error                       { return errUnsupported }
func processGroup(int) (int, error)                               { return 0, errUnsupported }
func isSparkServer(int) bool                                      { return false }
