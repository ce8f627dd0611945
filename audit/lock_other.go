//go:build !unix

package audit

import "os"

// lockFile does nothing where flock(2) does not exist: there, two servers
// must not share one log.
func lockFile(*os.File, bool) error { return nil }

func unlockFile(*os.File) error { return nil }
