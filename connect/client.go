package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"

	"github.com/sdp-mcp/sdp-mcp/connect/internal/sparkpb"
)

// DefaultClientType is sent as client_type on every request so that server
// logs show which client issued it.
const DefaultClientType = "sdp-mcp"

// ErrServerRestarted reports that the server no longer holds this client's
// session: it was restarted (or the session was released or timed out), so
// the session's state — temporary views, dataflow graphs, configuration — is
// gone. Dial again to start a new session.
var ErrServerRestarted = errors.New("the Spark Connect server lost this session (it was restarted, or the session expired); its temporary state is gone: reconnect to start a new session")

// Option configures a Client.
type Option func(*options)

type options struct {
	log        *slog.Logger
	retry      RetryPolicy
	clientType string
	userAgent  string
	releaseTTL time.Duration
	dialOpts   []grpc.DialOption // extra gRPC dial options (interceptors)
}

// WithLogger sends the client's structured logs to log.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// WithRetryPolicy sets how transient unavailability is retried.
func WithRetryPolicy(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithClientType overrides the client_type sent with every request.
func WithClientType(t string) Option { return func(o *options) { o.clientType = t } }

// WithUserAgent sets the gRPC user agent unless the URL has user_agent=.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// Client is one Spark Connect session over one gRPC connection. It is safe
// for concurrent use; operations run in the same server-side session.
type Client struct {
	ep         *Endpoint
	conn       *grpc.ClientConn
	rpc        sparkpb.SparkConnectServiceClient
	sessionID  string
	user       *sparkpb.UserContext
	clientType string
	retry      RetryPolicy
	log        *slog.Logger
	releaseTTL time.Duration

	mu            sync.Mutex
	serverSession string // server_side_session_id first seen; "" until then
	version       *Version
	closed        bool
}

// Dial parses a Spark Connect URL (sc://host:port/;token=...) and prepares a
// session. It does not contact the server: the first request does.
func Dial(ctx context.Context, url string, opts ...Option) (*Client, error) {
	ep, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return DialEndpoint(ctx, ep, opts...)
}

// DialEndpoint is Dial for an already parsed endpoint.
func DialEndpoint(_ context.Context, ep *Endpoint, opts ...Option) (*Client, error) {
	o := options{
		log:        slog.New(slog.DiscardHandler),
		retry:      DefaultRetryPolicy(),
		clientType: DefaultClientType,
		userAgent:  DefaultClientType,
		releaseTTL: 10 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	dialOpts, err := ep.dialOptions(o.userAgent)
	if err != nil {
		return nil, err
	}
	dialOpts = append(dialOpts, o.dialOpts...)
	conn, err := grpc.NewClient(ep.Target(), dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", ep, err)
	}
	sessionID := ep.SessionID
	if sessionID == "" {
		sessionID = uuid.NewString()
	}
	userID := ep.UserID
	if userID == "" {
		userID = "sdp-mcp"
	}
	return &Client{
		ep:         ep,
		conn:       conn,
		rpc:        sparkpb.NewSparkConnectServiceClient(conn),
		sessionID:  sessionID,
		user:       &sparkpb.UserContext{UserId: userID, UserName: userID},
		clientType: o.clientType,
		retry:      o.retry,
		log:        o.log.With("spark", ep.String(), "session_id", sessionID),
		releaseTTL: o.releaseTTL,
	}, nil
}

// SessionID is the client-chosen session id sent with every request.
func (c *Client) SessionID() string { return c.sessionID }

// ServerSessionID is the server-side session id the server reported, or ""
// before the first response.
func (c *Client) ServerSessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverSession
}

// Endpoint returns the parsed connection settings.
func (c *Client) Endpoint() *Endpoint { return c.ep }

// observed returns the server-side session id to echo back, or nil before
// one was seen.
func (c *Client) observed() *string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverSession == "" {
		return nil
	}
	s := c.serverSession
	return &s
}

// observe records the server-side session id of a response and reports a
// change: a different id means a different server process or session.
func (c *Client) observe(id string) error {
	if id == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.serverSession {
	case "":
		c.serverSession = id
		return nil
	case id:
		return nil
	default:
		return fmt.Errorf("%w (server-side session changed from %s to %s)", ErrServerRestarted, c.serverSession, id)
	}
}

// mapError converts an RPC failure into a typed error, recognising a lost
// session.
func (c *Client) mapError(err error) error {
	err = fromRPCError(err)
	var se *SparkError
	if errors.As(err, &se) && isSessionLost(se.ErrorClass) {
		return fmt.Errorf("%w: %w", ErrServerRestarted, err)
	}
	return err
}

func isSessionLost(class string) bool {
	switch class {
	case "INVALID_HANDLE.SESSION_CHANGED", "INVALID_HANDLE.SESSION_NOT_FOUND", "INVALID_HANDLE.SESSION_CLOSED":
		return true
	}
	return false
}

// Close releases the server-side session (best effort, bounded in time) and
// closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	started := c.serverSession != ""
	c.mu.Unlock()
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), c.releaseTTL)
		if err := c.ReleaseSession(ctx); err != nil {
			c.log.Debug("release session", "err", err)
		}
		cancel()
	}
	return c.conn.Close()
}

// ReleaseSession ends the session on the server: its operations are
// interrupted and its state dropped.
func (c *Client) ReleaseSession(ctx context.Context) error {
	req := &sparkpb.ReleaseSessionRequest{SessionId: c.sessionID, UserContext: c.user, ClientType: &c.clientType}
	var resp *sparkpb.ReleaseSessionResponse
	err := c.retry.run(ctx, c.log, "ReleaseSession", func(ctx context.Context) (err error) {
		resp, err = c.rpc.ReleaseSession(ctx, req)
		return err
	})
	if err != nil {
		return c.mapError(err)
	}
	_ = resp
	return nil
}
