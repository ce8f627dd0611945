package server

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/approval"
	"github.com/sdp-mcp/sdp-mcp/audit"
)

// answer is an elicitation handler that answers every question the same
// way and counts them.
type answer struct {
	action  mcp.ElicitationResponseAction
	content map[string]any
	asked   atomic.Int32
	message atomic.Value
}

func (a *answer) Elicit(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a.asked.Add(1)
	a.message.Store(r.Params.Message)
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: a.action, Content: a.content}}, nil
}

func elicitingClient(t *testing.T, s *Server, legacy bool, h client.ElicitationHandler) *client.Client {
	t.Helper()
	opts := []client.ClientOption{client.WithElicitationHandler(h)}
	if legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c, err := client.NewInProcessClientWithOptions(s.MCP(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "eliciting-agent", Version: "1"}
	init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}

// validated declares and validates a pipeline and returns its hash.
func validated(t *testing.T, c *client.Client, query string) string {
	t.Helper()
	if res, err := callTool(c, "declare_table", `{"pipeline":"sales","name":"t","kind":"materialized_view","query":"`+query+`"}`); err != nil || res.IsError {
		t.Fatalf("declare_table: %v %v", err, res)
	}
	res, err := callTool(c, "validate", `{"pipeline":"sales"}`)
	if err != nil || res.IsError {
		t.Fatalf("validate: %v %v", err, res)
	}
	return res.StructuredContent.(map[string]any)["pipeline_hash"].(string)
}

func promote(c *client.Client, hash string) (*mcp.CallToolResult, error) {
	return callTool(c, "promote", `{"pipeline":"sales","pipeline_hash":"`+hash+`"}`)
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

var approvalIDRE = regexp.MustCompile(`Approval id: (ap_[0-9a-f]{20})`)

func TestPromoteApprovalInClient(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		for _, accept := range []bool{true, false} {
			name := map[bool]string{false: "2026-07-28", true: "legacy"}[legacy] + map[bool]string{true: "/accept", false: "/decline"}[accept]
			t.Run(name, func(t *testing.T) {
				log := newMemAudit()
				s := newTestServer(t, testOpts{productionURL: "sc://prod.example.com/"}, log)
				a := &answer{action: mcp.ElicitationResponseActionDecline}
				if accept {
					a.action, a.content = mcp.ElicitationResponseActionAccept, map[string]any{"approve": true}
				}
				c := elicitingClient(t, s, legacy, a)
				hash := validated(t, c, "SELECT 1 AS one")
				res, err := promote(c, hash)
				if err != nil {
					t.Fatal(err)
				}
				if a.asked.Load() != 1 {
					t.Fatalf("the person was asked %d times", a.asked.Load())
				}
				msg, _ := a.message.Load().(string)
				if !strings.Contains(msg, hash) || !strings.Contains(msg, "main.analytics.t (materialized_view)") {
					t.Errorf("the question does not show what will run:\n%s", msg)
				}
				if accept == res.IsError {
					t.Fatalf("accept=%v but the result is %v: %s", accept, res.IsError, resultText(res))
				}
				if !accept && !strings.Contains(resultText(res), "the person declined") {
					t.Errorf("decline: %s", resultText(res))
				}
				events := map[string]int{}
				for _, r := range log.all() {
					if r.Event != "" {
						events[r.Event]++
						if r.Principal == "" || r.PipelineHash != hash || !strings.Contains(string(r.Fields), `"approval_id":"ap_`) {
							t.Errorf("approval record without principal, hash or id: %+v", r)
						}
						if r.ProtocolVersion == "" {
							t.Errorf("approval record without protocol version: %+v", r)
						}
					}
					// Waiting for the person's answer is not a denial.
					if accept && r.Decision == audit.Denied {
						t.Errorf("denied record in an accepted promotion: %+v", r)
					}
				}
				if accept && (events[approval.EventApproved] != 1 || events[approval.EventUsed] != 1) {
					t.Errorf("events %v", events)
				}
				if !accept && events[approval.EventDenied] != 1 {
					t.Errorf("events %v", events)
				}
			})
		}
	}
}

func TestPromoteApprovalOutOfBand(t *testing.T) {
	log := newMemAudit()
	now := time.Now()
	s := newTestServer(t, testOpts{productionURL: "sc://prod.example.com/"}, log)
	c := inProcess(t, s, false) // no elicitation capability
	hash := validated(t, c, "SELECT 1 AS one")

	res, err := promote(c, hash)
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "approval_required") {
		t.Fatalf("promote without approval: %v %s", err, resultText(res))
	}
	m := approvalIDRE.FindStringSubmatch(resultText(res))
	if m == nil {
		t.Fatalf("no approval id in %s", resultText(res))
	}
	id := m[1]
	// Asking again does not pile up requests.
	res, _ = promote(c, hash)
	if got := approvalIDRE.FindStringSubmatch(resultText(res)); got == nil || got[1] != id {
		t.Fatalf("a second promote made another request: %s", resultText(res))
	}

	// A person approves it out of band (what sdp-mcp approve does).
	if _, err := s.approvals.Approve(context.Background(), id, "ops-person", "cli"); err != nil {
		t.Fatal(err)
	}
	// An approval for one hash cannot promote another.
	hash2 := validated(t, c, "SELECT 2 AS two")
	res, _ = promote(c, hash2)
	if !res.IsError || !strings.Contains(resultText(res), "approval_required") {
		t.Fatalf("another hash was promoted under the approval: %s", resultText(res))
	}
	// Back to the approved draft: it runs, once.
	validated(t, c, "SELECT 1 AS one")
	res, err = promote(c, hash)
	if err != nil || res.IsError {
		t.Fatalf("promote after approval: %v %s", err, resultText(res))
	}
	res, _ = promote(c, hash)
	if !res.IsError || !strings.Contains(resultText(res), "approval_required") {
		t.Fatalf("an approval was used twice: %s", resultText(res))
	}
	var ok *audit.Record
	pending := 0
	for _, r := range log.all() {
		if r.Tool == "promote" && r.Decision == audit.OK && r.Event == "" {
			ok = &r
		}
		if slices.Contains(r.Rules, "promote.approval_required") || r.Event == approval.EventRequested {
			pending++
			if r.Decision != audit.Pending {
				t.Errorf("waiting for an approval is recorded as %s: %+v", r.Decision, r)
			}
		}
		if r.Event == approval.EventRequested && r.ProtocolVersion != mcp.LATEST_PROTOCOL_VERSION {
			t.Errorf("approval request recorded with protocol version %q: %+v", r.ProtocolVersion, r)
		}
	}
	if pending < 4 {
		t.Errorf("%d records of promotions waiting for approval, want at least 4", pending)
	}
	if ok == nil || !strings.Contains(ok.Summary, id) || !slices.Contains(ok.Rules, "promote.approved") {
		t.Fatalf("the promotion's audit record does not name its approval: %+v", ok)
	}
	_ = now
}

func TestPromoteApprovalExpired(t *testing.T) {
	log := newMemAudit()
	s := newTestServer(t, testOpts{productionURL: "sc://prod.example.com/"}, log)
	// A store on the same directory with a clock two days ahead: what the
	// server sees once the approval is past its 24 hours.
	c := inProcess(t, s, false)
	hash := validated(t, c, "SELECT 1 AS one")
	res, _ := promote(c, hash)
	id := approvalIDRE.FindStringSubmatch(resultText(res))[1]
	if _, err := s.approvals.Approve(context.Background(), id, "ops-person", "cli"); err != nil {
		t.Fatal(err)
	}
	later, err := approval.Open(s.approvals.Dir(), approval.Options{Recorder: approval.AuditRecorder{Log: log},
		Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	s.handler.SetApprovals(later)
	res, _ = promote(c, hash)
	if !res.IsError || !strings.Contains(resultText(res), "approval_required") {
		t.Fatalf("an expired approval was used: %s", resultText(res))
	}
	r, _ := later.Get(context.Background(), id)
	if r.Status != approval.Expired {
		t.Fatalf("status %s", r.Status)
	}
	var expired int
	for _, r := range log.all() {
		if r.Event == approval.EventExpired {
			expired++
		}
	}
	if expired != 1 {
		t.Fatalf("%d expiry records", expired)
	}
}

// TestApprovalEventNotRecorded: an approval whose event cannot be written
// to the audit log stops promote with a tool error for the operator, not a
// JSON-RPC error, and nothing reaches production.
func TestApprovalEventNotRecorded(t *testing.T) {
	log := newMemAudit()
	s := newTestServer(t, testOpts{productionURL: "sc://prod.example.com/"}, log)
	c := elicitingClient(t, s, false, &answer{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"approve": true}})
	hash := validated(t, c, "SELECT 1 AS one")
	log.failEvents = true
	res, err := promote(c, hash)
	if err != nil {
		t.Fatalf("a JSON-RPC error for an audit log that cannot be written: %v", err)
	}
	text := resultText(res)
	if !res.IsError || !strings.HasPrefix(text, "promote stopped because the audit log could not be written: one of its steps could not be recorded, so it went no further. ") ||
		!strings.Contains(text, "operator must free space for the audit log or repair it") || strings.Contains(text, "/var/log") {
		t.Fatalf("result (isError %v): %s", res.IsError, text)
	}
	for _, r := range log.all() {
		if r.Tool == "promote" && r.Decision == audit.OK {
			t.Errorf("promote completed: %+v", r)
		}
	}
}
