package server

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRateLimitBurstRefusalRecovery(t *testing.T) {
	clk := newFakeClock()
	l := newRateLimiter(6, clk.Now) // a token every 10s

	for i := range 6 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("7th call: ok=%v wait=%s, want refused, 10s", ok, wait)
	}
	if got, want := rateMessage(6, wait), "rate limit of 6 calls per minute for this conversation reached; wait 10s and retry"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// Another session has its own bucket.
	if ok, _ := l.allow("b"); !ok {
		t.Error("session b refused because of session a")
	}

	clk.Advance(7 * time.Second)
	if ok, wait := l.allow("a"); ok || wait != 3*time.Second {
		t.Fatalf("after 7s: ok=%v wait=%s, want refused, 3s", ok, wait)
	}
	clk.Advance(3 * time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("not recovered after the wait")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("one refilled token allowed two calls")
	}

	// A full minute refills the whole burst, never more.
	clk.Advance(5 * time.Minute)
	for i := range 6 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("call %d after recovery refused", i+1)
		}
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("bucket refilled beyond its burst")
	}
}

func TestRateLimitDropsIdleSessions(t *testing.T) {
	clk := newFakeClock()
	l := newRateLimiter(10, clk.Now)
	for i := range 100 {
		l.allow(strings.Repeat("s", i+1))
	}
	if n := l.size(); n != 100 {
		t.Fatalf("size = %d, want 100", n)
	}
	clk.Advance(2 * time.Minute)
	l.allow("new")
	if n := l.size(); n != 1 {
		t.Errorf("size after idle = %d, want 1 (idle buckets dropped)", n)
	}
}

func TestRateLimitedCallIsDeniedAndAudited(t *testing.T) {
	clk := newFakeClock()
	log := newMemAudit()
	s := newTestServer(t, testOpts{callsPerMinute: 2, now: clk.Now}, log)
	c := inProcess(t, s, true)

	for i := range 2 {
		if res, err := callTool(c, "list_sources", `{}`); err != nil || res.IsError {
			t.Fatalf("call %d: %v %v", i+1, err, res)
		}
	}
	res, err := callTool(c, "list_sources", `{"pattern":"orders"}`)
	const want = "rate limit of 2 calls per minute for this conversation reached; wait 30s and retry"
	if err != nil || !res.IsError || toolText(res) != want {
		t.Fatalf("3rd call: err=%v result=%+v, want tool error %q", err, res, want)
	}

	recs := log.all()
	if len(recs) != 5 {
		t.Fatalf("records = %+v", recs)
	}
	r := recs[4]
	if r.Tool != "list_sources" || r.Decision != audit.Denied || len(r.Rules) != 1 || r.Rules[0] != "limit.rate" ||
		r.Summary != want || r.Session == "" || r.Session != recs[0].Session || !strings.Contains(string(r.Arguments), "orders") {
		t.Errorf("rate-limited record = %+v", r)
	}

	clk.Advance(30 * time.Second)
	if res, err := callTool(c, "list_sources", `{}`); err != nil || res.IsError {
		t.Fatalf("after the wait: %v %v", err, res)
	}
}

// toolText is the text of a tool result.
func toolText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
