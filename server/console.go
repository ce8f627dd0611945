package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"

	"github.com/sdp-mcp/sdp-mcp/console"
)

// localPrincipal is who signs in to the console of a loopback server
// without authentication (where /mcp is open too).
const localPrincipal = "local"

// mountConsole serves the web console at console.Path beside the MCP
// endpoint. The console authenticates people itself (their token typed
// once at sign-in, then a session cookie) and checks the Origin of every
// POST; the guard here checks the Host header, against DNS rebinding.
func (s *Server) mountConsole(mux *http.ServeMux, g *httpGuard) error {
	authenticate := func(context.Context, string) (string, bool) { return localPrincipal, true }
	if g.authn != nil {
		// A person signs in with a token /mcp accepts (a named client's,
		// or an OAuth access token); decisions are attributed to its
		// principal.
		authenticate = func(ctx context.Context, credential string) (string, bool) {
			p, ok := g.authn.verify(ctx, credential)
			return p.Name, ok
		}
	}
	var approvals console.Approvals
	if s.approvals != nil {
		approvals = consoleApprovals{store: s.approvals, now: time.Now}
	}
	c, err := console.New(console.Deps{
		PipelinesDir:       s.settings.PipelinesDir(),
		AuditPath:          s.settings.Audit.Path,
		Authenticate:       authenticate,
		Approvals:          approvals,
		CredentialRequired: g.authn != nil,
		Audit:              s.audit,
		Chain:              auditChain{path: s.settings.Audit.Path},
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

// auditChain verifies the server's audit log for the console.
type auditChain struct{ path string }

func (a auditChain) VerifyChain(context.Context) console.ChainResult {
	rep, err := audit.Verify(a.path)
	var p *audit.Problem
	switch {
	case errors.As(err, &p):
		return console.ChainResult{Detail: p.Error()}
	case err != nil:
		return console.ChainResult{Detail: "could not be checked: " + err.Error()}
	}
	detail := fmt.Sprintf("%d file(s), head %s", len(rep.Files), shortHex(rep.Head))
	if rep.Unchained > 0 {
		detail += fmt.Sprintf("; %d older record(s) predate the chain", rep.Unchained)
	}
	if len(rep.Repairs) > 0 {
		detail += fmt.Sprintf("; %d torn tail(s) cut at startup", len(rep.Repairs))
	}
	return console.ChainResult{OK: true, Records: rep.Records, Detail: detail}
}

func shortHex(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
