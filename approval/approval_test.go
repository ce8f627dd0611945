package approval

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type events struct {
	mu    sync.Mutex
	kinds []string
}

func (e *events) RecordApproval(_ context.Context, ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds = append(e.kinds, ev.Kind+":"+string(ev.Request.Status))
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (*Store, *events, *clock) {
	t.Helper()
	ev := &events{}
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), Options{TTL: time.Hour, Recorder: ev, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, ev, c
}

var subjA = Subject{Pipeline: "sales", PipelineHash: strings.Repeat("a", 64), Target: "prod.gold", Principal: "alice"}

func TestApproveThenUseOnce(t *testing.T) {
	ctx := context.Background()
	s, ev, _ := newStore(t)
	r, err := s.Request(ctx, subjA, func(r *Request) { r.Datasets = []Dataset{{Name: "prod.gold.sales", Kind: "materialized_view"}} })
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Request(ctx, subjA, nil)
	if err != nil || again.ID != r.ID {
		t.Fatalf("a second request for the same subject should return the pending one: %v %v", again, err)
	}
	if u, err := s.Use(ctx, subjA); err != nil || u != nil {
		t.Fatalf("a pending request must not be usable: %v %v", u, err)
	}
	if _, err := s.Approve(ctx, r.ID, "bob", "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(ctx, r.ID, "bob", "cli"); !errors.Is(err, ErrDecided) {
		t.Fatalf("approving twice: %v", err)
	}
	other := subjA
	other.PipelineHash = strings.Repeat("b", 64)
	if u, _ := s.Use(ctx, other); u != nil {
		t.Fatal("an approval for one hash promoted another")
	}
	who := subjA
	who.Principal = "mallory"
	if u, _ := s.Use(ctx, who); u != nil {
		t.Fatal("an approval for one principal served another")
	}
	if u, err := s.Use(ctx, subjA); err != nil || u == nil || u.Status != Used {
		t.Fatalf("use: %v %v", u, err)
	}
	if u, _ := s.Use(ctx, subjA); u != nil {
		t.Fatal("an approval was used twice")
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil || got.Status != Used || got.DecidedBy != "bob" || !strings.Contains(got.Describe(), "prod.gold.sales") {
		t.Fatalf("get: %+v %v", got, err)
	}
	want := "approval.requested:pending approval.approved:approved approval.used:used"
	if strings.Join(ev.kinds, " ") != want {
		t.Fatalf("events %v, want %s", ev.kinds, want)
	}
}

func TestExpiryAndDeny(t *testing.T) {
	ctx := context.Background()
	s, ev, c := newStore(t)
	r, _ := s.Request(ctx, subjA, nil)
	if _, err := s.Approve(ctx, r.ID, "bob", "cli"); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if u, _ := s.Use(ctx, subjA); u != nil {
		t.Fatal("an expired approval was used")
	}
	if got, _ := s.Get(ctx, r.ID); got.Status != Expired {
		t.Fatalf("status %s, want expired", got.Status)
	}
	r2, _ := s.Request(ctx, subjA, nil)
	if r2.ID == r.ID {
		t.Fatal("a new request should be made after expiry")
	}
	if _, err := s.Deny(ctx, r2.ID, "bob", "cli"); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Decided(ctx, subjA); d == nil || d.ID != r2.ID {
		t.Fatalf("denied request not found: %v", d)
	}
	c.t = c.t.Add(2 * time.Hour)
	r3, _ := s.Request(ctx, subjA, nil)
	if _, err := s.Approve(ctx, r3.ID, "", "cli"); err == nil {
		t.Fatal("an approval without a name was accepted")
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := s.Approve(ctx, r3.ID, "bob", "cli"); !errors.Is(err, ErrExpired) {
		t.Fatalf("approving an expired request: %v", err)
	}
	if _, err := s.Get(ctx, "../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a bad id: %v", err)
	}
	list, _ := s.List(ctx)
	if len(list) != 3 {
		t.Fatalf("list has %d requests", len(list))
	}
	if !strings.Contains(strings.Join(ev.kinds, " "), "approval.expired:expired") {
		t.Fatalf("no expiry event: %v", ev.kinds)
	}
}

func TestSealedState(t *testing.T) {
	ctx := context.Background()
	s, _, c := newStore(t)
	st := s.NewState(subjA)
	sealed, err := s.Seal(st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Unseal(sealed, subjA); err != nil || got.ID != st.ID {
		t.Fatalf("unseal: %v %v", got, err)
	}
	other := subjA
	other.PipelineHash = strings.Repeat("c", 64)
	if _, err := s.Unseal(sealed, other); !errors.Is(err, ErrBadState) {
		t.Fatalf("state for another hash accepted: %v", err)
	}
	body, sig, _ := strings.Cut(sealed, ".")
	tampered := body[:len(body)-2] + "xx." + sig
	if _, err := s.Unseal(tampered, subjA); !errors.Is(err, ErrBadState) {
		t.Fatalf("tampered state accepted: %v", err)
	}
	if _, err := s.GrantInline(ctx, st.ID, subjA, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GrantInline(ctx, st.ID, subjA, "alice", nil); !errors.Is(err, ErrDecided) {
		t.Fatalf("a replayed answer was accepted: %v", err)
	}
	c.t = c.t.Add(time.Hour)
	if _, err := s.Unseal(sealed, subjA); !errors.Is(err, ErrBadState) {
		t.Fatalf("expired state accepted: %v", err)
	}
}
