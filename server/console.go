package server

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/sdp-mcp/sdp-mcp/console"
)

// consolePrincipal names whoever signs in to the console with the server's
// HTTP token (or without one, on a loopback server that has none).
const consolePrincipal = "http-token"

// mountConsole serves the web console at console.Path beside the MCP
// endpoint. The console authenticates people itself (the token typed once
// at sign-in, then a session cookie) and checks the Origin of every POST;
// the guard here checks the Host header, against DNS rebinding.
func (s *Server) mountConsole(mux *http.ServeMux, g *httpGuard) error {
	token := s.settings.HTTP.Token()
	c, err := console.New(console.Deps{
		PipelinesDir: s.settings.PipelinesDir(),
		AuditPath:    s.settings.Audit.Path,
		Authenticate: func(_ context.Context, credential string) (string, bool) {
			if token == "" || subtle.ConstantTimeCompare([]byte(credential), []byte(token)) == 1 {
				return consolePrincipal, true
			}
			return "", false
		},
		CredentialRequired: token != "",
		Audit:              s.audit,
		Log:                s.log,
	})
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostOK(r.Host) {
			g.refuse(w, r, http.StatusForbidden, "forbidden: Host header not accepted")
			return
		}
		c.ServeHTTP(w, r)
	})
	mux.Handle(console.Path, h)
	mux.Handle(console.Path+"/", h)
	return nil
}
