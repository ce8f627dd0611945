// Package toolcall owns the path every MCP tool call of sdp-mcp takes from
// raw arguments to result, whatever the tool: the strict JSON schemas
// derived from a tool's Go input and output structs (see schema.go for
// the struct tags), the check of the raw arguments against the input
// schema with every problem reported at once (argument, bad value, fix),
// the audit layer's [Outcome] (told the call is allowed before it has any
// effect, then what happened), the deadline, the sorting of the handler's
// error into something the agent can fix ([pipeline.Problems], a
// [ToolError], an [AnswerError]) or an infrastructure failure
// ([InfraError], whose cause chain goes to the server log under a
// reference and never to the agent), the check of the output against the
// output schema, and the structured content with its JSON text copy.
//
// It knows nothing of pipelines, engines or policies beyond these types:
// the tools themselves, and the guard, policy rules and drafts they use,
// are in package tools, which builds each tool with [Define].
package toolcall
