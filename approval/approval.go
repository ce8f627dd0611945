// Package approval owns the human approvals of promotions: a request for a
// person to approve exactly what a promote call would run (pipeline,
// pipeline hash, target, run options, principal), its decision, its expiry
// and its single use.
//
// Requests live as one JSON file each under a directory of the workspace,
// written atomically (temporary file, fsync, rename) under an exclusive file
// lock, so the server and the command-line approve/deny (or the web
// console), which are separate processes, never lose or mix up a decision.
// A request is approved or denied only through [Store.Approve] and
// [Store.Deny], which the server never calls from a tool call: an agent
// cannot grant its own approval.
package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultTTL is how long a request stays valid when the configuration does
// not say.
const DefaultTTL = 24 * time.Hour

// Status is where a request is in its life.
type Status string

// The statuses. Pending becomes approved, denied or expired; approved
// becomes used (the promotion ran) or expired.
const (
	Pending  Status = "pending"
	Approved Status = "approved"
	Denied   Status = "denied"
	Expired  Status = "expired"
	Used     Status = "used"
)

// Subject is exactly what a promotion would run, and for whom. An approval
// is valid only for an identical subject.
type Subject struct {
	// Pipeline is the pipeline's name.
	Pipeline string `json:"pipeline"`
	// PipelineHash is the hash of the validated draft.
	PipelineHash string `json:"pipeline_hash"`
	// Target is the production catalog.schema the datasets are written to.
	Target string `json:"target"`
	// Principal is who asked for the promotion.
	Principal string `json:"principal"`
	// Options are the run options (refresh selection), in a canonical text
	// form; empty for a default run.
	Options string `json:"options,omitempty"`
}

// Digest is a stable digest of the subject, binding everything in it.
func (s Subject) Digest() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Request is one approval request and its decision.
type Request struct {
	ID string `json:"id"`
	Subject
	// Conversation is the conversation within the principal that asked
	// (informational; the binding is to the principal).
	Conversation string `json:"conversation,omitempty"`
	// Datasets are the production datasets the promotion creates or
	// replaces, qualified, each with its kind.
	Datasets []Dataset `json:"datasets,omitempty"`
	// Plan is the promotion plan (as plan_promotion returns it) and
	// PlanText its readable form, shown to the person.
	Plan     json.RawMessage `json:"plan,omitempty"`
	PlanText string          `json:"plan_text,omitempty"`
	// Status is the current status; see [Request.Effective] for the status
	// at a given time.
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// DecidedBy and DecidedAt record who approved or denied it, and when;
	// Via is how ("cli", "console", "elicitation").
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Via       string     `json:"via,omitempty"`
	// UsedAt is when the approved promotion started.
	UsedAt *time.Time `json:"used_at,omitempty"`
}

// Dataset is one dataset a promotion writes.
type Dataset struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// FullRefresh marks a dataset recomputed from scratch.
	FullRefresh bool `json:"full_refresh,omitempty"`
}

// Effective is the status at now: a pending or approved request past its
// expiry is expired even before anyone wrote that down.
func (r *Request) Effective(now time.Time) Status {
	if (r.Status == Pending || r.Status == Approved) && !now.Before(r.ExpiresAt) {
		return Expired
	}
	return r.Status
}

// Describe is the text a person reads before deciding.
func (r *Request) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Promote pipeline %q to production %s\n", r.Pipeline, r.Target)
	fmt.Fprintf(&b, "  pipeline hash: %s\n", r.PipelineHash)
	fmt.Fprintf(&b, "  requested by:  %s\n", r.Principal)
	if r.Options != "" {
		fmt.Fprintf(&b, "  options:       %s\n", r.Options)
	}
	if len(r.Datasets) > 0 {
		b.WriteString("  datasets created or replaced:\n")
		for _, d := range r.Datasets {
			fr := ""
			if d.FullRefresh {
				fr = " (full refresh: recomputed from scratch)"
			}
			fmt.Fprintf(&b, "    - %s (%s)%s\n", d.Name, d.Kind, fr)
		}
	}
	if r.PlanText != "" {
		b.WriteString("  plan:\n")
		for _, line := range strings.Split(strings.TrimRight(r.PlanText, "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	fmt.Fprintf(&b, "  expires:       %s", r.ExpiresAt.UTC().Format(time.RFC3339))
	return b.String()
}

// Errors the store returns; test with errors.Is.
var (
	ErrNotFound = errors.New("no such approval request")
	// ErrDecided: the request is no longer pending (approved, denied,
	// expired or used).
	ErrDecided = errors.New("the approval request was already decided")
	ErrExpired = errors.New("the approval request expired")
	// ErrMismatch: the approval is for a different subject.
	ErrMismatch = errors.New("the approval is for a different promotion")
)

// newID returns a fresh request id: "ap_" and 20 random hex digits.
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "ap_" + hex.EncodeToString(b)
}

// validID reports whether id has the shape of a request id (it names a
// file, so nothing else may pass).
func validID(id string) bool {
	if len(id) != 23 || !strings.HasPrefix(id, "ap_") {
		return false
	}
	_, err := hex.DecodeString(id[3:])
	return err == nil
}
