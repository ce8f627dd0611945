package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
const DefaultStopGrace = 20 * time.Second

// StopOptions configure [StopWithOptions].
type StopOptions struct {
	Grace  time.Duration // wait after SIGTERM before SIGKILL; 0 = DefaultStopGrace
	Logger *slog.Logger  // nil discards
}

// StopResult says what Stop did.
type StopResult struct {
	Workspace  string
	WasRunning bool   // a server process was found and stopped
	PID        int    // its pid (0 if there was no state)
	Killed     bool   // SIGKILL was needed
	Message    string // human-readable one-line summary
}

// Stop stops the sandbox server of workspace: SIGTERM to its process group,
// up to [DefaultStopGrace] to exit, then SIGKILL; it confirms that no process
// of the group remains and removes state.json. Stopping a sandbox that is not
// running is not an error (the result says so).
func Stop(ctx context.Context, workspace string) (*StopResult, error) {
	return StopWithOptions(ctx, workspace, StopOptions{})
}

// StopWithOptions is [Stop] with a grace period and a logger.
func StopWithOptions(ctx context.Context, workspace string, opts StopOptions) (*StopResult, error) {
	log := opts.Logger
	if log == nil {
		log = discardLogger()
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultStopGrace
	}
	p, err := WorkspacePaths(workspace)
	if err != nil {
		return nil, err
	}
	res := &StopResult{Workspace: p.Workspace}
	if _, err := os.Stat(p.State); errors.Is(err, os.ErrNotExist) {
		res.Message = "sandbox is not running (no state file in " + p.Dir + ")"
		return res, nil
	}
	lock, err := lockFile(ctx, p.Lock, func() {
		log.Info("another process is starting or stopping this sandbox; waiting for it")
	})
	if err != nil {
		return nil, err
	}
	defer lock.unlock()

	st, err := ReadState(p.State)
	if errors.Is(err, os.ErrNotExist) {
		res.Message = "sandbox is not running"
		return res, nil
	}
	if err != nil {
		log.Warn("removing unreadable sandbox state", "err", err)
		if err := removeState(p.State); err != nil {
			return nil, err
		}
		res.Message = "sandbox state was unreadable and has been removed; no server was signalled"
		return res, nil
	}
	res.PID = st.PID
	pgid := st.PGID
	if pgid <= 1 {
		pgid = st.PID
	}
	// Only signal what is provably ours: the recorded pid still runs the
	// Spark Connect server, or the leader is gone but members of its group
	// remain (a group id cannot be reused while the group exists).
	ours := (processAlive(st.PID) && isSparkServer(st.PID)) || (!processAlive(st.PID) && groupAlive(pgid))
	if !ours {
		if err := removeState(p.State); err != nil {
			return nil, err
		}
		res.Message = fmt.Sprintf("sandbox was not running (pid %d is gone); removed stale state", st.PID)
		return res, nil
	}
	res.WasRunning = true
	log.Info("stopping Spark Connect server", "pid", st.PID, "pgid", pgid)
	start := time.Now()
	killed, err := terminate(ctx, st.PID, pgid, opts.Grace, log)
	res.Killed = killed
	if err != nil {
		return res, err
	}
	if err := removeState(p.State); err != nil {
		return res, err
	}
	how := "stopped"
	if killed {
		how = "killed"
	}
	res.Message = fmt.Sprintf("sandbox server %s (pid %d) after %s", how, st.PID, time.Since(start).Round(100*time.Millisecond))
	log.Info("Spark Connect server stopped", "pid", st.PID, "killed", killed, "took", time.Since(start).Round(100*time.Millisecond))
	return res, nil
}

// Run states reported by [Status].
const (
	StateRunning = "running" // process alive and answering
	StateStale   = "stale"   // state.json exists but the server is dead or does not answer
	StateStopped = "stopped" // no state.json
)

// StatusReport describes the sandbox of a workspace.
type StatusReport struct {
	State     string // StateRunning, StateStale or StateStopped
	Detail    string // one-line explanation
	Workspace string
	Paths     Paths
	Recorded  *State    // content of state.json, nil when stopped
	Instance  *Instance // set when running
}

// Status reports whether the sandbox of workspace is running (process alive
// and answering a Spark Connect request), stale (state.json exists but the
// process is gone or does not answer) or stopped.
func Status(ctx context.Context, workspace string) (*StatusReport, error) {
	p, err := WorkspacePaths(workspace)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{Workspace: p.Workspace, Paths: p}
	st, err := ReadState(p.State)
	switch {
	case errors.Is(err, os.ErrNotExist):
		rep.State, rep.Detail = StateStopped, "no sandbox server recorded"
		return rep, nil
	case err != nil:
		rep.State, rep.Detail = StateStale, err.Error()
		return rep, nil
	}
	rep.Recorded = st
	if !processAlive(st.PID) {
		rep.State, rep.Detail = StateStale, fmt.Sprintf("pid %d is gone", st.PID)
		return rep, nil
	}
	version, err := probe(ctx, st.URL)
	if err != nil {
		rep.State, rep.Detail = StateStale, fmt.Sprintf("pid %d is alive but the server does not answer: %v", st.PID, err)
		return rep, nil
	}
	st.SparkVersion = version
	rep.State, rep.Detail = StateRunning, fmt.Sprintf("Spark %s answering on port %d", version, st.Port)
	rep.Instance = instanceFromState(st, p, true)
	return rep, nil
}
