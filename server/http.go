package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/auth"
	"github.com/sdp-mcp/sdp-mcp/config"
)

// Endpoint is the path of the MCP endpoint.
const Endpoint = "/mcp"

// shutdownGrace bounds a graceful HTTP shutdown.
const shutdownGrace = 10 * time.Second

func (s *Server) serveHTTP(ctx context.Context, cfg Config) error {
	ln := cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.settings.HTTP.Listen)
		if err != nil {
			return err
		}
	}
	authn, err := newAuthenticator(ctx, s.settings, s)
	if err != nil {
		ln.Close()
		return err
	}
	// Checked again here, against the address actually bound: binding
	// beyond loopback without authentication would expose the tools to the
	// network.
	if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && !isLoopback(host) && authn == nil {
		ln.Close()
		return fmt.Errorf("refusing to serve on %s without authentication: listen on 127.0.0.1, or set http.clients or http.oauth", ln.Addr())
	}
	streamable := mcpserver.NewStreamableHTTPServer(s.mcp,
		mcpserver.WithEndpointPath(Endpoint),
		mcpserver.WithStreamableHTTPLogger(s.log))
	mux := http.NewServeMux()
	guard := newHTTPGuard(s.settings, ln.Addr(), s.log)
	guard.authn = authn
	mux.Handle(Endpoint, guard.wrap(streamable))
	if authn != nil && authn.oauth != nil {
		// RFC 9728: where clients learn which authorization server to ask.
		md := mcpserver.NewProtectedResourceMetadataHandler(authn.metadata(s.settings))
		mux.Handle(mcpserver.WellKnownProtectedResourcePath, md)
		if p := mcpserver.ProtectedResourceMetadataPath(s.settings.HTTP.OAuth.Resource); p != mcpserver.WellKnownProtectedResourcePath {
			mux.Handle(p, md)
		}
	}
	if err := s.mountConsole(mux, guard); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.log.Info("listening", "url", "http://"+ln.Addr().String()+Endpoint)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	_ = streamable.Shutdown(sctx)
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// httpGuard checks every HTTP request before it reaches the MCP handler:
// the Host and Origin headers (against DNS rebinding and cross-site
// requests), the bearer token when one is configured, and the body size.
type httpGuard struct {
	authn          *authenticator // nil: no authentication (loopback only)
	loopback       bool
	hosts          map[string]bool // accepted Host names; nil accepts any
	origins        map[string]bool
	maxBody        int64
	log            *slog.Logger
	loopbackOrigin bool
}

func newHTTPGuard(st *config.Config, addr net.Addr, log *slog.Logger) *httpGuard {
	g := &httpGuard{maxBody: st.HTTP.MaxBodyBytes, log: log,
		origins: map[string]bool{}}
	host := st.HTTP.Listen
	if addr != nil {
		host = addr.String()
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	g.loopback = isLoopback(host)
	if g.loopback || len(st.HTTP.AllowedHosts) > 0 {
		g.hosts = map[string]bool{}
		if g.loopback {
			for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
				g.hosts[h] = true
			}
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsUnspecified() {
			g.hosts[strings.ToLower(host)] = true
		}
		for _, h := range st.HTTP.AllowedHosts {
			g.hosts[strings.ToLower(h)] = true
		}
	}
	// Without a list, a server bound elsewhere accepts any Host: a DNS
	// rebinding page cannot send the bearer token that binding requires.
	g.loopbackOrigin = g.loopback
	for _, o := range st.HTTP.AllowedOrigins {
		g.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return g
}

func (g *httpGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostOK(r.Host) {
			g.refuse(w, r, http.StatusForbidden, "forbidden: Host header not accepted")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !g.originOK(o) {
			g.refuse(w, r, http.StatusForbidden, "forbidden: Origin not accepted")
			return
		}
		if g.authn != nil {
			p, ok := g.authn.authenticate(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", g.authn.challenge())
				g.refuse(w, r, http.StatusUnauthorized, "unauthorized: a valid bearer token is required")
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if r.Body != nil && r.Method == http.MethodPost {
			if r.ContentLength > g.maxBody {
				g.refuse(w, r, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, g.maxBody+1))
			r.Body.Close()
			if err != nil {
				g.refuse(w, r, http.StatusBadRequest, "could not read the request body")
				return
			}
			if int64(len(body)) > g.maxBody {
				g.refuse(w, r, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}

func (g *httpGuard) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	g.log.Warn("http request refused", "status", code, "reason", msg, "remote", r.RemoteAddr)
	http.Error(w, msg, code)
}

func (g *httpGuard) hostOK(hostport string) bool {
	if g.hosts == nil {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	return host != "" && g.hosts[host]
}

func (g *httpGuard) originOK(origin string) bool {
	o := strings.ToLower(strings.TrimRight(origin, "/"))
	if g.origins[o] {
		return true
	}
	if !g.loopbackOrigin {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
