package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxServerRetryDelay caps the delay a server may ask for in a RetryInfo.
const maxServerRetryDelay = time.Minute

// RetryPolicy says how often and how patiently a call is retried after a
// transient failure (see IsTransient). Nothing else is ever retried.
type RetryPolicy struct {
	// MaxAttempts counts the first try; values below 1 mean 1.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt; each later
	// wait is Multiplier times the previous one (a Multiplier below 1
	// counts as 1), capped at MaxBackoff when MaxBackoff > 0.
	InitialBackoff, MaxBackoff time.Duration
	Multiplier                 float64
	// Jitter spreads each wait uniformly by up to this fraction either
	// way: 0.2 turns 100 ms into 80-120 ms. It is clamped to [0, 1].
	Jitter float64
}

// DefaultRetryPolicy returns 6 attempts with waits of 50 ms doubling up to
// 5 s, with 20% jitter.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    6,
		InitialBackoff: 50 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		Multiplier:     2,
		Jitter:         0.2,
	}
}

// NoRetry returns a policy that makes a single attempt.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

// IsTransient reports whether err is a transient unavailability worth
// retrying: gRPC code UNAVAILABLE (connection refused or reset, server
// restarting) or a Spark error of class INVALID_CURSOR.DISCONNECTED.
// Cancellation and deadlines are never transient.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *SparkError
	if errors.As(err, &se) {
		return se.Code == codes.Unavailable || se.ErrorClass == "INVALID_CURSOR.DISCONNECTED"
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return gs.GRPCStatus().Code() == codes.Unavailable
	}
	return false
}

// retryDelay returns the delay requested by a google.rpc.RetryInfo in
// err's gRPC status, or 0.
func retryDelay(err error) time.Duration {
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &gs) {
		return 0
	}
	for _, d := range gs.GRPCStatus().Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			if rd := ri.GetRetryDelay(); rd.IsValid() {
				return min(max(rd.AsDuration(), 0), maxServerRetryDelay)
			}
		}
	}
	return 0
}

// backoff returns the wait after the given failed attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	if p.InitialBackoff <= 0 {
		return 0
	}
	mult := max(p.Multiplier, 1)
	d := float64(p.InitialBackoff) * math.Pow(mult, float64(attempt-1))
	if p.MaxBackoff > 0 && d > float64(p.MaxBackoff) {
		d = float64(p.MaxBackoff)
	}
	if j := min(max(p.Jitter, 0), 1); j > 0 {
		d *= 1 + j*(2*rand.Float64()-1)
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(d)
}

// run calls f until it succeeds, fails with an error that is not
// transient, or MaxAttempts calls were made, waiting between attempts as
// the policy says; a RetryInfo delay on the error (capped at one minute)
// replaces the computed wait.
//
// An error that ends the loop at once (not transient, or the only attempt)
// is returned as f returned it. Otherwise the error names op and the
// number of attempts and wraps the last failure converted by fromRPCError,
// so errors.As finds its *SparkError and status.Code its code; when ctx is
// done during the retries (run returns promptly then) the error also
// matches ctx.Err() under errors.Is. Each retry is logged at Info level to
// log, which may be nil.
func (p RetryPolicy) run(ctx context.Context, log *slog.Logger, op string, f func(ctx context.Context) error) error {
	attempts := max(p.MaxAttempts, 1)
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if last == nil {
				return err
			}
			return fmt.Errorf("%s: %w (after %d attempts; last error: %w)", op, err, attempt-1, fromRPCError(last))
		}
		err := f(ctx)
		if err == nil {
			return nil
		}
		if !IsTransient(err) {
			return err
		}
		if attempt >= attempts {
			if attempts == 1 {
				return err
			}
			return fmt.Errorf("%s failed after %d attempts: %w", op, attempts, fromRPCError(err))
		}
		last = err
		if log != nil {
			log.LogAttrs(ctx, slog.LevelInfo, "retrying Spark Connect call after transient error",
				slog.String("op", op),
				slog.Int("attempt", attempt),
				slog.Int("max_attempts", attempts),
				slog.String("error", err.Error()))
		}
		if werr := p.wait(ctx, attempt-1, err); werr != nil {
			return fmt.Errorf("%s: %w (after %d attempts; last error: %w)", op, werr, attempt, fromRPCError(last))
		}
	}
}

// wait sleeps before retry number retry+1 (0-based: 0 is the wait after
// the first failure): the policy's backoff, or the RetryInfo delay carried
// by err (capped at one minute) when there is one. It returns ctx.Err() as
// soon as ctx is done, and nil after the wait.
func (p RetryPolicy) wait(ctx context.Context, retry int, err error) error {
	delay := p.backoff(retry + 1)
	if rd := retryDelay(err); rd > 0 {
		delay = rd
	}
	if delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
