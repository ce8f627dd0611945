package benchenv

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

// Options configure [Start] and [Measure].
type Options struct {
	// Workspace is the sandbox's workspace; "" means [SharedWorkspace].
	Workspace string
	// Keep leaves running a sandbox server this run started; by default
	// Close stops it. A server that was already running is never stopped.
	Keep bool
	// Logger receives progress messages.
	Logger *slog.Logger

	// Command names the run's folder, <workspace>/<Command>/run-*, for
	// [Measure].
	Command string
	// Limit bounds the whole of [Measure]; 0 means no bound.
	Limit time.Duration
	// Cleanup bounds dropping the run's schemas after [Measure].
	Cleanup time.Duration
	// Out is the file [Measure] writes the report to as well as stdout;
	// "" means stdout only.
	Out string
}

// Sandbox is the sandbox server a benchmark measures against, with the
// pyspark install that runs it.
type Sandbox struct {
	*sandbox.Instance
	Install *sandbox.Installation

	log  *slog.Logger
	stop bool // Close stops the server
}

// SharedWorkspace is the bench workspace the benchmark commands share:
// <user cache>/sdp-mcp/bench-workspace.
func SharedWorkspace() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "sdp-mcp", "bench-workspace"), nil
}

// Start installs pyspark (if it is not installed yet) and starts the
// sandbox server in the workspace, or reuses the one running there.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	inst, err := sandbox.Install(ctx, sandbox.InstallOptions{Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	ws := opts.Workspace
	if ws == "" {
		if ws, err = SharedWorkspace(); err != nil {
			return nil, err
		}
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{Workspace: ws, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	return &Sandbox{Instance: sb, Install: inst, log: opts.Logger, stop: !sb.Reused && !opts.Keep}, nil
}

// Close stops the server if this run started it and was not told to keep
// it.
func (s *Sandbox) Close() {
	if !s.stop {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Stop(ctx); err != nil {
		s.log.Warn("stopping the sandbox this benchmark started", "err", err)
	}
}

// Run is one benchmark run, as [Measure] hands it to the measurement.
type Run struct {
	Sandbox *Sandbox
	Scratch *Scratch // the run's folder and schemas
	Log     *slog.Logger
}

// Measure starts the sandbox (see [Start]) and makes the run's scratch
// under opts.Command (see [Sandbox.NewScratch]), calls measure and writes
// the report it returns (see [WriteReport]), also when measure fails after
// measuring part of it; then it removes the scratch (within opts.Cleanup)
// and stops the sandbox (see [Sandbox.Close]). Everything but the clean-up
// runs within opts.Limit.
func Measure(ctx context.Context, opts Options, measure func(ctx context.Context, run *Run) ([]byte, error)) error {
	if opts.Limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Limit)
		defer cancel()
	}
	sb, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	defer sb.Close()
	scratch, err := sb.NewScratch(ctx, opts.Command)
	if err != nil {
		return err
	}
	defer scratch.Close(opts.Cleanup)
	report, err := measure(ctx, &Run{Sandbox: sb, Scratch: scratch, Log: opts.Logger})
	if report != nil {
		if werr := WriteReport(report, opts.Out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
