package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// Path is where the console is mounted.
const Path = "/ui"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Authenticator checks a credential a person typed at sign-in (today the
// server's HTTP bearer token) and returns who it identifies.
type Authenticator func(ctx context.Context, credential string) (principal string, ok bool)

// AuditWriter records a person's actions. *audit.Log implements it.
type AuditWriter interface {
	Write(audit.Record) error
}

// ChainVerifier checks the audit log's hash chain, when the log has one.
type ChainVerifier interface {
	VerifyChain(ctx context.Context) ChainResult
}

// ChainResult is the outcome of a chain verification, for display.
type ChainResult struct {
	// OK is true when every record chains to the one before.
	OK bool
	// Records is how many records were checked.
	Records int
	// Detail says where the chain breaks, or anything else worth saying.
	Detail string
}

// Deps are what the console needs.
type Deps struct {
	// PipelinesDir holds one project folder per pipeline.
	PipelinesDir string
	// AuditPath is the JSONL audit log.
	AuditPath string
	// Authenticate checks the sign-in credential.
	Authenticate Authenticator
	// CredentialRequired is false when the server has no credential to
	// check (a loopback server without a token); sign-in then needs none.
	CredentialRequired bool
	// Audit records sign-ins and approval decisions.
	Audit AuditWriter
	// Approvals lists and decides pending promotion approvals; nil when the
	// server has none.
	Approvals Approvals
	// Chain verifies the audit log; nil when the log has no chain.
	Chain ChainVerifier
	// Log is the server log; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console serves the pages. It is safe for concurrent use.
type Console struct {
	d     Deps
	pages map[string]*template.Template
	sess  *sessions
	mux   *http.ServeMux
}

// New returns a console.
func New(d Deps) (*Console, error) {
	if d.PipelinesDir == "" || d.Authenticate == nil || d.Audit == nil {
		return nil, errors.New("console: PipelinesDir, Authenticate and Audit are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{d: d, pages: pages, sess: newSessions(d.Now), mux: http.NewServeMux()}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+Path+"/static/", http.StripPrefix(Path+"/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET "+Path+"/login", c.loginPage)
	c.mux.HandleFunc("POST "+Path+"/login", c.login)
	c.mux.HandleFunc("POST "+Path+"/logout", c.action(c.logout))
	c.mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Path+"/", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET "+Path+"/{$}", c.page(c.pipelinesPage))
	c.mux.HandleFunc("GET "+Path+"/pipelines/{name}", c.page(c.pipelinePage))
	c.mux.HandleFunc("GET "+Path+"/history", c.page(c.historyPage))
	c.mux.HandleFunc("GET "+Path+"/audit", c.page(c.auditPage))
	c.mux.HandleFunc("GET "+Path+"/approvals", c.page(c.approvalsPage))
	c.mux.HandleFunc("POST "+Path+"/approvals/{id}/{verdict}", c.action(c.decide))
	c.mux.HandleFunc(Path+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "no such page")
	})
}

// ServeHTTP serves every path under [Path].
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// view is what every page template gets.
type view struct {
	Title     string
	Nav       string
	Principal string
	CSRF      string
	Data      any
}

// page wraps a page handler: it requires a session (redirecting to the
// sign-in page without one) and renders what the handler returns.
func (c *Console) page(fn func(r *http.Request) (name, title string, data any, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.sess.get(r)
		if s == nil {
			http.Redirect(w, r, Path+"/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		name, title, data, err := fn(r)
		var nf notFound
		switch {
		case errors.As(err, &nf):
			c.fail(w, r, http.StatusNotFound, nf.Error())
			return
		case err != nil:
			c.d.Log.Error("console page failed", "path", r.URL.Path, "err", err)
			c.fail(w, r, http.StatusInternalServerError, "this page could not be built; the server log has the details")
			return
		}
		c.render(w, http.StatusOK, name, view{Title: title, Nav: name, Principal: s.principal, CSRF: s.csrf, Data: data})
	}
}

// notFound is a page error shown as 404.
type notFound string

func (e notFound) Error() string { return string(e) }

func (c *Console) render(w http.ResponseWriter, code int, name string, v view) {
	t, ok := c.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.d.Log.Error("console template failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	v := view{Title: http.StatusText(code), Data: msg}
	if s := c.sess.get(r); s != nil {
		v.Principal, v.CSRF = s.principal, s.csrf
	}
	c.render(w, code, "error", v)
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"short":    shortHash,
		"when":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"ms":       formatMS,
		"add":      func(a, b int) int { return a + b },
		"okclass":  okClass,
		"svgfloat": func(f float64) string { return trimFloat(f) },
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "error", "pipelines", "pipeline", "history", "audit", "approvals"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
