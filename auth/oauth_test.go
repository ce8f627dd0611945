package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://issuer.example"
	testResource = "https://mcp.example/mcp"
)

// testKey is an RSA key with its JWKS document.
type testKey struct {
	priv *rsa.PrivateKey
	kid  string
}

func newTestKey(t *testing.T, kid string) testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: k, kid: kid}
}

func (k testKey) jwks() []byte {
	b64 := base64.RawURLEncoding.EncodeToString
	doc := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": k.kid, "alg": "RS256", "use": "sig",
		"n": b64(k.priv.N.Bytes()), "e": b64(big.NewInt(int64(k.priv.E)).Bytes()),
	}}}
	b, _ := json.Marshal(doc)
	return b
}

func (k testKey) sign(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": testIssuer, "aud": testResource, "sub": "alice",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "pipelines:read"}
}

func TestOAuthTokens(t *testing.T) {
	key := newTestKey(t, "k1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(key.jwks())
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o, err := NewOAuth(ctx, OAuthConfig{Issuer: testIssuer, JWKSURL: srv.URL, Resource: testResource,
		Scopes: map[string][]string{"pipelines:read": {"list_pipelines", "show_pipeline"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Verify(ctx, key.sign(t, goodClaims()))
	if err != nil {
		t.Fatalf("a valid token was refused: %v", err)
	}
	if p.Name != "oauth:alice" || !p.Allows("list_pipelines") || p.Allows("promote") {
		t.Fatalf("principal %+v", p)
	}

	other := newTestKey(t, "k1")
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, goodClaims())
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}
	hmacWithPublic := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, goodClaims())
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(key.jwks())
		return s
	}
	tampered := func() string {
		s := key.sign(t, goodClaims())
		parts := strings.Split(s, ".")
		c := goodClaims()
		c["sub"] = "mallory"
		b, _ := json.Marshal(c)
		parts[1] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}
	with := func(k string, v any) string {
		c := goodClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return key.sign(t, c)
	}
	for name, tok := range map[string]string{
		"wrong audience":    with("aud", "https://other.example/mcp"),
		"expired":           with("exp", time.Now().Add(-time.Hour).Unix()),
		"no expiry":         with("exp", nil),
		"not yet valid":     with("nbf", time.Now().Add(time.Hour).Unix()),
		"wrong issuer":      with("iss", "https://evil.example"),
		"alg none":          none(),
		"hmac with the key": hmacWithPublic(),
		"tampered":          tampered(),
		"another key":       other.sign(t, goodClaims()),
		"no subject":        with("sub", nil),
		"garbage":           "not.a.jwt",
		"empty":             "",
	} {
		if _, err := o.Verify(ctx, tok); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: accepted or wrong error: %v", name, err)
		}
	}
}

func TestOAuthJWKSFile(t *testing.T) {
	key := newTestKey(t, "f1")
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, key.jwks(), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := NewOAuth(context.Background(), OAuthConfig{Issuer: testIssuer, JWKSFile: path, Resource: testResource})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Verify(context.Background(), key.sign(t, goodClaims()))
	if err != nil || p.Tools != nil || !p.Allows("promote") {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestTokens(t *testing.T) {
	ts := NewTokens([]Client{{Name: "alice", Token: strings.Repeat("a", 40)}, {Name: "bob", Token: strings.Repeat("b", 40)}})
	if p, err := ts.Verify(strings.Repeat("b", 40)); err != nil || p.Name != "bob" {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"", strings.Repeat("a", 39), strings.Repeat("c", 40)} {
		if _, err := ts.Verify(bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%q accepted", bad)
		}
	}
	if BearerToken("Bearer  xyz ") != "xyz" || BearerToken("Basic xyz") != "" {
		t.Fatal("BearerToken")
	}
}
