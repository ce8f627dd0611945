// Package eval owns agent evaluation: it runs an agent (any command that
// speaks MCP to the endpoint it is given) on each task of a suite against a
// sandbox-only sdp-mcp server, scores what the agent left behind — the
// tables its pipeline produced, compared with expected tables computed by
// SQL over the sources, whether the pipeline validates, and what the audit
// log says about its calls — and writes scorecards (JSON and markdown) per
// task and per suite. It also replays a recorded session's calls against a
// fresh sandbox and reports where the results diverge.
//
// Isolation. A task gets a fresh workspace (its own drafts, audit log and
// pipeline storage), its own server process and MCP session, a policy that
// lets it read only the task's sources, and its own schema (eval_<task>,
// dropped and recreated before the task) for the datasets it creates. The
// Spark server (one JVM) and the read-only sample tables are shared by the
// tasks of a run: starting a JVM per task would cost more than the tasks.
package eval
