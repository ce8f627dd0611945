package server

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// ruleRate is the audit rule of a call refused by the rate limit.
const ruleRate = "limit.rate"

// rateLimiter is a token bucket per conversation of a principal
// (auth.Key): it may make perMinute calls at once, and the bucket refills
// evenly over a minute. Calls of one principal without a conversation id
// share the principal's bucket; different principals never share one.
// Buckets idle long enough to be full again are dropped, so the map does
// not grow without bound.
type rateLimiter struct {
	perMinute int
	now       func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{perMinute: perMinute, now: now, buckets: map[string]*bucket{}}
}

// refill is the time an empty bucket takes to fill up: a bucket idle that
// long is indistinguishable from a new one.
const refill = time.Minute

// allow takes a token from the session's bucket. When there is none, it
// reports how long until there is one.
func (l *rateLimiter) allow(session string) (ok bool, wait time.Duration) {
	return l.allowAt(session, l.perMinute)
}

// allowAt is allow with the rate of the caller (a principal's lower limit
// from the policy); perMinute < 1 means the limiter's own.
func (l *rateLimiter) allowAt(session string, perMinute int) (ok bool, wait time.Duration) {
	if perMinute < 1 || perMinute > l.perMinute {
		perMinute = l.perMinute
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	burst := float64(perMinute)
	b := l.buckets[session]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[session] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el.Seconds()*burst/refill.Seconds())
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / burst * float64(refill))
}

// sweep drops the buckets that have been idle long enough to be full. It
// runs at most once per refill period.
func (l *rateLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < refill {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) >= refill {
			delete(l.buckets, k)
		}
	}
}

// size is the number of buckets kept (tests).
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateMessage is what the agent sees when a call is refused.
func rateMessage(perMinute int, wait time.Duration) string {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf("rate limit of %d calls per minute for this conversation reached; wait %ds and retry", perMinute, secs)
}
