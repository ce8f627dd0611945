// Command sdp-mcp is an MCP server that drives Apache Spark through Spark
// Connect. It also manages a local Spark sandbox for development
// ("sdp-mcp sandbox ...").
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// When empty, the version comes from the module build info.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, buildVersion(version))
	stop()
	os.Exit(code)
}
