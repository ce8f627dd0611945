//go:build !unix

package benchenv

import "os/exec"

// ownGroup is a no-op where process groups do not exist: a cancelled
// context kills the CLI's process only.
func ownGroup(*exec.Cmd) {}
