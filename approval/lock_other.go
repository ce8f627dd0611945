//go:build !unix

package approval

import (
	"errors"
	"os"
	"runtime"
)

// lockFile refuses where flock(2) does not exist: an approval is used once,
// and without a lock shared with the other processes using the store
// (the console, the CLI) that could not be guaranteed.
func lockFile(*os.File) error {
	return errors.New("approvals need file locking (flock), which " + runtime.GOOS + " does not have")
}

func unlockFile(*os.File) error { return nil }
