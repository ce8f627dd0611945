package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Supervisor is the local server an engine runs on (the sandbox the MCP
// server started): the engine watches it and restarts it when it is gone.
type Supervisor interface {
	// Alive reports whether the server's process is still there. It is
	// cheap (no request to the server) and called before every engine call.
	Alive() bool
	// Restart starts the server again (or finds it running) and returns
	// its sc:// URL, token included.
	Restart(ctx context.Context) (url string, err error)
}

// RestartEvent describes one attempt to restart a supervised server.
type RestartEvent struct {
	Environment string
	// Attempt counts from 1 for each outage.
	Attempt int
	// OK is true when the server answers again; Err says why not.
	OK  bool
	Err error
	// Took is how long the attempt took.
	Took time.Duration
	// URL is the server's URL after a successful restart, token redacted.
	URL string
}

// Restart policy: restartAttempts tries per outage, waiting restartBackoff,
// then twice as long, between them. watchEvery is how often the watcher
// looks at the server's process.
const (
	restartAttempts = 3
	restartBackoff  = 2 * time.Second
	watchEvery      = 2 * time.Second
)

// Kinds of [UnavailableError].
const (
	// KindStopped: the supervised server stopped while the call ran.
	KindStopped = "stopped"
	// KindRestartFailed: the supervised server is gone and could not be
	// restarted.
	KindRestartFailed = "restart_failed"
	// KindUnreachable: a remote server did not answer.
	KindUnreachable = "unreachable"
)

// UnavailableError is a call that failed because the engine's server is not
// there. Its message is meant for the agent: it names the environment, the
// URL without its token, how long the server waited, what state things are
// in and whether retrying is safe. The cause is for the server log.
type UnavailableError struct {
	Kind        string
	Environment string
	URL         string // token redacted
	Waited      time.Duration
	Err         error
}

func (e *UnavailableError) Error() string {
	waited := e.Waited.Round(100 * time.Millisecond)
	switch e.Kind {
	case KindStopped:
		return fmt.Sprintf("the %s engine stopped while the call ran (its process is gone, after %s): nothing "+
			"this call did was committed and the pipeline draft is unchanged; retrying is safe: the engine is being restarted "+
			"(a minute or so) and the next call waits for it",
			e.Environment, waited)
	case KindRestartFailed:
		return fmt.Sprintf("the %s engine is gone and could not be restarted (%d attempts over %s); "+
			"an operator must check it (sdp-mcp sandbox status, and the sandbox server log); the pipeline draft is unchanged",
			e.Environment, restartAttempts, waited)
	}
	return fmt.Sprintf("the %s engine at %s did not answer (the server waited %s): it is down or unreachable "+
		"from this server; nothing was changed; retry later, or ask an operator to check it", e.Environment, e.URL, waited)
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// supervision is the state of a supervised engine.
type supervision struct {
	restartMu sync.Mutex  // one restart at a time
	gone      atomic.Bool // the watcher (or a failed call) saw the process gone
	stop      chan struct{}
	stopOnce  sync.Once
	backoff   time.Duration // the first wait between restart attempts
}

func newSupervision() *supervision {
	return &supervision{stop: make(chan struct{}), backoff: restartBackoff}
}

func (s *supervision) stopWatch() { s.stopOnce.Do(func() { close(s.stop) }) }

// envName is the environment's name for messages.
func (e *Engine) envName() string {
	if e.cfg.Environment == "" {
		return "Spark"
	}
	return e.cfg.Environment
}

// watch looks at the supervised server's process every watchEvery until
// the engine closes, and logs when it goes (the next call restarts it).
func (e *Engine) watch() {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-e.sup.stop:
			return
		case <-t.C:
		}
		if !e.sup.gone.Load() && !e.cfg.Supervisor.Alive() {
			e.sup.gone.Store(true)
			e.log.Warn("the engine's local server stopped; the next call restarts it", "environment", e.envName())
		}
	}
}

// ensure restarts a supervised server that is gone, before a call that
// needs it: up to restartAttempts tries with growing waits between them.
// Every session of the old server is dropped.
func (e *Engine) ensure(ctx context.Context) error {
	if e.sup == nil || (!e.sup.gone.Load() && e.cfg.Supervisor.Alive()) {
		return nil
	}
	e.sup.restartMu.Lock()
	defer e.sup.restartMu.Unlock()
	if !e.sup.gone.Load() && e.cfg.Supervisor.Alive() {
		return nil // another call restarted it
	}
	e.sup.gone.Store(true)
	e.dropSessions()
	began := time.Now()
	wait := e.sup.backoff
	var last error
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		t0 := time.Now()
		e.log.Warn("restarting the engine's local server", "environment", e.envName(), "attempt", attempt)
		url, err := e.cfg.Supervisor.Restart(ctx)
		var ep *connect.Endpoint
		if err == nil {
			ep, err = connect.ParseURL(url)
		}
		ev := RestartEvent{Environment: e.envName(), Attempt: attempt, OK: err == nil, Err: err, Took: time.Since(t0)}
		if err == nil {
			ep.SessionID = ""
			ev.URL = ep.String()
			e.mu.Lock()
			e.ep = ep
			e.mu.Unlock()
			e.sup.gone.Store(false)
			e.log.Info("the engine's local server was restarted", "environment", e.envName(), "attempt", attempt,
				"took", ev.Took.Round(time.Millisecond), "url", ev.URL)
		} else {
			last = err
			e.log.Error("restarting the engine's local server failed", "environment", e.envName(), "attempt", attempt, "err", err)
		}
		if e.cfg.OnRestart != nil {
			e.cfg.OnRestart(ctx, ev)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return &UnavailableError{Kind: KindRestartFailed, Environment: e.envName(), Waited: time.Since(began), Err: last}
}

// restartSoon marks the supervised server gone and starts restarting it
// now, in the background, rather than when the next call comes: a call
// that saw the server die has told its agent to retry, and the retry then
// waits for less. The restart is tied to ctx's values (the audit of the
// call that saw it), not to its end.
func (e *Engine) restartSoon(ctx context.Context) {
	e.sup.gone.Store(true)
	go func() { _ = e.ensure(context.WithoutCancel(ctx)) }()
}

// dropSessions closes every agent session (they belong to a server that is
// gone).
func (e *Engine) dropSessions() {
	e.mu.Lock()
	var cs []*connect.Client
	for id, s := range e.sessions {
		cs = append(cs, s.client)
		delete(e.sessions, id)
	}
	e.mu.Unlock()
	closeLater(cs, 0)
}

// unavailable turns the error of a call that began at started into an
// [UnavailableError] when the server is not there: a supervised server
// whose process is gone, or a remote one that does not answer; and into an
// [OperatorError] when Spark failed it for a reason the agent cannot fix.
// Other errors pass through unchanged, and so do errors of a call whose own
// context ended (its deadline is the caller's to report).
func (e *Engine) unavailable(ctx context.Context, err error, started time.Time) error {
	var ue *UnavailableError
	var ps pipeline.Problems
	if err == nil || errors.As(err, &ue) || errors.As(err, &ps) || ctx.Err() != nil || agentFixable(err) {
		return err
	}
	if e.sup != nil {
		if e.cfg.Supervisor.Alive() {
			return e.operatorError(err)
		}
		e.log.Warn("the engine's local server stopped during a call", "environment", e.envName(), "err", err)
		e.restartSoon(ctx)
		return &UnavailableError{Kind: KindStopped, Environment: e.envName(), Waited: time.Since(started), Err: err}
	}
	if connect.IsTransient(err) || errors.Is(err, context.DeadlineExceeded) {
		ep := e.endpoint()
		return &UnavailableError{Kind: KindUnreachable, Environment: e.envName(), URL: "sc://" + ep.Target(),
			Waited: time.Since(started), Err: err}
	}
	return e.operatorError(err)
}
