// Package tools holds the MCP tools of sdp-mcp, one file per tool: its
// typed input and output structs (from which the strict JSON schemas are
// derived), its description written for a model, its annotations and its
// handler, a method on [Handler]; and what the tools share about their
// domain: the named patterns of names and hashes (patterns.go), the SQL
// guard over a draft's bodies, the policy's rules on a call's facts
// (rules.go), the principal's narrowing (principal.go), the drafts' load
// and save under a per-pipeline lock, the engines and the cap on
// concurrent Spark operations (limit.go).
//
// Every call goes through the call path of package toolcall (see define in
// define.go): the arguments are checked against the input schema, the
// policy's rules run (tools that check SQL bodies run them once the guard
// has seen the bodies), the handler runs under a deadline, and its error
// is sorted into something the agent can fix or an infrastructure failure.
//
// The tools depend on small interfaces declared here: [Engine] (package
// engine, one per environment, created lazily by an [EngineFactory] so
// production is dialled only by promote) and [BodyChecker] (the SQL guard,
// package guardrails). Catalog, schema and storage come from the server's
// configuration, never from the agent.
package tools
