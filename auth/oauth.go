package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Algorithms are the signature algorithms accepted for access tokens:
// asymmetric only. "none" and the HMAC family are refused, so a token
// cannot be forged with a public key used as a shared secret.
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// OAuthConfig configures the resource-server mode.
type OAuthConfig struct {
	// Issuer is the authorization server; tokens must carry it as iss.
	Issuer string
	// JWKSURL is where the issuer publishes its keys; JWKSFile is a local
	// copy instead (exactly one is set).
	JWKSURL  string
	JWKSFile string
	// Resource is this server's resource URI: tokens must name it in aud.
	Resource string
	// Scopes maps a scope to the tools it allows. When empty, any valid
	// token may call every tool.
	Scopes map[string][]string
	// Leeway tolerates clock skew on exp and nbf.
	Leeway time.Duration
	// Log receives key refresh failures.
	Log *slog.Logger
}

// OAuth verifies JWT access tokens.
type OAuth struct {
	cfg    OAuthConfig
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

// NewOAuth loads the issuer's keys (fetching them once from JWKSURL and
// refreshing them in the background until ctx ends, and again when a token
// names an unknown key) and returns the verifier.
func NewOAuth(ctx context.Context, cfg OAuthConfig) (*OAuth, error) {
	var kf keyfunc.Keyfunc
	var err error
	switch {
	case cfg.JWKSFile != "":
		raw, rerr := os.ReadFile(cfg.JWKSFile)
		if rerr != nil {
			return nil, fmt.Errorf("reading the JWKS file: %w", rerr)
		}
		kf, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw))
	case cfg.JWKSURL != "":
		log := cfg.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		kf, err = keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					log.Warn("refreshing the OAuth issuer's keys failed", "url", u, "err", err)
				}
			},
		})
	default:
		return nil, errors.New("oauth: jwks_url or jwks_file is required")
	}
	if err != nil {
		return nil, fmt.Errorf("loading the issuer's keys: %w", err)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(Algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Resource),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	)
	return &OAuth{cfg: cfg, keys: kf, parser: p}, nil
}

// claims are the access token claims read.
type claims struct {
	jwt.RegisteredClaims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

// Verify checks token (signature, algorithm, iss, aud, exp, nbf) and
// returns its principal: "oauth:" and the subject.
func (o *OAuth) Verify(ctx context.Context, token string) (Principal, error) {
	var c claims
	_, err := o.parser.ParseWithClaims(token, &c, o.keys.KeyfuncCtx(ctx))
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if c.Subject == "" {
		return Principal{}, fmt.Errorf("%w: the token has no subject", ErrUnauthorized)
	}
	p := Principal{Name: "oauth:" + c.Subject, Kind: KindOAuth, Scopes: strings.Fields(c.Scope)}
	if len(o.cfg.Scopes) > 0 {
		p.Tools = []string{}
		for _, s := range p.Scopes {
			for _, t := range o.cfg.Scopes[s] {
				if !slices.Contains(p.Tools, t) {
					p.Tools = append(p.Tools, t)
				}
			}
		}
	}
	return p, nil
}

// ScopesSupported lists the configured scopes, sorted.
func (o *OAuth) ScopesSupported() []string {
	var out []string
	for s := range o.cfg.Scopes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
