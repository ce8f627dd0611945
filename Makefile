# sdp-mcp — build, test, benchmark.
#
# `make run` brings up the local Spark sandbox (installing the pinned pyspark
# on first use); `make test` runs every test, including those against a real
# Spark Connect server. Tools and pyspark are cached outside the clone.

SHELL := /bin/bash
GO ?= go
CACHE_DIR ?= $(or $(SDP_MCP_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sdp-mcp)
TOOLS_BIN := $(CACHE_DIR)/tools/bin
BIN := bin/sdp-mcp

# Code generation tools, pinned.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2

.PHONY: all build run test sandbox-install functions-check test-unit fuzz-short lint generate check-generate bench tools clean docs docs-check node-tools browser python-mcp e2e demo

all: build

build:
	$(GO) build -o $(BIN) ./cmd/sdp-mcp

# Runs the MCP server on its embedded default: the local sandbox Spark
# Connect server (started first, installing pyspark into the cache on first
# use) with the sample data set loaded (once: a loaded sandbox is left as
# it is), served over streamable HTTP on loopback at http://127.0.0.1:8765/mcp.
# Ctrl-C stops the server; `bin/sdp-mcp sandbox stop` stops Spark.
run: build
	$(BIN) sandbox start
	$(BIN) sandbox samples
	$(BIN) serve --transport http --listen 127.0.0.1:8765

# The other sandbox profile CI runs the end-to-end tests on (the default
# profile, Spark 4.2 + Delta, runs everything).
OTHER_SPARK := 4.3
OTHER_FORMAT := parquet
# The engine tests that run there too: the ones whose outcome depends on
# the format (reruns, redefinitions, the promotion plan's table states).
OTHER_ENGINE_TESTS := TestPipelineLifecycle|TestRerunAndRedefineInTheEnvironmentsFormat|TestStreamingTableRedefined|TestPromotionPlanOnServer

# The whole suite: static checks, generated-code freshness, then every test
# (unit and integration, with the race detector) against a real Spark
# Connect server started by our own launcher in a throwaway workspace, on
# the default sandbox profile; then the end-to-end path again on the other
# profile, in a workspace of its own: the ./e2e/ package (validate, run,
# promote, approvals, faults, cluster promotion, through real MCP clients)
# and the engine's pipeline lifecycle test (runs, refreshes, two flows into
# one streaming table). Fails (never skips) when the engine cannot start.
# The web console's browser tests leave their screenshots in
# bin/console-screenshots.
test: lint check-generate docs-check functions-check fuzz-short node-tools browser python-mcp build
	@set -euo pipefail; \
	ws=$$(mktemp -d -t sdp-mcp-test.XXXXXX); ws2=$$(mktemp -d -t sdp-mcp-test.XXXXXX); \
	trap '$(BIN) --workspace "$$ws" sandbox stop >/dev/null 2>&1 || true; $(BIN) --workspace "$$ws2" sandbox stop >/dev/null 2>&1 || true; rm -rf "$$ws" "$$ws2"' EXIT; \
	SDP_MCP_TEST_WORKSPACE="$$ws" SDP_MCP_SCREENSHOTS="$${SDP_MCP_SCREENSHOTS:-$(CURDIR)/bin/console-screenshots}" \
	  $(GO) test -race -tags integration -count=1 -timeout 45m ./...; \
	$(BIN) --workspace "$$ws" sandbox stop >/dev/null; \
	echo "end-to-end tests on Spark $(OTHER_SPARK) + $(OTHER_FORMAT)"; \
	export SDP_MCP_TEST_WORKSPACE="$$ws2" SDP_MCP_TEST_SPARK=$(OTHER_SPARK) SDP_MCP_TEST_TABLE_FORMAT=$(OTHER_FORMAT); \
	$(GO) test -race -tags integration -count=1 -timeout 30m ./e2e/; \
	$(GO) test -race -tags integration -count=1 -timeout 15m -run '^($(OTHER_ENGINE_TESTS))$$' ./engine/

# pyspark of the default profile and of the other profile, with the
# default format's pinned connector jars, into the cache (idempotent; a
# filled cache needs no network).
sandbox-install: build
	$(BIN) sandbox install
	$(BIN) sandbox install --spark $(OTHER_SPARK) --table-format $(OTHER_FORMAT)

# Fails when the guard's per-line built-in function and keyword lists
# (guardrails/spark_*.go) differ from what each installed Spark line
# reports; `go run ./cmd/genfunctions` rewrites them.
functions-check: sandbox-install
	$(GO) run ./cmd/genfunctions -check

# The pinned Node tools of the end-to-end tests (MCP Inspector, conformance
# suite; Node 22 from npm when the system Node is older), cached outside the
# clone. The e2e tests call the same script; this target installs them up
# front so an install problem shows before the long test run.
node-tools:
	@bash scripts/node-tools.sh >/dev/null

# The pinned Python MCP SDK (a venv in the cache) that the identity and
# approval end-to-end tests drive the server with, on both protocol
# versions. The e2e tests call the same script.
python-mcp:
	@bash scripts/python-mcp.sh >/dev/null

# Chromium for the web console's browser tests (part of `make test`):
# Debian's chromium package, installed with apt-get when missing.
browser:
	@bash scripts/browser.sh >/dev/null

# The end-to-end tests only (part of `make test`): the built binary driven by
# the MCP Inspector CLI and the MCP conformance suite, against the shared
# test sandbox plus a private second Spark Connect server.
e2e: node-tools python-mcp
	$(GO) test -tags integration -count=1 -timeout 20m -v ./e2e/

# A scripted agent session: bin/sdp-mcp serve over stdio, driven by
# mcp-go's client through discover, declare, preview, validate and run.
demo: build
	$(GO) run ./e2e/demo

# A bounded run of every fuzz target (FUZZTIME each), on top of their seed
# corpora in testdata/fuzz, which the normal test run replays. The budget is
# a count of executions (about 1-8 s per target here), not a duration: with a
# duration, Go 1.26's fuzz coordinator can report a spurious "context
# deadline exceeded" at the deadline on a busy machine (golang/go#75804,
# fixed in Go 1.27), which would fail CI without any finding.
FUZZTIME ?= 40000x
fuzz-short:
	$(GO) test -run '^$$' -fuzz '^FuzzParseURL$$' -fuzztime $(FUZZTIME) ./connect/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckBody$$' -fuzztime $(FUZZTIME) ./guardrails/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./guardrails/plan/
	$(GO) test -run '^$$' -fuzz '^FuzzTokenize$$' -fuzztime $(FUZZTIME) ./guardrails/sqlscan/
	$(GO) test -run '^$$' -fuzz '^FuzzScan$$' -fuzztime $(FUZZTIME) ./guardrails/sqlscan/
	$(GO) test -run '^$$' -fuzz '^FuzzFileRoundTrip$$' -fuzztime $(FUZZTIME) ./pipeline/

# Unit tests only: no Spark needed.
test-unit:
	$(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) mod tidy -diff
	@# Cross-compile check: every package compiles for macOS and Windows
	@# (compile only; linking the commands would cost a minute, this seconds).
	GOOS=darwin $(GO) list -export ./... >/dev/null
	GOOS=windows $(GO) list -export ./... >/dev/null

tools: $(TOOLS_BIN)/buf $(TOOLS_BIN)/protoc-gen-go $(TOOLS_BIN)/protoc-gen-go-grpc

$(TOOLS_BIN)/buf:
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS_BIN)/protoc-gen-go:
	GOBIN=$(TOOLS_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS_BIN)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS_BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

# Regenerates connect/internal/sparkpb from connect/proto.
generate: tools
	rm -f connect/internal/sparkpb/*.pb.go
	PATH="$(TOOLS_BIN):$$PATH" buf generate

# Fails when the committed generated code differs from what `make generate`
# produces now.
check-generate: tools
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	PATH="$(TOOLS_BIN):$$PATH" buf generate -o "$$tmp"; \
	if ! diff -r -x doc.go "$$tmp/connect/internal/sparkpb" connect/internal/sparkpb; then \
	  echo "connect/internal/sparkpb is stale: run 'make generate' and commit the result"; exit 1; fi

# Regenerates the README's tool table from the registered tools.
docs:
	$(GO) run ./cmd/gendocs

# Fails when the README's tool table differs from the registered tools.
docs-check:
	$(GO) run ./cmd/gendocs -check

# Side-by-side benchmarks against the tools a user would otherwise use, in
# one run against one sandbox server. Writes bench/*.md.
bench: build
	$(BIN) sandbox install
	$(GO) run ./bench/connectbench -out bench/results.md
	$(GO) run ./bench/pipelinebench -out bench/pipeline-results.md
	$(GO) run ./bench/mcpbench -out bench/mcp-results.md
	$(GO) run ./bench/scalebench -out bench/scale-results.md

clean:
	rm -rf bin
