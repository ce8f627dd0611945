package benchenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
)

// Main runs a benchmark command: run gets a context cancelled by any of
// signals; an error is printed after the command's name and exits with
// status 1.
func Main(name string, run func(ctx context.Context) error, signals ...os.Signal) {
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// CPUProfile starts a CPU profile written to path; "" profiles nothing.
// The returned stop ends the profile and closes the file.
func CPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// WriteReport writes a run's markdown report to stdout and, when out is
// not empty, to the file out.
func WriteReport(report []byte, out string) error {
	os.Stdout.Write(report)
	if out != "" {
		return os.WriteFile(out, report, 0o644)
	}
	return nil
}
