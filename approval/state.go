package approval

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// State is what the server needs back from a client that asked its user
// (an input-required round): the id the answer will be recorded under, the
// subject it is about and its expiry. It travels to the client and back
// sealed ([Store.Seal]), so the client can neither forge nor alter it.
type State struct {
	ID      string    `json:"id"`
	Subject string    `json:"subject"` // Subject.Digest()
	Expires time.Time `json:"exp"`
}

// ErrBadState: the request state is not one this server sealed, was
// altered, is for another promotion or principal, or expired.
var ErrBadState = errors.New("the approval answer does not match this promotion")

// stateTTL bounds how long a person may take to answer in their client.
const stateTTL = 30 * time.Minute

// secretFile holds the store's HMAC key.
const secretFile = ".secret"

// NewState returns the state of a new question about subj.
func (s *Store) NewState(subj Subject) State {
	return State{ID: newID(), Subject: subj.Digest(), Expires: s.now().Add(stateTTL).UTC()}
}

// Seal encodes st with an HMAC over it.
func (s *Store) Seal(st State) (string, error) {
	key, err := s.secret()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(key, body)), nil
}

// Unseal checks a sealed state: that this store sealed it, that it is about
// subj and that it has not expired.
func (s *Store) Unseal(sealed string, subj Subject) (State, error) {
	key, err := s.secret()
	if err != nil {
		return State{}, err
	}
	body, sig, ok := strings.Cut(sealed, ".")
	got, derr := base64.RawURLEncoding.DecodeString(sig)
	if !ok || derr != nil || !hmac.Equal(got, mac(key, body)) {
		return State{}, fmt.Errorf("%w: the request state was not issued by this server", ErrBadState)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return State{}, fmt.Errorf("%w: the request state is malformed", ErrBadState)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil || !validID(st.ID) {
		return State{}, fmt.Errorf("%w: the request state is malformed", ErrBadState)
	}
	if !hmac.Equal([]byte(st.Subject), []byte(subj.Digest())) {
		return State{}, fmt.Errorf("%w: it was given for another pipeline hash, target, option set or principal", ErrBadState)
	}
	if !s.now().Before(st.Expires) {
		return State{}, fmt.Errorf("%w: the question expired; call promote again", ErrBadState)
	}
	return st, nil
}

func mac(key []byte, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("sdp-mcp approval state v1\n"))
	h.Write([]byte(body))
	return h.Sum(nil)
}

// secret returns the store's HMAC key, creating it (32 random bytes, a file
// only the user can read) the first time.
func (s *Store) secret() ([]byte, error) {
	p := filepath.Join(s.dir, secretFile)
	b, err := os.ReadFile(p)
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the approval key: %w", err)
	}
	var key []byte
	err = s.locked(func() error {
		if b, err := os.ReadFile(p); err == nil && len(b) == 32 {
			key = b
			return nil
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, k, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
		key = k
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating the approval key: %w", err)
	}
	return key, nil
}
