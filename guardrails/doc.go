// Package guardrails checks the SQL query bodies that AI agents send before
// anything reaches Spark.
//
// An agent supplies only a query body; the server embeds it as
// SELECT * FROM (\n<body>\n) AS <alias>, so Spark's own grammar refuses
// anything that is not a query. [CheckBody] is the static layer in front of
// that: it sends nothing anywhere, never panics, and reports every problem
// at once, each as a [Finding] with a stable rule id, the line:column span of
// the offending text, a message that names it and a hint telling the agent
// how to fix its call. It checks, in this order:
//
//   - hygiene: size cap (checked before anything else), valid UTF-8, no
//     control or invisible formatting characters, ASCII outside string
//     literals and backquoted identifiers, no ';', no "${", no hints, no
//     parameter markers, balanced parentheses under a depth cap, no unclosed
//     string, identifier, comment or hint, no "--" comment continued by a
//     trailing backslash;
//   - shape: the body starts a query (SELECT, WITH, FROM, VALUES, TABLE or
//     '(') and writes nothing;
//   - dangerous constructs: script transforms (USING 'cmd', RECORDREADER,
//     RECORDWRITER, ROW FORMAT), IDENTIFIER(...), WITH RECURSIVE, and on
//     relations path-based reads, time travel, change-feed reads, WITH
//     (...) options, global_temp and STREAM where the dataset kind does not
//     allow it;
//   - the relation allow-list: every relation, qualified with the default
//     catalog and schema, must match an allowed source glob or be a dataset
//     of the pipeline;
//   - the function allow-list: every call must be an unqualified (or
//     builtin./system.builtin.-qualified) Spark built-in that is not denied
//     (reflect, java_method, try_reflect, ...); table functions in FROM must
//     be built-in generators, range or unnest.
//
// The tokens, relations and calls come from package sqlscan, which mirrors
// Spark's lexer; see its documentation for what a text scanner cannot see.
// This layer is for early, explainable rejection. It is not the only
// authority: the engine-side plan check, locked session settings and
// catalog privileges back it up.
package guardrails
