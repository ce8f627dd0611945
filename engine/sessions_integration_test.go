//go:build integration

package engine

import (
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// TestAgentSessions checks that every agent session gets a Spark session of
// its own, that a session whose lockdown no longer holds is dropped (never
// used) when it is checked again, and that Close releases them all.
func TestAgentSessions(t *testing.T) {
	e := newEnv(t, 2*time.Minute)
	e.exec("CREATE TABLE " + e.src + ".t (id INT) USING parquet")
	sessionOf := func(agent string) *connect.Client {
		t.Helper()
		var got *connect.Client
		ctx := WithAgentSession(e.ctx, agent)
		if _, err := e.eng.ListSources(ctx, "*"); err != nil {
			t.Fatal(err)
		}
		if err := e.eng.withSession(ctx, func(c *connect.Client) error { got = c; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b, none := sessionOf("agent-a"), sessionOf("agent-b"), sessionOf("")
	if a.ServerSessionID() == b.ServerSessionID() || a.ServerSessionID() == none.ServerSessionID() || a.SessionID() == b.SessionID() {
		t.Fatalf("agents share a Spark session: %s %s %s", a.SessionID(), b.SessionID(), none.SessionID())
	}
	if again := sessionOf("agent-a"); again != a {
		t.Error("an agent's second call got another session")
	}
	if n := e.eng.Sessions(); n != 3 {
		t.Errorf("%d sessions open, want 3", n)
	}

	// Loosen agent-a's session behind the engine's back, and make it due
	// for a lockdown check: the engine must drop it and open a fresh one.
	if err := a.SetConf(e.ctx, map[string]string{"spark.sql.runSQLOnFiles": "true"}); err != nil {
		t.Fatal(err)
	}
	e.eng.mu.Lock()
	e.eng.sessions["agent-a"].lastUsed = time.Now().Add(-2 * lockdownRecheck)
	e.eng.mu.Unlock()
	fresh := sessionOf("agent-a")
	if fresh == a || fresh.SessionID() == a.SessionID() {
		t.Fatal("a session whose lockdown changed was used again")
	}
	got, err := fresh.GetConf(e.ctx, "spark.sql.runSQLOnFiles")
	if err != nil || got["spark.sql.runSQLOnFiles"] != "false" {
		t.Errorf("the fresh session's runSQLOnFiles = %v, %v; want false", got, err)
	}

	if err := e.eng.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if n := e.eng.Sessions(); n != 0 {
		t.Errorf("%d sessions left after Close", n)
	}
}
