package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/config"
)

func TestOAuthResourceServer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "test", "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	defer issuer.Close()
	const resource = "https://mcp.example.com/mcp"
	sign := func(edit func(jwt.MapClaims)) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": issuer.URL, "aud": resource, "sub": "alice", "scope": "pipelines:read",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "test"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, testOpts{transport: "http", oauth: &config.OAuth{Issuer: issuer.URL, JWKSURL: issuer.URL, Resource: resource,
		Scopes: map[string][]string{"pipelines:read": {"list_sources", "list_pipelines"}}}}, ln, nil, nil)
	url := "http://" + r.addr + Endpoint

	// No token: 401 pointing at the protected resource metadata.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(initBody)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// The metadata (RFC 9728), at the resource's path and at the root.
	for _, p := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"} {
		resp, err := http.Get("http://" + r.addr + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var md struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			ScopesSupported      []string `json:"scopes_supported"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &md) != nil || md.Resource != resource ||
			!slices.Equal(md.AuthorizationServers, []string{issuer.URL}) || !slices.Equal(md.ScopesSupported, []string{"pipelines:read"}) {
			t.Errorf("metadata at %s: %d %s", p, resp.StatusCode, body)
		}
	}
	// Tokens that must be refused.
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuer.URL, "aud": resource, "sub": "alice",
			"exp": time.Now().Add(time.Hour).Unix()})
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	good := sign(nil)
	parts := strings.Split(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = b64([]byte(strings.Replace(string(claims), `"alice"`, `"admin"`, 1)))
	for name, tok := range map[string]string{
		"wrong audience": sign(func(c jwt.MapClaims) { c["aud"] = "https://other.example.com/mcp" }),
		"expired":        sign(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"wrong issuer":   sign(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }),
		"alg none":       none,
		"tampered":       strings.Join(parts, "."),
	} {
		if code, _ := post(t, url, initBody, map[string]string{"Authorization": "Bearer " + tok}); code != 401 {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	// A valid token: its scope allows two tools, which are all it sees.
	c := httpClient(t, url, map[string]string{"Authorization": "Bearer " + good})
	if got := listTools(t, c); !slices.Equal(got, []string{"list_sources", "list_pipelines"}) {
		t.Errorf("tools/list with scope pipelines:read: %v", got)
	}
	if res, err := callTool(c, "list_pipelines", `{}`); err != nil || res.IsError {
		t.Fatalf("list_pipelines: %v %v", err, res)
	}
	if _, err := callTool(c, "declare_table", `{}`); err == nil || !strings.Contains(err.Error(), "no scope that allows it") {
		t.Errorf("declare_table without its scope: %v", err)
	}
	var principals []string
	for _, rec := range r.log.all() {
		principals = append(principals, rec.Principal)
		if rec.Tool == "declare_table" && (rec.Decision != audit.Denied || !slices.Contains(rec.Rules, ruleScope)) {
			t.Errorf("declare_table record: %+v", rec)
		}
	}
	if principals = slices.Compact(principals); len(principals) != 1 || principals[0] != "oauth:alice" {
		t.Errorf("principals recorded: %v", principals)
	}
}
