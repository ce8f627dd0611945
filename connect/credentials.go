package connect

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// dialOptions returns the grpc.NewClient options for e: transport security,
// the bearer token and extra headers as per-call metadata, the user agent
// (defaultUserAgent unless the URL set user_agent) and the message size
// limits.
//
// A token is only sent over TLS, or over plaintext to a loopback host; a
// token with plaintext to any other host is an error, reported before
// anything is dialled.
func (e *Endpoint) dialOptions(defaultUserAgent string) ([]grpc.DialOption, error) {
	if e.Host == "" {
		return nil, fmt.Errorf("Spark Connect endpoint has no host (example: %s)", urlExample)
	}
	if e.Token != "" && !e.UseSSL && !e.IsLoopback() {
		return nil, fmt.Errorf("token requires TLS for non-loopback host %q: add ;use_ssl=true to the URL, or connect to a loopback address", e.Host)
	}
	if e.Token != "" && !isTokenText(e.Token) {
		return nil, fmt.Errorf("the token contains spaces, control or non-ASCII characters, which cannot be sent in a header: check it was copied correctly")
	}
	if e.MaxMessageSize < 0 {
		return nil, fmt.Errorf("grpc_max_message_size must be positive, got %d", e.MaxMessageSize)
	}

	md := make(map[string]string, len(e.Headers)+1)
	for k, v := range e.Headers {
		if err := checkHeader(k, v); err != "" {
			return nil, fmt.Errorf("Spark Connect header: %s", err)
		}
		md[k] = v
	}
	if e.Token != "" {
		md["authorization"] = "Bearer " + e.Token
	}

	var opts []grpc.DialOption
	if e.UseSSL {
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if len(md) > 0 {
		opts = append(opts, grpc.WithPerRPCCredentials(&callMetadata{md: md, requireTLS: e.UseSSL}))
	}

	ua := e.UserAgent
	if ua == "" {
		ua = defaultUserAgent
	}
	if ua == "" {
		ua = "sdp-mcp"
	}
	opts = append(opts, grpc.WithUserAgent(ua))

	size := e.MaxMessageSize
	if size == 0 {
		size = DefaultMaxMessageSize
	}
	opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(size), grpc.MaxCallSendMsgSize(size)))
	// gRPC's default reconnect backoff grows to two minutes, during which
	// calls fail at once: a server that restarts would look down long after
	// it is back. Keep reconnect attempts frequent; our RetryPolicy bounds
	// how long a call waits.
	opts = append(opts, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
		MinConnectTimeout: 5 * time.Second,
	}))
	return opts, nil
}

// callMetadata is a credentials.PerRPCCredentials that attaches fixed
// metadata (the authorization header and the extra URL headers) to every
// call.
type callMetadata struct {
	md map[string]string
	// requireTLS is true when the connection uses TLS, so that gRPC refuses
	// to send the metadata should the transport ever be insecure. It is
	// false for plaintext, which dialOptions only allows with a token for
	// loopback hosts.
	requireTLS bool
}

var _ credentials.PerRPCCredentials = (*callMetadata)(nil)

func (c *callMetadata) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	return maps.Clone(c.md), nil
}

func (c *callMetadata) RequireTransportSecurity() bool { return c.requireTLS }
