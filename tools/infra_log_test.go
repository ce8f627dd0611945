package tools

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// TestInfraErrorLogsTheCauseChain: the agent sees the public message of an
// infrastructure failure; the server log entry (the same ref) holds the
// whole cause chain, Spark's server-side causes included.
func TestInfraErrorLogsTheCauseChain(t *testing.T) {
	spark := &connect.SparkError{Code: codes.Internal, ErrorClass: "INTERNAL_ERROR", Message: "[INTERNAL_ERROR] boom",
		Causes: []connect.ErrorCause{{ExceptionClass: "java.io.IOException", Message: "disk full"}}}
	err := &InfraError{Public: "the sandbox engine failed", Err: fmt.Errorf("run of pipeline sales: %w", spark)}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Error("tool call failed", "ref", "abc123", "err", err)
	got := buf.String()
	for _, want := range []string{"ref=abc123", `err.public="the sandbox engine failed"`,
		"run of pipeline sales: [INTERNAL_ERROR] boom", "caused by java.io.IOException: disk full"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %q", got, want)
		}
	}
	if err.Error() != "the sandbox engine failed" {
		t.Errorf("public message %q", err.Error())
	}
}
