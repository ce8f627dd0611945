// Package connect is sdp-mcp's own Spark Connect client: it speaks the Spark
// Connect gRPC protocol directly (no JVM, no Python on the client side).
//
// It owns the connection string (sc:// URLs), the session (session id, user
// context, the server-side session id the server hands back), operations
// (ExecutePlan with our own operation ids and tags, reattachment after a cut
// stream, release at the end, interruption on cancellation), AnalyzePlan,
// session configuration, Spark's structured errors, and the decoding of Arrow
// result batches into Go values.
//
// The wire messages are generated from sdp-mcp's own subset of Spark's proto
// files (connect/proto), kept wire-compatible with Spark 4.1 and later.
package connect
