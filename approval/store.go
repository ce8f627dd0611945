package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Event kinds, one per change of a request.
const (
	EventRequested = "approval.requested"
	EventApproved  = "approval.approved"
	EventDenied    = "approval.denied"
	EventExpired   = "approval.expired"
	EventUsed      = "approval.used"
)

// Event is a change of a request, for the audit log.
type Event struct {
	Kind    string
	Request Request
}

// Recorder receives every event (the audit log). An error from it undoes
// nothing but is returned to the caller, which must not proceed as if the
// change had been recorded.
type Recorder interface {
	RecordApproval(ctx context.Context, e Event) error
}

// Options configure a store.
type Options struct {
	// TTL is how long a request stays valid; 0 means DefaultTTL.
	TTL time.Duration
	// Recorder receives every change; nil records nothing.
	Recorder Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store keeps approval requests in one directory.
type Store struct {
	dir string
	ttl time.Duration
	rec Recorder
	now func() time.Time
}

// Open returns the store kept in dir, creating the directory (private to the
// user) if needed.
func Open(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the approvals directory: %w", err)
	}
	s := &Store{dir: dir, ttl: o.TTL, rec: o.Recorder, now: o.Now}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Dir is the directory of the store.
func (s *Store) Dir() string { return s.dir }

// TTL is how long a new request stays valid.
func (s *Store) TTL() time.Duration { return s.ttl }

// Request asks for a person's approval of subj: it returns the pending request
// for the same subject if there is one, otherwise a new pending request.
// fill, when set, completes a new request (datasets, plan, conversation)
// before it is saved.
func (s *Store) Request(ctx context.Context, subj Subject, fill func(*Request)) (*Request, error) {
	var out *Request
	var created bool
	err := s.locked(func() error {
		rs, err := s.readAll()
		if err != nil {
			return err
		}
		now := s.now()
		for _, r := range rs {
			if r.Subject == subj && r.Effective(now) == Pending {
				out = r
				return nil
			}
		}
		r := &Request{ID: newID(), Subject: subj, Status: Pending, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.ttl).UTC()}
		if fill != nil {
			fill(r)
		}
		if err := s.write(r); err != nil {
			return err
		}
		out, created = r, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		if err := s.record(ctx, EventRequested, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Get returns one request, with expiry applied (an expired request is
// recorded as expired the first time it is seen so).
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	var out *Request
	var expired bool
	err := s.locked(func() error {
		r, err := s.read(id)
		if err != nil {
			return err
		}
		expired, err = s.expireLocked(r)
		out = r
		return err
	})
	if err != nil {
		return nil, err
	}
	if expired {
		if err := s.record(ctx, EventExpired, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// List returns every request, newest first, with expiry applied.
func (s *Store) List(ctx context.Context) ([]Request, error) {
	var rs []*Request
	var expired []*Request
	err := s.locked(func() error {
		var err error
		rs, err = s.readAll()
		if err != nil {
			return err
		}
		for _, r := range rs {
			e, err := s.expireLocked(r)
			if err != nil {
				return err
			}
			if e {
				expired = append(expired, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range expired {
		if err := s.record(ctx, EventExpired, r); err != nil {
			return nil, err
		}
	}
	out := make([]Request, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	slices.SortFunc(out, func(a, b Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// Approve records a person's approval of a pending request. by names the
// person, via how they decided ("cli", "console").
func (s *Store) Approve(ctx context.Context, id, by, via string) (*Request, error) {
	return s.decide(ctx, id, by, via, Approved, EventApproved)
}

// Deny records a person's refusal of a pending request.
func (s *Store) Deny(ctx context.Context, id, by, via string) (*Request, error) {
	return s.decide(ctx, id, by, via, Denied, EventDenied)
}

func (s *Store) decide(ctx context.Context, id, by, via string, to Status, kind string) (*Request, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if strings.TrimSpace(by) == "" {
		return nil, errors.New("approval: who decides must be named")
	}
	var out *Request
	var expired bool
	err := s.locked(func() error {
		r, err := s.read(id)
		if err != nil {
			return err
		}
		out = r
		if expired, err = s.expireLocked(r); err != nil {
			return err
		}
		switch {
		case expired || r.Status == Expired:
			return fmt.Errorf("%w: %s expired at %s", ErrExpired, id, r.ExpiresAt.Format(time.RFC3339))
		case r.Status != Pending:
			return fmt.Errorf("%w: %s is %s", ErrDecided, id, r.Status)
		}
		now := s.now().UTC()
		r.Status, r.DecidedBy, r.DecidedAt, r.Via = to, by, &now, via
		return s.write(r)
	})
	if expired {
		if rerr := s.record(ctx, EventExpired, out); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, kind, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Use finds an approved, unexpired request for exactly subj and marks it
// used, so that it never authorises a second promotion. It returns nil and
// no error when there is none.
func (s *Store) Use(ctx context.Context, subj Subject) (*Request, error) {
	var out *Request
	var expired []*Request
	err := s.locked(func() error {
		rs, err := s.readAll()
		if err != nil {
			return err
		}
		for _, r := range rs {
			e, err := s.expireLocked(r)
			if err != nil {
				return err
			}
			if e {
				expired = append(expired, r)
				continue
			}
			if r.Status == Approved && r.Subject == subj {
				now := s.now().UTC()
				r.Status, r.UsedAt = Used, &now
				if err := s.write(r); err != nil {
					return err
				}
				out = r
				return nil
			}
		}
		return nil
	})
	for _, r := range expired {
		if rerr := s.record(ctx, EventExpired, r); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := s.record(ctx, EventUsed, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Decided returns the most recent request for subj that a person denied
// and that has not expired, or nil: the agent is told, rather than asked to
// request the same promotion again.
func (s *Store) Decided(ctx context.Context, subj Subject) (*Request, error) {
	rs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, r := range rs {
		if r.Subject == subj && r.Status == Denied && now.Before(r.ExpiresAt) {
			return &r, nil
		}
	}
	return nil, nil
}

// GrantInline records an approval a person gave through their MCP client
// (an elicitation) and uses it at once: the request id comes from the
// sealed request state, so a replayed answer finds the id taken and fails.
func (s *Store) GrantInline(ctx context.Context, id string, subj Subject, by string, fill func(*Request)) (*Request, error) {
	return s.inline(ctx, id, subj, by, fill, Used, EventApproved)
}

// DenyInline records a refusal a person gave through their MCP client.
func (s *Store) DenyInline(ctx context.Context, id string, subj Subject, by string, fill func(*Request)) (*Request, error) {
	return s.inline(ctx, id, subj, by, fill, Denied, EventDenied)
}

func (s *Store) inline(ctx context.Context, id string, subj Subject, by string, fill func(*Request), to Status, kind string) (*Request, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	var out *Request
	err := s.locked(func() error {
		if _, err := s.read(id); err == nil {
			return fmt.Errorf("%w: %s was already answered", ErrDecided, id)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := s.now().UTC()
		r := &Request{ID: id, Subject: subj, Status: to, CreatedAt: now, ExpiresAt: now.Add(s.ttl),
			DecidedBy: by, DecidedAt: &now, Via: "elicitation"}
		if to == Used {
			r.UsedAt = &now
		}
		if fill != nil {
			fill(r)
		}
		out = r
		return s.write(r)
	})
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, kind, out); err != nil {
		return nil, err
	}
	if to == Used {
		if err := s.record(ctx, EventUsed, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NewID returns a fresh request id (for a request answered inline).
func NewID() string { return newID() }

// expireLocked marks r expired when its time has passed, and reports
// whether it did.
func (s *Store) expireLocked(r *Request) (bool, error) {
	if r.Status != Expired && r.Effective(s.now()) == Expired {
		r.Status = Expired
		return true, s.write(r)
	}
	return false, nil
}

func (s *Store) record(ctx context.Context, kind string, r *Request) error {
	if s.rec == nil {
		return nil
	}
	if err := s.rec.RecordApproval(ctx, Event{Kind: kind, Request: *r}); err != nil {
		return fmt.Errorf("recording %s of %s: %w", kind, r.ID, err)
	}
	return nil
}

// locked runs fn holding an exclusive lock on the store, shared with other
// processes using it.
func (s *Store) locked(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking the approvals: %w", err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("locking the approvals: %w", err)
	}
	defer unlockFile(f)
	return fn()
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+".json") }

func (s *Store) read(id string) (*Request, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading approval %s: %w", id, err)
	}
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("approval %s is unreadable: %w", id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("approval %s holds the id %q", id, r.ID)
	}
	return &r, nil
}

func (s *Store) readAll() ([]*Request, error) {
	es, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("reading the approvals: %w", err)
	}
	var out []*Request
	for _, e := range es {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		r, err := s.read(id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// write saves r atomically: a reader sees the old file or the new one.
func (s *Store) write(r *Request) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-"+r.ID+"-*")
	if err != nil {
		return fmt.Errorf("saving approval %s: %w", r.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving approval %s: %w", r.ID, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving approval %s: %w", r.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving approval %s: %w", r.ID, err)
	}
	if err := os.Rename(tmp.Name(), s.path(r.ID)); err != nil {
		return fmt.Errorf("saving approval %s: %w", r.ID, err)
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
