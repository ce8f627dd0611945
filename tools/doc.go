// Package tools holds the MCP tools of sdp-mcp, one file per tool: its
// typed input and output structs (from which the strict JSON schemas are
// derived), its description written for a model, its annotations and its
// handler, a method on [Handler].
//
// Every call goes through the same path (see define in call.go): the raw
// arguments are checked against the input schema with every problem
// reported at once (field, bad value, fix); the server's audit layer is told
// the call is allowed; the handler runs under a deadline; its error is
// sorted into something the agent can fix ([pipeline.Problems], returned as
// a tool error listing every problem) or an infrastructure failure
// ([InfraError], whose cause never reaches the agent); the output is
// checked against the output schema and returned as structured content with
// a JSON text copy.
//
// The tools depend on small interfaces declared here: [Engine] (package
// engine, one per environment, created lazily by an [EngineFactory] so
// production is dialled only by promote) and [BodyChecker] (the SQL guard,
// package guardrails). Catalog, schema and storage come from the server's
// configuration, never from the agent.
package tools
