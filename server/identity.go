package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
)

// ruleScope is the audit rule of a call the principal's token does not
// allow.
const ruleScope = "auth.scope"

// principal is who makes the call in ctx: set by the HTTP authentication,
// otherwise the server's own principal (the OS user on stdio).
func (s *Server) principal(ctx context.Context) auth.Principal {
	if p, ok := auth.PrincipalFrom(ctx); ok {
		return p
	}
	return s.self
}

// conversation is the conversation of a call within its principal: the
// legacy session id, else the id the client put in the request's _meta
// (protocol 2026-07-28 has no sessions), else none.
func conversation(ctx context.Context, meta *mcp.Meta) string {
	if sess := mcpserver.ClientSessionFromContext(ctx); sess != nil && sess.SessionID() != "" {
		return sess.SessionID()
	}
	if meta != nil {
		if v, ok := meta.AdditionalFields[auth.ConversationMetaKey].(string); ok && len(v) <= 128 {
			return v
		}
	}
	return ""
}

// attribute fills in who made the call: principal, conversation, client
// software, protocol version.
func (s *Server) attribute(ctx context.Context, r *audit.Record, meta *mcp.Meta) {
	r.Principal = s.principal(ctx).Name
	r.Conversation = conversation(ctx, meta)
	r.ProtocolVersion = mcpserver.RequestProtocolVersion(ctx)
	if sess := mcpserver.ClientSessionFromContext(ctx); sess != nil {
		r.Session = sess.SessionID()
		if ci, ok := sess.(mcpserver.SessionWithClientInfo); ok {
			if info := ci.GetClientInfo(); info.Name != "" || info.Version != "" {
				r.Client = &audit.Client{Name: info.Name, Version: info.Version}
			}
		}
	}
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientInfo != nil {
		r.Client = &audit.Client{Name: info.ClientInfo.Name, Version: info.ClientInfo.Version}
	}
	if r.Client == nil && meta != nil {
		if ci := meta.ClientInfo(); ci != nil {
			r.Client = &audit.Client{Name: ci.Name, Version: ci.Version}
		}
	}
}

// authenticator establishes the principal of an HTTP request.
type authenticator struct {
	tokens *auth.Tokens // nil: no named tokens
	oauth  *auth.OAuth  // nil: no OAuth
	// metadataURL is the protected resource metadata document (OAuth).
	metadataURL string
}

// newAuthenticator builds the HTTP authentication from the configuration:
// http.clients (and the single http.token_env, as client "http"), and the
// OAuth resource-server mode. It returns nil when neither is configured.
func newAuthenticator(ctx context.Context, st *config.Config, s *Server) (*authenticator, error) {
	a := &authenticator{}
	var clients []auth.Client
	if t := st.HTTP.Token(); t != "" {
		clients = append(clients, auth.Client{Name: "http", Token: t})
	}
	for _, c := range st.HTTP.Clients {
		clients = append(clients, auth.Client{Name: c.Name, Token: c.Token()})
	}
	if len(clients) > 0 {
		a.tokens = auth.NewTokens(clients)
	}
	if o := st.HTTP.OAuth; o != nil {
		v, err := auth.NewOAuth(ctx, auth.OAuthConfig{Issuer: o.Issuer, JWKSURL: o.JWKSURL, JWKSFile: o.JWKSFile,
			Resource: o.Resource, Scopes: o.Scopes, Log: s.log})
		if err != nil {
			return nil, fmt.Errorf("http.oauth: %w", err)
		}
		a.oauth = v
		u, _ := url.Parse(o.Resource)
		a.metadataURL = u.Scheme + "://" + u.Host + mcpserver.ProtectedResourceMetadataPath(o.Resource)
	}
	if a.tokens == nil && a.oauth == nil {
		return nil, nil
	}
	return a, nil
}

// authenticate returns the principal of r, or false.
func (a *authenticator) authenticate(r *http.Request) (auth.Principal, bool) {
	return a.verify(r.Context(), auth.BearerToken(r.Header.Get("Authorization")))
}

// verify returns the principal of a bearer token, or false.
func (a *authenticator) verify(ctx context.Context, tok string) (auth.Principal, bool) {
	if tok == "" {
		return auth.Principal{}, false
	}
	if a.tokens != nil {
		if p, err := a.tokens.Verify(tok); err == nil {
			return p, true
		}
	}
	if a.oauth != nil {
		if p, err := a.oauth.Verify(ctx, tok); err == nil {
			return p, true
		}
	}
	return auth.Principal{}, false
}

// challenge is the WWW-Authenticate header of a 401.
func (a *authenticator) challenge() string {
	if a.metadataURL != "" {
		return fmt.Sprintf(`Bearer resource_metadata=%q`, a.metadataURL)
	}
	return `Bearer realm="sdp-mcp"`
}

// metadata is the RFC 9728 document served at the well-known path.
func (a *authenticator) metadata(st *config.Config) mcpserver.ProtectedResourceMetadataConfig {
	o := st.HTTP.OAuth
	return mcpserver.ProtectedResourceMetadataConfig{
		Resource:               o.Resource,
		AuthorizationServers:   []string{o.Issuer},
		ScopesSupported:        a.oauth.ScopesSupported(),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "sdp-mcp",
	}
}

// principalRule returns the rule that keeps the principal from calling the
// tool, or "".
func (s *Server) principalRule(p auth.Principal, tool string) string {
	switch {
	case !p.Allows(tool):
		return ruleScope
	case !s.policy.PrincipalToolEnabled(p.Name, tool):
		return rulePrincipalTool
	}
	return ""
}

// rulePrincipalTool is the audit rule of a call to a tool the policy
// switches off for the principal.
const rulePrincipalTool = "policy.principal.tools"
