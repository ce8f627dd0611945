package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// fakeSupervisor is a server that is alive or not, and restarts after
// failing a given number of times.
type fakeSupervisor struct {
	mu       sync.Mutex
	alive    bool
	failures int // restarts still to fail
	restarts int
}

func (f *fakeSupervisor) Alive() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive
}

func (f *fakeSupervisor) Restart(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts++
	if f.failures > 0 {
		f.failures--
		return "", errors.New("java exited")
	}
	f.alive = true
	return "sc://127.0.0.1:15099/;token=secret-token-0123456789", nil
}

func supervisedEngine(t *testing.T, sup *fakeSupervisor, events *[]RestartEvent) *Engine {
	t.Helper()
	e, err := New(context.Background(), Config{URL: "sc://127.0.0.1:15002/", Catalog: "spark_catalog", Database: "d",
		Storage: "file:///s", Environment: "sandbox", Supervisor: sup,
		OnRestart: func(_ context.Context, ev RestartEvent) { *events = append(*events, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	e.sup.backoff = time.Millisecond
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestEnsureRestartsWithRetries(t *testing.T) {
	sup := &fakeSupervisor{failures: 2}
	var events []RestartEvent
	e := supervisedEngine(t, sup, &events)
	if err := e.ensure(context.Background()); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if sup.restarts != 3 || len(events) != 3 || events[0].OK || !events[2].OK || events[2].Attempt != 3 {
		t.Fatalf("restarts %d, events %+v", sup.restarts, events)
	}
	if ep := e.endpoint(); ep.Port != 15099 || strings.Contains(events[2].URL, "secret") {
		t.Errorf("endpoint after restart %v, event URL %q", ep.Target(), events[2].URL)
	}
	// Alive again: no more restarts.
	if err := e.ensure(context.Background()); err != nil || sup.restarts != 3 {
		t.Errorf("second ensure: %v, restarts %d", err, sup.restarts)
	}
}

func TestEnsureGivesUp(t *testing.T) {
	sup := &fakeSupervisor{failures: 10}
	var events []RestartEvent
	e := supervisedEngine(t, sup, &events)
	err := e.ensure(context.Background())
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Kind != KindRestartFailed || sup.restarts != restartAttempts {
		t.Fatalf("err %v, restarts %d", err, sup.restarts)
	}
	if !strings.Contains(err.Error(), "the sandbox engine is gone and could not be restarted (3 attempts") {
		t.Errorf("message: %s", err)
	}
}

func TestUnavailable(t *testing.T) {
	transient := &connect.SparkError{Code: codes.Unavailable, Message: "connection refused"}
	ctx := context.Background()

	// A supervised server whose process is gone: the call stopped with it.
	sup := &fakeSupervisor{alive: true}
	var events []RestartEvent
	e := supervisedEngine(t, sup, &events)
	sup.mu.Lock()
	sup.alive = false
	sup.mu.Unlock()
	e.sup.restartMu.Lock() // hold the restart until the call's error is checked
	err := e.unavailable(ctx, transient, time.Now().Add(-3*time.Second))
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Kind != KindStopped || !e.sup.gone.Load() {
		t.Fatalf("supervised, gone: %v", err)
	}
	e.sup.restartMu.Unlock()
	if msg := err.Error(); !strings.Contains(msg, "the sandbox engine stopped while the call ran") || !strings.Contains(msg, "retrying is safe") {
		t.Errorf("message: %s", msg)
	}
	// The restart begins at once, without waiting for the next call.
	for deadline := time.Now().Add(5 * time.Second); !sup.Alive(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no restart began after the server stopped during a call")
		}
	}
	if err := e.ensure(ctx); err != nil {
		t.Fatalf("ensure after the background restart: %v", err)
	}
	sup.mu.Lock()
	restarts := sup.restarts
	sup.mu.Unlock()
	if restarts != 1 {
		t.Errorf("%d restarts, want 1", restarts)
	}

	// A remote server that does not answer: named with its URL, without the token.
	r, err := New(ctx, Config{URL: "sc://db.example.com:443/;token=very-secret;use_ssl=true", Catalog: "c", Database: "d",
		Storage: "file:///s", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	err = r.unavailable(ctx, transient, time.Now().Add(-12*time.Second))
	msg := err.Error()
	if !errors.As(err, &ue) || ue.Kind != KindUnreachable || strings.Contains(msg, "very-secret") ||
		!strings.Contains(msg, "the production engine at sc://db.example.com:443 did not answer (the server waited 12") {
		t.Errorf("remote: %v", msg)
	}
	// Agent-fixable errors and the caller's own deadline pass through.
	fixable := &connect.SparkError{Code: codes.Internal, SQLState: "42P01", ErrorClass: "TABLE_OR_VIEW_NOT_FOUND"}
	if got := r.unavailable(ctx, fixable, time.Now()); got != fixable {
		t.Errorf("fixable: %v", got)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if got := r.unavailable(done, transient, time.Now()); got != transient {
		t.Errorf("cancelled: %v", got)
	}
}

func TestOperatorError(t *testing.T) {
	e := testEngine(t, "sc://localhost:1")
	e.cfg.Environment = "production"
	denied := &connect.SparkError{Code: codes.Internal, ErrorClass: "FAILED_READ_FILE.NO_HINT", SQLState: "KD001",
		Message: "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file s3://b/x. SQLSTATE: KD001",
		Causes:  []connect.ErrorCause{{ExceptionClass: "java.nio.file.AccessDeniedException", Message: "s3://b/x"}}}
	err := e.unavailable(context.Background(), denied, time.Now())
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Class != "FAILED_READ_FILE.NO_HINT" || oe.Ref == "" {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"the production engine failed the operation: [FAILED_READ_FILE.NO_HINT] Encountered error while reading file s3://b/x (SQLSTATE KD001)",
		"an operator must look at it", "ref " + oe.Ref} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, denied) || connect.ErrorClassOf(err) != "FAILED_READ_FILE.NO_HINT" {
		t.Error("the Spark error is not in the chain")
	}
	if got := causeChain(denied); !strings.Contains(got, "caused by java.nio.file.AccessDeniedException: s3://b/x") {
		t.Errorf("cause chain %q", got)
	}
}

// TestUnreachableRemote dials a port nothing listens on: the call fails
// with a message naming the environment, the URL without its token and
// how long the server waited.
func TestUnreachableRemote(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e, err := New(context.Background(), Config{URL: fmt.Sprintf("sc://127.0.0.1:%d/;token=top-secret-token", port),
		Catalog: "spark_catalog", Database: "d", Storage: "file:///s", Sources: []string{"spark_catalog.raw"},
		Environment: "production", CallTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.ListSources(context.Background(), "")
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Kind != KindUnreachable {
		t.Fatalf("got %v", err)
	}
	msg := ue.Error()
	t.Logf("message: %s", msg)
	if strings.Contains(msg, "top-secret") || !strings.Contains(msg, fmt.Sprintf("the production engine at sc://127.0.0.1:%d did not answer (the server waited ", port)) {
		t.Errorf("message: %s", msg)
	}
}
