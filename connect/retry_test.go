package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func tinyPolicy(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Multiplier: 2}
}

// failing returns an operation that fails with errs in turn, then
// succeeds, and a pointer to its call count.
func failing(errs ...error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

func unavailable() error {
	return status.Error(codes.Unavailable, "connection error: connection refused")
}

func TestRetryTransientThenSuccess(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	disconnected := &SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR.DISCONNECTED"}
	f, calls := failing(unavailable(), disconnected, unavailable())
	if err := tinyPolicy(6).run(context.Background(), log, "Config", f); err != nil {
		t.Fatalf("run: %v", err)
	}
	if *calls != 4 {
		t.Errorf("calls = %d, want 4", *calls)
	}
	if n := strings.Count(logs.String(), "retrying Spark Connect call"); n != 3 || !strings.Contains(logs.String(), "op=Config") {
		t.Errorf("logged %d retries, want 3:\n%s", n, logs.String())
	}
}

func TestRetryNeverRetriesOtherErrors(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Internal, "boom"),
		status.Error(codes.Unauthenticated, "Invalid authentication token"),
		status.Error(codes.DeadlineExceeded, "deadline"),
		status.Error(codes.Canceled, "canceled"),
		status.Error(codes.ResourceExhausted, "too big"),
		&SparkError{Code: codes.Internal, ErrorClass: "INVALID_HANDLE.SESSION_CHANGED"},
		&SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR.POSITION_NOT_AVAILABLE"},
		context.Canceled,
		context.DeadlineExceeded,
		io.EOF,
	} {
		f, calls := failing(err, err, err)
		got := tinyPolicy(6).run(context.Background(), nil, "op", f)
		if got != err {
			t.Errorf("run(%v) = %v, want the error unchanged", err, got)
		}
		if *calls != 1 {
			t.Errorf("run(%v): %d calls, want 1", err, *calls)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	f, calls := failing(unavailable(), unavailable(), unavailable(), unavailable())
	err := tinyPolicy(3).run(context.Background(), nil, "ExecutePlan", f)
	if *calls != 3 {
		t.Errorf("calls = %d, want 3", *calls)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "ExecutePlan failed after 3 attempts: UNAVAILABLE: connection error") {
		t.Errorf("err = %v", err)
	}
	var se *SparkError
	if !errors.As(err, &se) || status.Code(err) != codes.Unavailable || !IsTransient(err) {
		t.Errorf("err %v does not expose the UNAVAILABLE SparkError", err)
	}

	for _, p := range []RetryPolicy{NoRetry(), {}, {MaxAttempts: -3}} {
		want := unavailable()
		f, calls := failing(want, want)
		if err := p.run(context.Background(), nil, "op", f); *calls != 1 || err != want {
			t.Errorf("%+v: %d calls, err %v; want 1 call and the error unchanged", p, *calls, err)
		}
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := RetryPolicy{MaxAttempts: 10, InitialBackoff: time.Hour, MaxBackoff: time.Hour, Multiplier: 2}
	f, calls := failing(unavailable(), unavailable())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx, nil, "Config", f) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || status.Code(err) != codes.Unavailable || IsTransient(err) {
			t.Errorf("err = %v, want one matching context.Canceled and wrapping the last failure", err)
		}
		if !strings.Contains(err.Error(), "Config") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("err = %q, want the op and the last failure in it", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if *calls != 1 {
		t.Errorf("calls = %d, want 1", *calls)
	}

	// An already cancelled context makes no call at all.
	f, calls = failing()
	if err := p.run(ctx, nil, "op", f); !errors.Is(err, context.Canceled) || *calls != 0 {
		t.Errorf("run with a done ctx: err %v, %d calls", err, *calls)
	}

	// A context that ends while f runs stops the loop too.
	ctx, cancel = context.WithCancel(context.Background())
	calls2 := 0
	err := tinyPolicy(10).run(ctx, nil, "op", func(context.Context) error {
		calls2++
		cancel()
		return unavailable()
	})
	if !errors.Is(err, context.Canceled) || calls2 != 1 {
		t.Errorf("cancel during f: err %v, %d calls", err, calls2)
	}
}

func TestRetryHonoursRetryInfo(t *testing.T) {
	st, err := status.New(codes.Unavailable, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(60 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	f, calls := failing(st.Err())
	start := time.Now()
	if err := tinyPolicy(3).run(context.Background(), nil, "op", f); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Errorf("retried after %v, want at least the 60ms RetryInfo delay", el)
	}
	if *calls != 2 {
		t.Errorf("calls = %d, want 2", *calls)
	}

	// A RetryInfo on a SparkError converted from the status works too.
	f, _ = failing(fromRPCError(st.Err()))
	start = time.Now()
	if err := tinyPolicy(3).run(context.Background(), nil, "op", f); err != nil || time.Since(start) < 60*time.Millisecond {
		t.Errorf("SparkError with RetryInfo: err %v after %v", err, time.Since(start))
	}
}

func TestRetryWait(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Multiplier: 2}
	if err := p.wait(context.Background(), 0, unavailable()); err != nil {
		t.Errorf("wait: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.InitialBackoff, p.MaxBackoff = time.Hour, time.Hour
	if err := p.wait(ctx, 0, unavailable()); !errors.Is(err, context.Canceled) {
		t.Errorf("wait on a done ctx = %v", err)
	}
	if err := (RetryPolicy{}).wait(ctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("zero wait on a done ctx = %v", err)
	}
}

func TestRetryBackoff(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Multiplier: 2}
	for attempt, want := range map[int]time.Duration{1: 50, 2: 100, 3: 200, 4: 300, 9: 300, 200: 300} {
		if got := p.backoff(attempt); got != want*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want*time.Millisecond)
		}
	}
	p.Jitter = 0.2
	for i := 0; i < 200; i++ {
		if got := p.backoff(2); got < 80*time.Millisecond || got > 120*time.Millisecond {
			t.Fatalf("backoff(2) with 20%% jitter = %v, want 80-120ms", got)
		}
	}
	if got := (RetryPolicy{InitialBackoff: time.Second, Multiplier: 0.1}).backoff(5); got != time.Second {
		t.Errorf("multiplier below 1: %v, want 1s", got)
	}
	if got := (RetryPolicy{InitialBackoff: time.Second, Multiplier: 10}).backoff(1000); got <= 0 {
		t.Errorf("uncapped backoff overflowed: %v", got)
	}
	if got := (RetryPolicy{}).backoff(3); got != 0 {
		t.Errorf("zero policy backoff = %v", got)
	}

	d := DefaultRetryPolicy()
	if d.MaxAttempts != 6 || d.InitialBackoff != 50*time.Millisecond || d.MaxBackoff != 5*time.Second || d.Multiplier != 2 || d.Jitter != 0.2 {
		t.Errorf("DefaultRetryPolicy() = %+v", d)
	}
	if NoRetry().MaxAttempts != 1 {
		t.Errorf("NoRetry() = %+v", NoRetry())
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{unavailable(), true},
		{fmt.Errorf("wrapped: %w", unavailable()), true},
		{fromRPCError(unavailable()), true},
		{&SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR.DISCONNECTED"}, true},
		{fmt.Errorf("x: %w", &SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR.DISCONNECTED"}), true},
		{&SparkError{Code: codes.Internal, ErrorClass: "INVALID_CURSOR"}, false},
		{&SparkError{Code: codes.Internal, ErrorClass: "INVALID_HANDLE.OPERATION_NOT_FOUND"}, false},
		{status.Error(codes.Internal, "x"), false},
		{status.Error(codes.Unknown, "x"), false},
		{status.Error(codes.Aborted, "x"), false},
		{status.Error(codes.Canceled, "x"), false},
		{status.Error(codes.DeadlineExceeded, "x"), false},
		{context.Canceled, false},
		{fmt.Errorf("%w: %w", context.DeadlineExceeded, unavailable()), false},
		{io.EOF, false},
	}
	for _, tt := range tests {
		if got := IsTransient(tt.err); got != tt.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
