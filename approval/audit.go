package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// AuditLog is where approval events are recorded. *audit.Log implements it.
type AuditLog interface {
	Write(audit.Record) error
}

// AuditRecorder records approval events in the audit log, one record each.
type AuditRecorder struct {
	Log AuditLog
	// Transport is where the event came from: the server's transport, or
	// "cli" for the command line.
	Transport string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ProtocolVersion returns the MCP protocol version of the call an
	// event happens in ("" when unknown, e.g. on the command line); nil
	// records none.
	ProtocolVersion func(context.Context) string
}

// RecordApproval implements [Recorder].
func (a AuditRecorder) RecordApproval(ctx context.Context, e Event) error {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	r := e.Request
	fields := map[string]any{"approval_id": r.ID, "pipeline": r.Pipeline, "target": r.Target,
		"status": r.Status, "expires_at": r.ExpiresAt.UTC().Format(time.RFC3339)}
	if r.Options != "" {
		fields["options"] = r.Options
	}
	if r.DecidedBy != "" {
		fields["decided_by"], fields["via"] = r.DecidedBy, r.Via
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	rec := audit.Record{Time: now().UTC(), Tool: "promote", Event: e.Kind, Fields: raw,
		Principal: r.Principal, Conversation: r.Conversation, PipelineHash: r.PipelineHash,
		Environment: "production", Transport: a.Transport}
	if a.ProtocolVersion != nil {
		rec.ProtocolVersion = a.ProtocolVersion(ctx)
	}
	switch e.Kind {
	case EventRequested:
		// Waiting for the person's answer: not a denial.
		rec.Decision = audit.Pending
		rec.Rules = []string{"promote.approval_required"}
		rec.Summary = fmt.Sprintf("approval %s requested for %s to %s, expires %s", r.ID, r.Pipeline, r.Target, r.ExpiresAt.Format(time.RFC3339))
	case EventApproved:
		rec.Decision = audit.OK
		rec.Summary = fmt.Sprintf("approval %s of %s to %s granted by %s via %s", r.ID, r.Pipeline, r.Target, r.DecidedBy, r.Via)
	case EventDenied:
		rec.Decision = audit.Denied
		rec.Rules = []string{"promote.approval_denied"}
		rec.Summary = fmt.Sprintf("approval %s of %s to %s denied by %s via %s", r.ID, r.Pipeline, r.Target, r.DecidedBy, r.Via)
	case EventExpired:
		rec.Decision = audit.Denied
		rec.Rules = []string{"promote.approval_expired"}
		rec.Summary = fmt.Sprintf("approval %s of %s to %s expired at %s", r.ID, r.Pipeline, r.Target, r.ExpiresAt.Format(time.RFC3339))
	case EventUsed:
		rec.Decision = audit.Allowed
		rec.Summary = fmt.Sprintf("approval %s of %s to %s used", r.ID, r.Pipeline, r.Target)
	}
	return a.Log.Write(rec)
}
