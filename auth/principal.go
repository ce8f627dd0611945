// Package auth owns who is calling: the principal every tool call is
// attributed to, and how it is established — a named bearer token or an
// OAuth 2.1 access token (a JWT checked against the issuer's keys) on
// HTTP, the operating-system user on stdio — plus the conversation within
// a principal that keys rate limits and Spark sessions.
package auth

import (
	"context"
	"os"
	"os/user"
	"slices"
)

// Principal kinds.
const (
	// KindToken: a named bearer token from http.clients (or the single
	// http.token_env token, named "http").
	KindToken = "token"
	// KindOAuth: the subject of a verified OAuth access token.
	KindOAuth = "oauth"
	// KindOS: the operating-system user running a stdio server.
	KindOS = "os"
	// KindLocal: an unauthenticated caller on a loopback HTTP server.
	KindLocal = "local"
)

// Principal is who a call is attributed to.
type Principal struct {
	// Name identifies the principal: the client's name, the token's
	// subject (prefixed with "oauth:"), or the OS user.
	Name string
	// Kind is one of the Kind constants.
	Kind string
	// Scopes are the OAuth scopes granted (KindOAuth only).
	Scopes []string
	// Tools, when not nil, are the only tools the principal's scopes allow
	// (KindOAuth with a scope map).
	Tools []string
}

// Allows reports whether the principal's token permits the tool.
func (p Principal) Allows(tool string) bool {
	return p.Tools == nil || slices.Contains(p.Tools, tool)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.Name != ""
}

// OSUser is the principal of a stdio server: the user running it.
func OSUser() Principal {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return Principal{Name: name, Kind: KindOS}
}

// Local is the principal of unauthenticated calls to a loopback HTTP server
// without configured clients.
func Local() Principal { return Principal{Name: "local", Kind: KindLocal} }

// ConversationMetaKey is the request _meta key a client on protocol
// 2026-07-28 (which has no sessions) may set to separate its
// conversations: calls with different values get their own rate-limit
// bucket and Spark session, within the same principal.
const ConversationMetaKey = "sdp-mcp/conversation"

// Key is the rate-limit and Spark-session key of a conversation of a
// principal.
func Key(principal, conversation string) string {
	if conversation == "" {
		return principal
	}
	return principal + "#" + conversation
}

type conversationKey struct{}

// WithConversation returns ctx carrying the conversation id of the call.
func WithConversation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, conversationKey{}, id)
}

// ConversationFrom returns the conversation id in ctx, or "".
func ConversationFrom(ctx context.Context) string {
	id, _ := ctx.Value(conversationKey{}).(string)
	return id
}
