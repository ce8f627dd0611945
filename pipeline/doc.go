// Package pipeline is the domain of sdp-mcp: a Spark Declarative Pipeline
// (SDP) as the agent declares it, and everything the server derives from that
// declaration before anything is sent to Spark.
//
// It owns:
//
//   - the model: [Pipeline], [Dataset] (materialized view, streaming table or
//     temporary view), [Flow] (an append flow into a streaming table) and
//     [Expectation], with validation whose errors ([Problems]) name the field,
//     the bad value and the fix;
//   - the dependency graph ([BuildGraph]): upstreams, external sources,
//     cycles, missing upstreams, topological order and a Mermaid rendering
//     ([Graph.Mermaid]);
//   - rendering to SDP SQL ([RenderDataset], [RenderFlow]): the server writes
//     every statement itself and embeds the agent's query body only as
//     "SELECT * FROM (\n<body>\n) AS <alias>";
//   - persistence as a standard SDP project folder ([Pipeline.Save], [Load]):
//     spark-pipeline.yml plus one generated file per dataset or flow under
//     transformations/, written atomically, with a machine-readable header that
//     makes the folder load back into the identical model and detects hand edits;
//   - the state file beside the draft ([LoadState], [SaveState]) that records
//     the last validation, run and promotion against [Pipeline.Hash];
//   - the SQL the server runs for previews and expectation counts
//     ([PreviewSQL], [PreviewQuerySQL], [ViolationCountSQL]).
//
// Catalog and database always come from the server's environment config and
// never from an agent. Generated SQL names datasets unqualified, so the same
// project folder runs unchanged against the sandbox and the production
// environment (the spec file's catalog and database are the graph defaults).
//
// The package does no I/O besides the project folder and state file, and no
// Spark calls.
package pipeline
