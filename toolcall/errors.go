package toolcall

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/connect"
)

// The errors a handler returns are sorted by the call path:
// [pipeline.Problems] are problems the agent can fix (a rejected call
// listing every one); a [ToolError] is a refusal or failure the agent is
// told about in one message; an [AnswerError] carries a result to return
// as is; an [InfraError], or any other error, is a failure of the server
// whose cause never reaches the agent.

// InfraError is a failure of the server or what it depends on (the engine,
// the file system), not of the agent's call. Its message is Public only:
// the cause (Err), which may hold paths, hosts or tokens, goes to the
// server log, never to the agent.
type InfraError struct {
	Public string
	Err    error
}

func (e *InfraError) Error() string { return e.Public }

// Unwrap returns the cause.
func (e *InfraError) Unwrap() error { return e.Err }

// LogValue is what the server log records about the failure: the public
// message and the whole cause chain (the agent sees only the public part,
// with the same reference).
func (e *InfraError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public", e.Public), slog.String("cause", CauseChain(e.Err)))
}

// NewRef is a reference that ties a message the agent sees to the server
// log entry holding the cause.
func NewRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CauseChain renders err and, for a Spark error, the server-side causes
// Spark reported with it.
func CauseChain(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var se *connect.SparkError
	if errors.As(err, &se) {
		for _, c := range se.Causes {
			s += " | caused by " + c.ExceptionClass + ": " + c.Message
		}
	}
	return s
}

// ToolError is a failure reported to the agent as a tool error with a
// decision other than rejected (denied, failed, pending): Msg is what the agent
// reads, Rule the id of the check that decided.
type ToolError struct {
	Decision audit.Decision
	Rule     string
	Msg      string
}

func (e *ToolError) Error() string { return e.Msg }

// AnswerError carries a result the agent gets as is, in place of the
// tool's output (e.g. a question for the client's user); the call has had
// no effect.
type AnswerError struct {
	Result   *mcp.CallToolResult
	Decision audit.Decision
	Summary  string
}

func (e *AnswerError) Error() string { return "answered with " + e.Summary }
