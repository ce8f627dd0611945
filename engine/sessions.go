package engine

import (
	"context"
	"errors"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Session limits: an agent's Spark session is released after it has been
// idle for sessionIdle, and at most maxSessions are kept (the least recently
// used goes first). A session unused for lockdownRecheck has its lockdown
// read back before it is used again.
const (
	sessionIdle     = 15 * time.Minute
	maxSessions     = 64
	lockdownRecheck = time.Minute
)

type agentKey struct{}

// WithAgentSession returns ctx whose engine calls use the Spark session of
// the agent id (the server passes a principal's conversation): agents never
// share temporary state, and one agent's session is all its calls share.
func WithAgentSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, agentKey{}, id)
}

// AgentSession is the agent id in ctx ([WithAgentSession]), or "".
func AgentSession(ctx context.Context) string { return agentOf(ctx) }

func agentOf(ctx context.Context) string {
	id, _ := ctx.Value(agentKey{}).(string)
	return id
}

// agentSession is one agent's locked-down Spark session.
type agentSession struct {
	client   *connect.Client
	lastUsed time.Time
}

// session returns the Spark session of the agent in ctx, opening it on
// first use and re-asserting its lockdown when it sat idle.
func (e *Engine) session(ctx context.Context) (*connect.Client, error) {
	id := agentOf(ctx)
	now := time.Now()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, errClosed
	}
	stale := e.evictLocked(now)
	s := e.sessions[id]
	var recheck bool
	if s != nil {
		recheck = now.Sub(s.lastUsed) > lockdownRecheck
		s.lastUsed = now
	}
	e.mu.Unlock()
	closeLater(stale, 0)
	if s != nil {
		if !recheck {
			return s.client, nil
		}
		err := checkLockdown(ctx, s.client)
		if err == nil {
			return s.client, nil
		}
		// Fail closed: a session whose lockdown cannot be read back, or
		// no longer holds, is never used again; a fresh one is opened.
		e.log.Warn("spark session dropped: its lockdown could not be confirmed", "err", err)
		e.mu.Lock()
		if e.sessions[id] == s {
			delete(e.sessions, id)
		}
		e.mu.Unlock()
		closeLater([]*connect.Client{s.client}, e.cfg.CallTimeout)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = c.Close()
		return nil, errClosed
	}
	if other := e.sessions[id]; other != nil { // another call dialled first
		_ = c.Close()
		return other.client, nil
	}
	if e.sessions == nil {
		e.sessions = map[string]*agentSession{}
	}
	e.sessions[id] = &agentSession{client: c, lastUsed: now}
	return c, nil
}

// evictLocked removes idle sessions and, over the cap, the least recently
// used ones, returning their clients for the caller to close.
func (e *Engine) evictLocked(now time.Time) []*connect.Client {
	var out []*connect.Client
	for id, s := range e.sessions {
		if now.Sub(s.lastUsed) > sessionIdle {
			out = append(out, s.client)
			delete(e.sessions, id)
		}
	}
	for len(e.sessions) >= maxSessions {
		oldest := ""
		for id, s := range e.sessions {
			if oldest == "" || s.lastUsed.Before(e.sessions[oldest].lastUsed) {
				oldest = id
			}
		}
		out = append(out, e.sessions[oldest].client)
		delete(e.sessions, oldest)
	}
	return out
}

// closeLater closes clients after a delay (calls still running on them
// fail by themselves; closing under them would only change how).
func closeLater(cs []*connect.Client, after time.Duration) {
	for _, c := range cs {
		time.AfterFunc(after, func() { _ = c.Close() })
	}
}

// replace drops the agent's session lost, unless another call already
// replaced it, and returns a fresh one.
func (e *Engine) replace(ctx context.Context, lost *connect.Client) (*connect.Client, error) {
	id := agentOf(ctx)
	e.mu.Lock()
	if s := e.sessions[id]; s != nil && s.client == lost {
		delete(e.sessions, id)
	}
	e.mu.Unlock()
	closeLater([]*connect.Client{lost}, e.cfg.CallTimeout)
	return e.session(ctx)
}

// Sessions is the number of agent sessions the engine holds open.
func (e *Engine) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

var errLockdown = errors.New("the Spark session's lockdown changed")
