package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Decision is what happened to a call.
type Decision string

// The decisions.
const (
	// Allowed: the call passed the checks and is about to run.
	Allowed Decision = "allowed"
	// Rejected: the arguments were wrong (schema, domain checks, SQL guard);
	// the agent can fix them.
	Rejected Decision = "rejected"
	// Denied: the server's mode or configuration does not permit the call.
	Denied Decision = "denied"
	// Pending: the call waits for a person's answer (an elicitation or
	// input-required round, an approval requested out of band); nothing
	// ran, nothing was refused, and the client calls again. Not a denial.
	Pending Decision = "pending"
	// Failed: the call ran and failed (infrastructure, timeout, a failed run).
	Failed Decision = "failed"
	// OK: the call completed.
	OK Decision = "ok"
)

// Client identifies the MCP client software.
type Client struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Record is one line of the log: a tool call or, when Event is set, an
// event that is not a call.
type Record struct {
	// Seq is the record's position in the log, from 1, across rotated
	// files. [Log.Write] sets it.
	Seq uint64 `json:"seq"`
	// Prev is the hex SHA-256 of the previous record's canonical encoding
	// (64 zeros for the first record). [Log.Write] sets it.
	Prev string    `json:"prev"`
	Time time.Time `json:"time"`
	// Event is the kind of a non-call event ("engine.restarted"); empty
	// for tool calls.
	Event string `json:"event,omitempty"`
	// Session is the MCP session id (empty for stateless requests).
	Session string `json:"session_id,omitempty"`
	// RequestID is the JSON-RPC request id.
	RequestID string  `json:"request_id,omitempty"`
	Client    *Client `json:"client,omitempty"`
	// Transport is stdio or http.
	Transport string `json:"transport,omitempty"`
	Tool      string `json:"tool,omitempty"`
	// Arguments are the raw arguments with secrets redacted.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Decision  Decision        `json:"decision,omitempty"`
	// Rules are the ids of the checks that decided (e.g. schema.required,
	// mode.sandbox_only, dataset.query).
	Rules []string `json:"rules,omitempty"`
	// Summary is a one-line description of the result.
	Summary string `json:"summary,omitempty"`
	// DurationMS is how long the call took, in milliseconds (0 for allowed).
	// Events have no duration: their lines leave it out.
	DurationMS float64 `json:"duration_ms"`
	// PipelineHash is the hash of the pipeline draft the call saw or left.
	PipelineHash string `json:"pipeline_hash,omitempty"`
	// Environment is sandbox or production when the call used an engine.
	Environment string `json:"environment,omitempty"`
	// PolicySHA256 is the SHA-256 of the guardrail policy in force.
	PolicySHA256 string `json:"policy_sha256,omitempty"`
	// Fields are the details of an event (a JSON object, redacted).
	Fields json.RawMessage `json:"fields,omitempty"`
	// Principal is who made the call: an HTTP client's name, an OAuth
	// subject ("oauth:…"), the OS user of a stdio server, or "local".
	Principal string `json:"principal,omitempty"`
	// Conversation is the conversation within the principal: the legacy
	// session id, or the id the client sent in _meta (2026-07-28).
	Conversation string `json:"conversation,omitempty"`
	// ProtocolVersion is the MCP protocol version of the call.
	ProtocolVersion string `json:"protocol_version,omitempty"`
}

// Marshal renders r as one JSON line ending in "\n": its canonical
// encoding followed by the line end.
func Marshal(r Record) ([]byte, error) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	var v any = r
	if r.Event != "" {
		v = eventLine{Record: r}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding an audit record: %w", err)
	}
	return b.Bytes(), nil
}

// eventLine is how an event is encoded: a Record without the fields that
// only apply to calls. Its DurationMS, shallower than the Record's, takes
// its name and, being empty, leaves it out; every other field keeps its
// place, so the line is the canonical encoding.
type eventLine struct {
	Record
	DurationMS *struct{} `json:"duration_ms,omitempty"`
}
