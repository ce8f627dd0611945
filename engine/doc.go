// Package engine runs pipelines on Spark: it turns a pipeline.Pipeline into
// Spark Declarative Pipelines commands and queries sent through connect, for
// one environment (the sandbox or production). It owns validation (static
// graph checks, per-dataset analysis, SDP dry-run), runs (with progress and
// expectation counts), previews, and discovery of source tables.
//
// # Environment
//
// An [Engine] is bound to one environment by its [Config]: the Spark Connect
// URL, the catalog and database datasets are written to, the storage root
// and the source schemas the agent may read. Whatever catalog, database or
// storage a pipeline carries is replaced by the configuration's before
// anything is rendered; the pipeline's storage is <Storage>/<name>.
//
// # Sessions
//
// Every session the engine opens is locked down first (no SQL over file
// paths, no variable substitution, no server stack traces, time zone UTC),
// and the settings are read back before the session is used, and again
// when it was idle for a minute (a session whose lockdown cannot be
// confirmed is dropped, never used). Queries for an agent (analysis,
// previews, listings, expectation counts) run in a session of that agent's
// own, one per conversation of a principal ([WithAgentSession]), released after 15 idle
// minutes; each dry-run and run gets a session of its own from
// CreateDataflowGraph to the end of the run, released afterwards (which is
// also what stops a cancelled run on the server). When the server loses a
// session (restart, expiry), the engine opens a new one and retries the
// call once.
//
// A Spark session caches the file listing of the tables it read and does
// not see later writes by other sessions, so an agent's session refreshes
// the tables a preview or count reads before reading them.
//
// # Plan check
//
// SQL holding an agent's text is not sent for execution (previews,
// expectation counts, runs) before its analyzed plan passes the checks of
// package guardrails/plan: Spark is asked for the plan of that exact SQL
// (an explain, which executes nothing), and the tables and views it
// resolved must be allowed sources or the pipeline's datasets and agree
// with the static scan of the same text; script transforms, unknown leaf
// operators and nameless file relations are refused, and so is a plan that
// cannot be read. Validate checks every part's plan next to its analysis.
// A refusal is a problem whose message starts with the rule id (plan.source,
// ...). See plan.go.
//
// # Promotion plans
//
// Every run writes, on each materialized view and streaming table, the
// table property [DefinitionProperty]: the SHA-256 of what defines the
// table ([DefinitionHash]). [Engine.InspectTables] reads it back with the
// table's columns, format and row count, [Engine.Profile] asks the server
// for its Spark version and table format, and [BuildPlan] combines them with
// a dry-run's columns into a [PromotionPlan]: per table create, replace
// definition or unchanged, the column changes and whether they break
// readers, the refresh each table gets, the environment comparison and
// every reason a promotion would be refused. See promotion_plan.go.
//
// # Errors
//
// Anything the agent can fix comes back as pipeline.Problems, each naming
// the dataset or flow (or "pipeline", "query", "preview", "run", "source"),
// the field, the offending value, Spark's error class at the start of the
// message, and a fix hint derived from the class. Everything else (the
// server is unreachable, the session cannot be locked down, ...) is an
// ordinary error. Validate reports problems inside its result; a run that
// fails is a RunResult with a Failure.
//
// # Supervision and unavailable engines
//
// An engine on the local sandbox has a [Supervisor] (Config.Supervisor):
// the engine looks at the server's process every two seconds and before
// every call, and restarts a server that is gone before the next call that
// needs it, or at once when a call saw it go (three attempts, with growing
// waits, each reported to Config.OnRestart). A call in flight when the
// process went ends with an
// [UnavailableError] of kind stopped (a run: a RunResult whose failure is
// ENGINE_STOPPED, listing what completed): it says what state the pipeline
// is in and that retrying is safe. A remote engine that does not answer is
// an [UnavailableError] naming the environment, its URL without the token
// and how long the server waited. A Spark error the agent cannot fix
// (credentials, permissions, storage, server limits) is an [OperatorError]
// whose reference leads to the whole cause chain in the log.
//
// # Source pre-flight
//
// [Preflight] checks, before a promotion, that every table a pipeline reads
// exists in the target environment with the columns it has in the
// reference one, and reports every gap at once.
//
// # Known limitation
//
// With file-based tables (parquet, the Spark 4.3 sandbox's format), the
// flows writing one streaming table share one commit log keyed by batch
// number, and Spark drops a batch whose number another flow already used:
// a streaming table fed by several flows can lose rows. Validate warns
// about such tables (ValidationResult.Warnings); Delta tables, the default
// sandbox's, are exact.
package engine
