// Package e2e holds the end-to-end tests of sdp-mcp: the built binary driven
// by real MCP clients against real Spark Connect servers. They run with the
// integration build tag (part of `make test`):
//
//		go test -tags integration ./e2e/ -v -timeout 20m
//
//	  - TestInspector drives `sdp-mcp serve` (stdio) with the MCP Inspector
//	    CLI through discover, declare, preview, validate, run and promote,
//	    with the sandbox environment on the shared test sandbox and the
//	    production environment on a second, private Spark Connect server.
//	  - TestConformance runs the MCP conformance suite against `sdp-mcp serve
//	    --transport http`, with the expected failures in
//	    conformance-baseline.yml.
//
// The Node tools (pinned in package.json and package-lock.json) are
// installed by scripts/node-tools.sh, which the tests call; it also installs
// Node 22 from npm when the system Node is too old for the Inspector.
//
// The demo directory holds `make demo`, a scripted agent session.
package e2e
