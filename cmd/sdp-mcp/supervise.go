package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/engine"
)

// sandboxSupervisor lets the sandbox engine watch and restart the local
// sandbox of the workspace; each restart is counted in the sandbox's
// restart record (shown by "sdp-mcp sandbox status").
type sandboxSupervisor struct {
	st  *config.Config
	log *slog.Logger
}

var _ engine.Supervisor = sandboxSupervisor{}

func (s sandboxSupervisor) Alive() bool { return sandbox.Alive(s.st.Workspace) }

func (s sandboxSupervisor) Restart(ctx context.Context) (string, error) {
	old := 0
	if rep, err := sandbox.Status(ctx, s.st.Workspace); err == nil && rep.Recorded != nil {
		old = rep.Recorded.PID
	}
	// A restart outlives the call that needed it, like the first start.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sandboxStartTimeout)
	defer cancel()
	inst, err := sandbox.Start(sctx, sandbox.Options{
		Workspace: s.st.Workspace,
		Logger:    s.log,
		Install:   sandbox.InstallOptions{Logger: s.log},
		Profile:   s.st.Environments.Sandbox.Profile(),
	})
	if err != nil {
		return "", err
	}
	if !inst.Reused {
		r, err := sandbox.RecordRestart(s.st.Workspace, old, inst.PID, time.Now())
		if err != nil {
			s.log.Warn("recording the sandbox restart", "err", err)
		}
		s.log.Warn("sandbox restarted after it stopped", "old_pid", old, "pid", inst.PID,
			"restarts", r.Count, "url", inst.RedactedURL())
	}
	return inst.URL(), nil
}

// restartLogger records each restart attempt of an engine's server in the
// server log and, as an event tied to the call that needed
// the engine, in the audit log (engine.restarted, engine.restart_failed).
func restartLogger(log *slog.Logger) func(context.Context, engine.RestartEvent) {
	return func(ctx context.Context, ev engine.RestartEvent) {
		attrs := []any{"environment", ev.Environment, "attempt", ev.Attempt, "ok", ev.OK,
			"took", ev.Took.Round(time.Millisecond)}
		fields := map[string]any{"environment": ev.Environment, "attempt": ev.Attempt, "ok": ev.OK,
			"took_ms": ev.Took.Milliseconds()}
		if ev.Err != nil {
			attrs = append(attrs, "err", ev.Err)
			fields["error"] = ev.Err.Error()
		}
		log.Info("engine restart", attrs...)
		kind := "engine.restarted"
		if !ev.OK {
			kind = "engine.restart_failed"
		}
		if err := audit.Event(ctx, kind, fields); err != nil && !errors.Is(err, audit.ErrNoLog) {
			log.Error("the engine restart could not be audited", "err", err)
		}
	}
}
