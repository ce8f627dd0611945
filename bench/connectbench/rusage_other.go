//go:build !unix

package main

import "time"

// cpuTime is not measured where getrusage(2) does not exist: it reads 0.
func cpuTime() time.Duration { return 0 }

// maxRSSKB is not measured where getrusage(2) does not exist: it reads 0.
func maxRSSKB() int64 { return 0 }
