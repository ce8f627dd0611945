package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// Approvals is what the console needs from the server's promotion
// approvals: the pending ones, and a person's decision on one.
type Approvals interface {
	Pending(ctx context.Context) ([]Approval, error)
	Decide(ctx context.Context, id string, approve bool, principal, note string) error
}

// Approval is one pending promotion approval, for display.
type Approval struct {
	ID           string
	Pipeline     string
	PipelineHash string
	RequestedBy  string
	RequestedAt  time.Time
	ExpiresAt    time.Time
	// Summary is the plan in a few lines (what each dataset becomes).
	Summary string
}

// Errors Decide returns for a decision that cannot be made; test with
// errors.Is.
var (
	// ErrNoApproval: the approval is not pending (unknown, decided,
	// expired).
	ErrNoApproval = errors.New("no such pending approval")
	// ErrNotAllowed: this person may not make this decision.
	ErrNotAllowed = errors.New("not allowed")
)

type approvalsPageView struct {
	Available bool
	Pending   []Approval
	Flash     string
}

func (c *Console) approvalsPage(r *http.Request) (string, string, any, error) {
	v := approvalsPageView{Available: c.d.Approvals != nil, Flash: r.URL.Query().Get("done")}
	if v.Available {
		var err error
		if v.Pending, err = c.d.Approvals.Pending(r.Context()); err != nil {
			return "", "", nil, err
		}
	}
	return "approvals", "Promotion approvals", v, nil
}

// decide approves or denies one approval: a person's action, audited
// before it takes effect (a log that cannot be written stops it) and after.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, s *session) {
	id, verdict := r.PathValue("id"), r.PathValue("verdict")
	if c.d.Approvals == nil {
		c.fail(w, r, http.StatusNotFound, "this server has no promotion approvals")
		return
	}
	if verdict != "approve" && verdict != "deny" {
		c.fail(w, r, http.StatusNotFound, "no such action")
		return
	}
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if len(note) > 500 {
		note = note[:500]
	}
	fields, _ := json.Marshal(map[string]string{"approval": id, "verdict": verdict, "note": note,
		"principal": s.principal, "origin": r.Header.Get("Origin"), "remote": r.RemoteAddr})
	rec := audit.Record{Event: "console." + verdict, Principal: s.principal, Fields: fields, Decision: audit.Allowed,
		Summary: verdict + " requested by " + s.principal}
	rec.Time, rec.Transport = c.d.Now().UTC(), "http"
	if err := c.d.Audit.Write(rec); err != nil {
		c.d.Log.Error("audit log write failed", "err", err)
		c.fail(w, r, http.StatusServiceUnavailable, "the audit log cannot be written, so nothing was decided; tell the server's operator")
		return
	}
	started := c.d.Now()
	err := c.d.Approvals.Decide(r.Context(), id, verdict == "approve", s.principal, note)
	rec.Time, rec.DurationMS = c.d.Now().UTC(), float64(c.d.Now().Sub(started).Microseconds())/1000
	if err != nil {
		rec.Decision, rec.Summary = audit.Failed, verdict+" by "+s.principal+" failed: "+err.Error()
		c.writeAudit(r, rec)
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrNoApproval):
			code = http.StatusNotFound
		case errors.Is(err, ErrNotAllowed):
			code = http.StatusForbidden
		}
		c.fail(w, r, code, "the approval could not be decided: "+err.Error())
		return
	}
	past := map[string]string{"approve": "approved", "deny": "denied"}[verdict]
	rec.Decision, rec.Summary = audit.OK, past+" by "+s.principal
	c.writeAudit(r, rec)
	http.Redirect(w, r, Path+"/approvals?done="+urlQueryEscape(past+" "+id), http.StatusSeeOther)
}
