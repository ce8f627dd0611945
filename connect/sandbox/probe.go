package sandbox

import (
	"context"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
)

// probeTimeout bounds one readiness / liveness request.
const probeTimeout = 10 * time.Second

// probe asks the server at url for its Spark version with our own Spark
// Connect client. Success means the server is up, speaks Spark Connect and
// accepts our token.
func probe(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, err := connect.Dial(ctx, url, connect.WithRetryPolicy(connect.NoRetry()))
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.SparkVersion(ctx)
}
