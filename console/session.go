package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

const (
	// cookieName is the session cookie.
	cookieName = "sdp_console"
	// sessionTTL bounds a session's life.
	sessionTTL = 8 * time.Hour
	// maxSessions bounds the session table (oldest evicted first).
	maxSessions = 1000
	// csrfField is the form field carrying the CSRF token.
	csrfField = "csrf"
)

// session is one signed-in browser.
type session struct {
	principal string
	csrf      string
	expires   time.Time
}

// sessions is the in-memory session table: a restart signs everyone out.
type sessions struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*session // id → session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for principal and returns its id.
func (s *sessions) create(principal string) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, id)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for id, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = id
			}
		}
		delete(s.m, oldest)
	}
	id := randomToken()
	v := &session{principal: principal, csrf: randomToken(), expires: now.Add(sessionTTL)}
	s.m[id] = v
	return id, v
}

// get returns the request's live session, or nil.
func (s *sessions) get(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[ck.Value]
	if !ok {
		return nil
	}
	if s.now().After(v.expires) {
		delete(s.m, ck.Value)
		return nil
	}
	return v
}

func (s *sessions) drop(r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.m, ck.Value)
		s.mu.Unlock()
	}
}

func sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: Path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// sameOrigin reports whether a state-changing request comes from a page of
// this server: its Origin (or, without one, its Referer) must name the host
// the request was sent to. A request with neither is refused.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

type loginView struct {
	Next               string
	Error              string
	CredentialRequired bool
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "login", view{Title: "Sign in",
		Data: loginView{Next: safeNext(r.URL.Query().Get("next")), CredentialRequired: c.d.CredentialRequired}})
}

// login exchanges the server's credential for a session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "the sign-in form could not be read")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !sameOrigin(r) {
		c.refuse(w, r, "", "console.login", "console.origin", "sign-in refused: the form was not sent from this server's own page")
		return
	}
	principal, ok := c.d.Authenticate(r.Context(), r.PostForm.Get("token"))
	if !ok {
		c.writeAudit(r, audit.Record{Event: "console.login", Decision: audit.Denied, Rules: []string{"console.credential"},
			Summary: "sign-in with a wrong token"})
		c.render(w, http.StatusUnauthorized, "login", view{Title: "Sign in",
			Data: loginView{Next: next, Error: "That token is not valid.", CredentialRequired: c.d.CredentialRequired}})
		return
	}
	c.sess.drop(r)
	id, _ := c.sess.create(principal)
	http.SetCookie(w, sessionCookie(r, id, int(sessionTTL/time.Second)))
	c.writeAudit(r, audit.Record{Event: "console.login", Principal: principal, Decision: audit.OK, Summary: "signed in as " + principal})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sess.drop(r)
	http.SetCookie(w, sessionCookie(r, "", -1))
	c.writeAudit(r, audit.Record{Event: "console.logout", Principal: s.principal, Decision: audit.OK, Summary: "signed out " + s.principal})
	http.Redirect(w, r, Path+"/login", http.StatusSeeOther)
}

// action wraps a state-changing handler: it requires a session, a request
// from this server's own pages (Origin) and the session's CSRF token.
// Refusals are audited.
func (c *Console) action(fn func(w http.ResponseWriter, r *http.Request, s *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tool := "console." + r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s := c.sess.get(r)
		if s == nil {
			c.refuse(w, r, "", tool, "console.session", "refused: sign in first")
			return
		}
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, http.StatusBadRequest, "the form could not be read")
			return
		}
		if !sameOrigin(r) {
			c.refuse(w, r, s.principal, tool, "console.origin", "refused: the request did not come from this server's own page")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get(csrfField)), []byte(s.csrf)) != 1 {
			c.refuse(w, r, s.principal, tool, "console.csrf", "refused: the form's CSRF token is missing or wrong; reload the page and try again")
			return
		}
		fn(w, r, s)
	}
}

// refuse answers 403 and audits the refusal.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, principal, tool, rule, msg string) {
	sum := msg
	if principal != "" {
		sum += " (session of " + principal + ")"
	}
	c.writeAudit(r, audit.Record{Event: tool, Principal: principal, Decision: audit.Denied, Rules: []string{rule}, Summary: sum})
	c.d.Log.Warn("console request refused", "path", r.URL.Path, "rule", rule, "remote", r.RemoteAddr)
	c.fail(w, r, http.StatusForbidden, msg)
}

// writeAudit completes rec (an event: the console's records are not tool
// calls) with the request's context and writes it.
func (c *Console) writeAudit(r *http.Request, rec audit.Record) {
	rec.Time = c.d.Now().UTC()
	rec.Transport = "http"
	if rec.Fields == nil {
		fields := map[string]string{"path": r.URL.Path, "remote": r.RemoteAddr}
		if o := r.Header.Get("Origin"); o != "" {
			fields["origin"] = o
		}
		rec.Fields, _ = json.Marshal(fields)
	}
	if err := c.d.Audit.Write(rec); err != nil {
		c.d.Log.Error("audit log write failed", "err", err)
	}
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if next == Path || (strings.HasPrefix(next, Path+"/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\")) {
		return next
	}
	return Path + "/"
}
