// Package audit is the append-only JSONL audit log of tool calls.
//
// Every tool call the server receives is recorded, whatever happens to it:
// rejected by the schema or by the domain checks, denied by the server's
// mode, failed, or completed. A call that gets past the checks is recorded
// twice: an "allowed" record before it runs and its outcome after, so a
// crash mid-call still leaves a trace, and a log that cannot be written
// stops the call before it has any effect.
//
// The log is one JSON object per line, opened with O_APPEND and mode 0600,
// each line written with one write call and synced. Arguments are stored
// with secret-looking values redacted (see [Redact]).
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
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

// Record is one line of the log.
type Record struct {
	Time time.Time `json:"time"`
	// Session is the MCP session id (empty for stateless requests).
	Session string `json:"session_id,omitempty"`
	// RequestID is the JSON-RPC request id.
	RequestID string  `json:"request_id,omitempty"`
	Client    *Client `json:"client,omitempty"`
	// Transport is stdio or http.
	Transport string `json:"transport,omitempty"`
	Tool      string `json:"tool"`
	// Arguments are the raw arguments with secrets redacted.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Decision  Decision        `json:"decision"`
	// Rules are the ids of the checks that decided (e.g. schema.required,
	// mode.sandbox_only, dataset.query).
	Rules []string `json:"rules,omitempty"`
	// Summary is a one-line description of the result.
	Summary string `json:"summary,omitempty"`
	// DurationMS is how long the call took, in milliseconds (0 for allowed).
	DurationMS float64 `json:"duration_ms"`
	// PipelineHash is the hash of the pipeline draft the call saw or left.
	PipelineHash string `json:"pipeline_hash,omitempty"`
	// Environment is sandbox or production when the call used an engine.
	Environment string `json:"environment,omitempty"`
	// PolicySHA256 is the SHA-256 of the guardrail policy in force.
	PolicySHA256 string `json:"policy_sha256,omitempty"`
	// Principal is who made the call: an HTTP client's name, an OAuth
	// subject ("oauth:…"), the OS user of a stdio server, or "local".
	Principal string `json:"principal,omitempty"`
	// Conversation is the conversation within the principal: the legacy
	// session id, or the id the client sent in _meta (2026-07-28).
	Conversation string `json:"conversation,omitempty"`
	// ProtocolVersion is the MCP protocol version of the call.
	ProtocolVersion string `json:"protocol_version,omitempty"`
	// Event marks a record that is not a tool call: an approval's request,
	// grant, denial, expiry or use (approval.*).
	Event string `json:"event,omitempty"`
	// ApprovalID is the approval request the record is about.
	ApprovalID string `json:"approval_id,omitempty"`
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens (creating it and its directory if needed) the log at path for
// appending. The file is made private (0600) if it was not.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("opening the audit log: not a regular file")
	}
	if st.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("making the audit log private: %w", err)
		}
	}
	l := &Log{f: f}
	if err := l.endTornLine(path, st.Size()); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// endTornLine makes sure the next record starts on its own line when the
// last write was cut short (a crash mid-write), so one torn record never
// corrupts the next.
func (l *Log) endTornLine(path string, size int64) error {
	if size == 0 {
		return nil
	}
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checking the audit log: %w", err)
	}
	defer r.Close()
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, size-1); err != nil {
		return fmt.Errorf("checking the audit log: %w", err)
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := l.f.Write([]byte("\n")); err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	return nil
}

// Write appends r as one line and syncs it to disk.
func (l *Log) Write(r Record) error {
	line, err := Marshal(r)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("writing the audit log: closed")
	}
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("writing the audit log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("syncing the audit log: %w", err)
	}
	return nil
}

// Close closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Marshal renders r as one JSON line ending in "\n".
func Marshal(r Record) ([]byte, error) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encoding an audit record: %w", err)
	}
	return b.Bytes(), nil
}

// Tail writes the last n lines of the log at path to w.
func Tail(path string, n int, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	lines, err := lastLines(f, st.Size(), n)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	for _, l := range lines {
		if _, err := w.Write(append(l, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// lastLines returns the last n non-empty lines of r (of the given size),
// reading backwards in chunks so a large log is not read whole.
func lastLines(r io.ReaderAt, size int64, n int) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	const chunk = 64 << 10
	var buf []byte
	off := size
	for off > 0 {
		step := min(int64(chunk), off)
		off -= step
		b := make([]byte, step)
		if _, err := r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf = append(b, buf...)
		if bytes.Count(bytes.TrimRight(buf, "\n"), []byte("\n")) >= n {
			break
		}
	}
	var out [][]byte
	for _, l := range bytes.Split(buf, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if off > 0 && len(out) > 0 {
		out = out[1:] // the first line may be partial
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}
