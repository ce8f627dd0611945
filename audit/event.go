package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNoLog is returned by [Event] when the context carries no log.
var ErrNoLog = errors.New("audit: no audit log in the context")

// Writer is where records go. *Log implements it.
type Writer interface {
	Write(Record) error
}

type ctxKey struct{}

type callContext struct {
	w    Writer
	call Record
}

// NewContext returns ctx carrying w and the call being served, so code
// below it can record events with [Event]. The server does this for every
// tool call.
func NewContext(ctx context.Context, w Writer, call Record) context.Context {
	return context.WithValue(ctx, ctxKey{}, callContext{w: w, call: call})
}

// Event appends an event record (see the package doc) to the log carried
// by ctx, tied to the call ctx carries. It returns ErrNoLog when ctx
// carries no log, and the write error when the record is not kept.
func Event(ctx context.Context, kind string, fields map[string]any) error {
	c, ok := ctx.Value(ctxKey{}).(callContext)
	if !ok || c.w == nil {
		return ErrNoLog
	}
	r, err := eventRecord(callIdentity(c.call), kind, fields)
	if err != nil {
		return err
	}
	return c.w.Write(r)
}

// Event appends an event record (see the package doc); when ctx carries a
// call (see [NewContext]) the record is tied to it.
func (l *Log) Event(ctx context.Context, kind string, fields map[string]any) error {
	var base Record
	if c, ok := ctx.Value(ctxKey{}).(callContext); ok {
		base = callIdentity(c.call)
	}
	r, err := eventRecord(base, kind, fields)
	if err != nil {
		return err
	}
	return l.Write(r)
}

// callIdentity keeps what ties an event to a call.
func callIdentity(c Record) Record {
	return Record{Session: c.Session, RequestID: c.RequestID, Client: c.Client, Transport: c.Transport, Tool: c.Tool,
		Principal: c.Principal, Conversation: c.Conversation, ProtocolVersion: c.ProtocolVersion}
}

// eventRecord fills base as an event of kind with redacted fields.
func eventRecord(base Record, kind string, fields map[string]any) (Record, error) {
	if kind == "" {
		return Record{}, errors.New("audit: an event needs a kind")
	}
	base.Time, base.Event = time.Now(), kind
	if len(fields) > 0 {
		raw, err := json.Marshal(fields)
		if err != nil {
			return Record{}, fmt.Errorf("audit: encoding the fields of event %s: %w", kind, err)
		}
		base.Fields = Redact(raw)
	}
	return base, nil
}
