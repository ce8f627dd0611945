package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Promotion approval settings.
const (
	ApprovalRequired = "required"
	ApprovalNone     = "none"
	// DefaultApprovalTTL is how long an approval request stays valid.
	DefaultApprovalTTL = 24 * time.Hour
	// MaxApprovalTTL caps it.
	MaxApprovalTTL = 30 * 24 * time.Hour
)

// HTTPClient is one named bearer token.
type HTTPClient struct {
	// Name is the principal the client's calls are attributed to.
	Name string `yaml:"name"`
	// TokenEnv names the environment variable holding its token (at least
	// 32 characters).
	TokenEnv string `yaml:"token_env"`

	token string
}

// Token is the token read from TokenEnv by [Config.Validate].
func (c HTTPClient) Token() string { return c.token }

// OAuth configures the OAuth 2.1 resource-server mode.
type OAuth struct {
	// Issuer is the authorization server's issuer identifier (the iss of
	// its tokens).
	Issuer string `yaml:"issuer"`
	// JWKSURL is where the issuer publishes its signing keys; JWKSFile is a
	// local copy of them. Exactly one is set.
	JWKSURL  string `yaml:"jwks_url"`
	JWKSFile string `yaml:"jwks_file"`
	// Resource is this server's resource URI, the audience its tokens must
	// name: the public URL of the MCP endpoint, e.g. https://mcp.example.com/mcp.
	Resource string `yaml:"resource"`
	// Scopes maps each scope to the tools it allows. Empty: any valid token
	// may call every tool.
	Scopes map[string][]string `yaml:"scopes"`
}

// Promotion configures how promote is approved.
type Promotion struct {
	// Approval is required (a person approves every promotion) or none.
	// Empty means required when production is configured.
	Approval string `yaml:"approval"`
	// ApprovalTTL is how long an approval request stays valid.
	ApprovalTTL Duration `yaml:"approval_ttl"`
}

// ApprovalRequired reports whether promote needs a person's approval.
func (c *Config) ApprovalRequired() bool {
	return c.Environments.Production != nil && c.Promotion.Approval != ApprovalNone
}

// ApprovalsDir is where approval requests are kept.
func (c *Config) ApprovalsDir() string { return filepath.Join(c.Workspace, "approvals") }

// ApprovalTTL is how long a new approval request stays valid.
func (c *Config) ApprovalTTL() time.Duration {
	if c.Promotion.ApprovalTTL > 0 {
		return c.Promotion.ApprovalTTL.D()
	}
	return DefaultApprovalTTL
}

func (c *Config) checkPromotion() []Problem {
	var ps []Problem
	add := func(key, msg, fix string) {
		ps = append(ps, Problem{Key: c.keyName(key), Line: c.lines[key], Message: msg, Fix: fix})
	}
	switch c.Promotion.Approval {
	case "", ApprovalRequired, ApprovalNone:
	default:
		add("promotion.approval", fmt.Sprintf("unknown value %q", c.Promotion.Approval), "use required or none")
	}
	if d := c.Promotion.ApprovalTTL.D(); d != 0 && (d < time.Minute || d > MaxApprovalTTL) {
		add("promotion.approval_ttl", fmt.Sprintf("%s is out of range", d), "use a duration from 1m to 720h")
	}
	return ps
}

// checkIdentity checks http.clients and http.oauth and reads the clients'
// tokens.
func (c *Config) checkIdentity(lookup func(string) (string, bool)) []Problem {
	var ps []Problem
	add := func(key, msg, fix string) {
		line := c.lines[key]
		if line == 0 {
			line = c.lines["http.clients"]
		}
		ps = append(ps, Problem{Key: c.keyName(key), Line: line, Message: msg, Fix: fix})
	}
	names := map[string]bool{}
	tokens := map[string]string{}
	for i := range c.HTTP.Clients {
		cl := &c.HTTP.Clients[i]
		key := fmt.Sprintf("http.clients[%d]", i)
		switch {
		case !identRE.MatchString(cl.Name):
			add(key+".name", fmt.Sprintf("%q is not a client name", cl.Name), "name the client with letters, digits and _ (e.g. claude_code)")
		case names[cl.Name]:
			add(key+".name", fmt.Sprintf("client %q is listed twice", cl.Name), "give every client its own name")
		}
		names[cl.Name] = true
		if !envNameRE.MatchString(cl.TokenEnv) {
			add(key+".token_env", fmt.Sprintf("%q is not an environment variable name", cl.TokenEnv),
				"name the variable that holds this client's token, e.g. SDP_MCP_TOKEN_"+strings.ToUpper(cl.Name))
			continue
		}
		v, ok := lookup(cl.TokenEnv)
		v = strings.TrimSpace(v)
		switch {
		case !ok || v == "":
			add(key+".token_env", fmt.Sprintf("environment variable %s is not set", cl.TokenEnv),
				"export "+cl.TokenEnv+" with a random token (at least 32 characters) before starting the server")
		case len(v) < 32:
			add(key+".token_env", fmt.Sprintf("the token in %s is shorter than 32 characters", cl.TokenEnv),
				"use a random token, e.g. from: openssl rand -hex 32")
		case tokens[v] != "":
			add(key+".token_env", fmt.Sprintf("client %q has the same token as client %q", cl.Name, tokens[v]),
				"give every client its own token, so its calls are attributed to it")
		}
		tokens[v] = cl.Name
		cl.token = v
	}
	if c.HTTP.TokenEnv != "" && len(c.HTTP.Clients) > 0 {
		add("http.token_env", "set together with http.clients", "move the token into http.clients as {name: …, token_env: "+c.HTTP.TokenEnv+"}")
	}
	if o := c.HTTP.OAuth; o != nil {
		absURL := func(s string) bool {
			u, err := url.Parse(s)
			return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
		}
		if !absURL(o.Issuer) {
			add("http.oauth.issuer", fmt.Sprintf("%q is not an issuer URL", o.Issuer), "set the authorization server's issuer, e.g. https://auth.example.com")
		}
		if !absURL(o.Resource) {
			add("http.oauth.resource", fmt.Sprintf("%q is not a resource URI", o.Resource), "set this server's public MCP URL, e.g. https://mcp.example.com/mcp")
		}
		switch {
		case (o.JWKSURL == "") == (o.JWKSFile == ""):
			add("http.oauth", "needs exactly one of jwks_url and jwks_file", "set jwks_url to the issuer's JWKS endpoint (or jwks_file to a local copy)")
		case o.JWKSURL != "" && !absURL(o.JWKSURL):
			add("http.oauth.jwks_url", fmt.Sprintf("%q is not a URL", o.JWKSURL), "set the issuer's JWKS endpoint, e.g. https://auth.example.com/.well-known/jwks.json")
		case o.JWKSFile != "" && !filepath.IsAbs(o.JWKSFile):
			o.JWKSFile = filepath.Join(c.baseDir(), o.JWKSFile)
		}
		for s, tools := range o.Scopes {
			if strings.ContainsAny(s, " \t\"") {
				add("http.oauth.scopes."+s, "not a scope name", "use a scope name without spaces or quotes")
			}
			if len(tools) == 0 {
				add("http.oauth.scopes."+s, "allows no tool", "list the tools the scope allows, or remove it")
			}
		}
	}
	return ps
}
