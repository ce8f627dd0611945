// Package audit owns the append-only, hash-chained JSONL audit log: what
// a record holds, how it is encoded and chained, how it reaches the disk,
// rotation, repair of a torn tail, and verification.
//
// # What is recorded
//
// Every tool call the server receives is recorded, whatever happens to it:
// rejected by the schema or by the domain checks, denied by the server's
// mode, failed, or completed. A call that gets past the checks is recorded
// twice: an "allowed" record before it runs and its outcome after, so a
// crash mid-call still leaves a trace, and a log that cannot be written
// stops the call before it has any effect. Arguments are stored with
// secret-looking values redacted (see [Redact]).
//
// # Recording an event that is not a tool call
//
// Anything worth auditing that is not a tool call (an engine restart, an
// approval, a repair of the log itself) is an event record: "event" names
// its kind and "fields" holds its details (redacted like arguments). It
// has none of a call's outcome: no "arguments", "decision" or
// "duration_ms" (logs written before this rule hold "duration_ms":0 on
// events; they verify all the same).
//
//	// Inside a tool call (the server puts the log and the call into ctx):
//	err := audit.Event(ctx, "engine.restarted", map[string]any{"environment": "sandbox", "attempt": 2})
//	// With the log in hand:
//	err := log.Event(ctx, "approval.granted", map[string]any{"pipeline": "p"})
//
// Inside a call the event carries the call's session, request id, client,
// transport and tool, so it can be tied to the call. Kinds are dotted
// lower-case names, area first ("engine.restarted", "audit.repaired"). An
// event that cannot be written returns an error: whoever records it decides
// whether to go on. [Event] returns [ErrNoLog] when ctx carries no log.
//
// # Encoding and hash chain
//
// The log is one JSON object per line, in a file of mode 0600 opened for
// appending; each line is written with one write call and synced before
// [Log.Write] returns. Every record carries "seq" (1 for the first record
// of the log, then one more per record, across rotated files) and "prev",
// the lower-case hex SHA-256 of the canonical encoding of the previous
// record (64 zeros for the first).
//
// The canonical encoding of a record is its line exactly as stored, without
// the terminating "\n": UTF-8 JSON as written by [Marshal] (fields in
// [Record]'s declaration order starting with "seq" and "prev", no
// whitespace outside strings, no HTML escaping, time in UTC RFC 3339 with
// nanoseconds). Hashing the stored bytes means verification never
// re-encodes, so a record with fields an older reader does not know still
// verifies, and any change to any byte of a record is a change of its hash.
//
// Removing, editing, inserting or reordering records breaks the chain at
// the first record whose "seq" or "prev" no longer fits; [Verify] reports
// it with the file and line. Editing the very last record, or rewriting
// the whole chain, cannot be detected from the log alone: `sdp-mcp audit
// verify` prints the last seq and hash so an operator can keep them
// elsewhere as an anchor.
//
// # Crash and full-disk safety
//
// An append that fails or is cut short (a full disk, an I/O error) is
// rolled back: the file is truncated to the end of the last whole record
// and the error returned, so the caller refuses the call and no partial
// line is ever followed by another record. A process killed mid-write can
// leave a torn last line; [Open] cuts it and appends an "audit.repaired"
// event saying where, how many bytes and their SHA-256 and start.
//
// # Several servers on one log
//
// Each append holds an advisory lock (flock) on <path>.lock and first
// catches up with what other processes appended or rotated, so servers
// sharing a workspace extend one chain; [Verify] takes the lock shared, so
// it never sees a record being written.
//
// # Rotation
//
// When the next record would take the active file past
// [Options.MaxBytes], the file is renamed to <stem>.<seq>.<ext> next to it,
// where <seq> is the seq of its first record as 12 zero-padded digits
// (audit.jsonl → audit.000000000001.jsonl), and a new active file is
// started; the chain goes on across files. Rotated files are never
// written again nor deleted by the server.
//
// Logs written before the chain existed (lines without "seq") are kept:
// such lines may only precede the first chained record of the oldest
// file, and the first chained record's "prev" is the hash of the last of
// them.
package audit
