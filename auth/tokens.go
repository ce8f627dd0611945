package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
)

// Client is one named bearer token.
type Client struct {
	Name  string
	Token string
}

// Tokens verifies named bearer tokens. Every configured token is compared,
// in constant time, whatever matches, so timing tells nothing about which
// token or how much of it was right.
type Tokens struct {
	clients []Client
	digests [][32]byte
}

// NewTokens returns a verifier of the clients' tokens.
func NewTokens(clients []Client) *Tokens {
	t := &Tokens{clients: clients}
	for _, c := range clients {
		t.digests = append(t.digests, sha256.Sum256([]byte(c.Token)))
	}
	return t
}

// ErrUnauthorized: no or a wrong credential.
var ErrUnauthorized = errors.New("a valid bearer token is required")

// Verify returns the principal of token.
func (t *Tokens) Verify(token string) (Principal, error) {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.digests {
		if subtle.ConstantTimeCompare(d[:], t.digests[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		return Principal{}, ErrUnauthorized
	}
	return Principal{Name: t.clients[found].Name, Kind: KindToken}, nil
}

// BearerToken extracts the token of an Authorization header, or "".
func BearerToken(header string) string {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
