package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate fills the defaults that depend on other settings (workspace,
// sandbox storage, audit path), checks everything, and reads the secrets
// named by token_env through lookup (os.LookupEnv in production). It returns
// one *Error listing every problem, each naming the key and the fix.
func (c *Config) Validate(lookup func(string) (string, bool)) error {
	var ps []Problem
	add := func(key, msg, fix string) {
		ps = append(ps, Problem{Key: c.keyName(key), Line: c.lines[key], Message: msg, Fix: fix})
	}

	if err := c.ResolvePaths(); err != nil {
		add("workspace", err.Error(), "set workspace: <dir> or pass --workspace")
	}
	ws := c.Workspace

	switch c.Transport {
	case TransportStdio, TransportHTTP:
	default:
		add("transport", fmt.Sprintf("unknown transport %q", c.Transport), "use stdio or http")
	}

	// Environments.
	c.Environments.Sandbox.Name = Sandbox
	ps = append(ps, c.checkEnv("environments.sandbox", &c.Environments.Sandbox, true, lookup)...)
	if p := c.Environments.Production; p != nil {
		p.Name = Production
		// In sandbox-only or read-only mode production is never contacted,
		// so its secret is not needed; the rest is still checked.
		needSecret := !c.Mode.SandboxOnly && !c.Mode.ReadOnly
		ps = append(ps, c.checkEnv("environments.production", p, needSecret, lookup)...)
	}
	if c.Environments.Sandbox.Local() && c.Environments.Sandbox.Storage == "" && ws != "" {
		paths, err := sandbox.WorkspacePaths(ws)
		if err == nil {
			paths = paths.ForFormat(c.Environments.Sandbox.TableFormat)
			c.Environments.Sandbox.Storage = "file://" + filepath.ToSlash(paths.PipelineStorage)
		}
	}

	// Limits (set from the policy file, checked again here for configs
	// built in code).
	ps = append(ps, c.Limits.Check(func(string) int { return 0 })...)

	if c.Audit.MaxBytes != 0 && c.Audit.MaxBytes < MinAuditMaxBytes {
		add("audit.max_bytes", fmt.Sprintf("%d is too small", c.Audit.MaxBytes),
			fmt.Sprintf("use at least %d (the default is %d)", MinAuditMaxBytes, DefaultAuditMaxBytes))
	}

	// HTTP, checked only when it is used.
	if c.Transport == TransportHTTP {
		ps = append(ps, c.checkHTTP(lookup)...)
		ps = append(ps, c.checkIdentity(lookup)...)
	}
	ps = append(ps, c.checkPromotion()...)

	if len(ps) > 0 {
		return &Error{File: c.file, Problems: ps}
	}
	return nil
}

// ResolvePaths makes the workspace and the audit log path absolute: the
// workspace relative to the config file (or the working directory), the
// audit log relative to the workspace. It is all [Config.Validate] does
// that needs no secrets, for commands that only read the workspace.
func (c *Config) ResolvePaths() error {
	ws := c.Workspace
	if ws == "" {
		d, err := sandbox.DefaultWorkspace()
		if err != nil {
			return fmt.Errorf("no workspace directory: %w", err)
		}
		ws = d
	} else if !filepath.IsAbs(ws) {
		ws = filepath.Join(c.baseDir(), ws)
	}
	c.Workspace = filepath.Clean(ws)
	if c.Audit.Path == "" {
		c.Audit.Path = filepath.Join(c.Workspace, filepath.FromSlash(defaultAuditPath))
	} else if !filepath.IsAbs(c.Audit.Path) {
		c.Audit.Path = filepath.Join(c.Workspace, c.Audit.Path)
	}
	return nil
}

func (c *Config) checkEnv(key string, e *Environment, needSecret bool, lookup func(string) (string, bool)) []Problem {
	var ps []Problem
	add := func(sub, msg, fix string) {
		k := key + "." + sub
		line := c.lines[k]
		if line == 0 {
			line = c.lines[key]
		}
		ps = append(ps, Problem{Key: c.keyName(k), Line: line, Message: msg, Fix: fix})
	}
	remote := e.Name == Production || e.URL != ""
	if e.URL == "" && e.Name == Production {
		add("url", "missing", "set url: sc://host:port/ (the production Spark Connect endpoint)")
	}
	if e.URL != "" {
		ep, err := connect.ParseURL(e.URL)
		switch {
		case err != nil:
			add("url", err.Error(), "write it as sc://host:port/ with optional ;use_ssl=true")
		case ep.Token != "" || hasAuthHeader(ep.Headers):
			// The message must not echo the URL: it holds a secret.
			add("url", "contains a token; secrets must not be written in the config file",
				"remove ;token=… from the URL and set token_env: <NAME OF AN ENVIRONMENT VARIABLE> holding it")
		}
	}
	if e.TokenEnv != "" {
		if !envNameRE.MatchString(e.TokenEnv) {
			add("token_env", fmt.Sprintf("%q is not an environment variable name", e.TokenEnv),
				"name the variable that holds the token, e.g. SDP_PROD_TOKEN (the token itself never goes in the file)")
		} else if needSecret {
			v, ok := lookup(e.TokenEnv)
			if !ok || strings.TrimSpace(v) == "" {
				add("token_env", fmt.Sprintf("environment variable %s is not set", e.TokenEnv),
					"export "+e.TokenEnv+" with the token before starting the server")
			}
			e.token = strings.TrimSpace(v)
		}
	}
	for _, f := range []struct{ name, val string }{{"catalog", e.Catalog}, {"schema", e.Schema}} {
		switch {
		case f.val == "" && e.Name == Production:
			add(f.name, "missing", "set "+f.name+": <name> (where promoted datasets are created)")
		case f.val != "" && !identRE.MatchString(f.val):
			add(f.name, fmt.Sprintf("%q is not a plain identifier", f.val), "use letters, digits and _ only, starting with a letter or _")
		}
	}
	if e.Name == Sandbox {
		if e.Catalog == "" {
			e.Catalog = DefaultSandboxCatalog
		}
		if e.Schema == "" {
			e.Schema = DefaultSandboxSchema
		}
	}
	ps = append(ps, c.checkProfile(key, e)...)
	switch {
	case e.Storage == "" && remote:
		add("storage", "missing", "set storage: <URI> where SDP keeps checkpoints, e.g. s3://bucket/sdp or file:///data/sdp")
	case e.Storage != "" && !storageOK(e.Storage):
		add("storage", fmt.Sprintf("%q is not a storage URI", e.Storage), "use a URI such as s3://bucket/sdp or file:///data/sdp")
	}
	return ps
}

// checkProfile checks spark and table_format. The local sandbox's profile
// must be one the launcher can run and is completed with the defaults; a
// remote environment's fields are only checked for syntax (empty means
// unknown).
func (c *Config) checkProfile(key string, e *Environment) []Problem {
	var ps []Problem
	add := func(sub, msg, fix string) {
		k := key + "." + sub
		line := c.lines[k]
		if line == 0 {
			line = c.lines[key]
		}
		ps = append(ps, Problem{Key: c.keyName(k), Line: line, Message: msg, Fix: fix})
	}
	ok := true
	if e.Spark != "" {
		if err := sandbox.CheckLine(e.Spark); err != nil {
			add("spark", err.Error(), "write the Spark line as major.minor, e.g. spark: \"4.2\" (quoted, so YAML keeps it a string)")
			ok = false
		}
	}
	if e.TableFormat != "" {
		if err := sandbox.CheckFormat(e.TableFormat); err != nil {
			add("table_format", err.Error(), "set table_format: delta, iceberg or parquet")
			ok = false
		}
	}
	if !ok || !e.Local() {
		return ps
	}
	prof, err := sandbox.ResolveProfile(e.Spark, e.TableFormat)
	if err != nil {
		sub := "spark"
		if e.Spark == "" || (e.TableFormat != "" && c.lines[key+".table_format"] != 0) {
			sub = "table_format"
		}
		add(sub, err.Error(), "pick one of the supported spark/table_format pairs, or remove both for the default ("+sandbox.DefaultProfile().String()+")")
		return ps
	}
	e.Spark, e.TableFormat = prof.Spark, prof.Format
	return ps
}

func hasAuthHeader(h map[string]string) bool {
	for k := range h {
		if strings.EqualFold(k, "authorization") {
			return true
		}
	}
	return false
}

var storageRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s;]+$`)

func storageOK(s string) bool { return storageRE.MatchString(s) }

func (c *Config) checkHTTP(lookup func(string) (string, bool)) []Problem {
	var ps []Problem
	add := func(key, msg, fix string) {
		ps = append(ps, Problem{Key: c.keyName(key), Line: c.lines[key], Message: msg, Fix: fix})
	}
	h := &c.HTTP
	host, port, err := net.SplitHostPort(h.Listen)
	switch {
	case err != nil:
		add("http.listen", fmt.Sprintf("%q is not host:port", h.Listen), "use for example "+DefaultListen)
	case host == "":
		add("http.listen", fmt.Sprintf("%q binds every network interface", h.Listen),
			"name the host: "+net.JoinHostPort("127.0.0.1", port)+" (loopback, safest) or an explicit address together with http.token_env")
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("http.listen", fmt.Sprintf("port %q is not a number from 0 to 65535", port), "use for example "+DefaultListen)
		}
	}
	if h.TokenEnv != "" {
		if !envNameRE.MatchString(h.TokenEnv) {
			add("http.token_env", fmt.Sprintf("%q is not an environment variable name", h.TokenEnv),
				"name the variable that holds the token, e.g. SDP_MCP_HTTP_TOKEN")
		} else {
			v, ok := lookup(h.TokenEnv)
			v = strings.TrimSpace(v)
			switch {
			case !ok || v == "":
				add("http.token_env", fmt.Sprintf("environment variable %s is not set", h.TokenEnv),
					"export "+h.TokenEnv+" with a random token (at least 32 characters) before starting the server")
			case len(v) < 32:
				add("http.token_env", fmt.Sprintf("the token in %s is shorter than 32 characters", h.TokenEnv),
					"use a random token, e.g. from: openssl rand -hex 32")
			}
			h.token = v
		}
	}
	if err == nil && host != "" && !isLoopbackHost(host) && h.TokenEnv == "" && len(h.Clients) == 0 && h.OAuth == nil {
		add("http.listen", fmt.Sprintf("%q is not a loopback address and no bearer token is configured", h.Listen),
			"listen on 127.0.0.1, or set http.token_env to the name of an environment variable holding a token")
	}
	for _, a := range h.AllowedHosts {
		if a == "" || strings.ContainsAny(a, "/:@ ") {
			add("http.allowed_hosts", fmt.Sprintf("%q is not a host name", a), "list bare host names such as mcp.example.com")
		}
	}
	for _, o := range h.AllowedOrigins {
		if !originRE.MatchString(o) {
			add("http.allowed_origins", fmt.Sprintf("%q is not an origin", o), "list origins as scheme://host[:port], e.g. https://app.example.com")
		}
	}
	if h.MaxBodyBytes < 1024 || h.MaxBodyBytes > MaxMaxBodyBytes {
		add("http.max_body_bytes", fmt.Sprintf("%d is out of range", h.MaxBodyBytes), fmt.Sprintf("use a value from 1024 to %d", MaxMaxBodyBytes))
	}
	return ps
}

var originRE = regexp.MustCompile(`^https?://[A-Za-z0-9.\-\[\]:]+$`)

func isLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// baseDir is the directory relative paths in the file are relative to.
func (c *Config) baseDir() string {
	if c.file != "" {
		return filepath.Dir(c.file)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// keyName names a key for messages: the flag when a flag set it.
func (c *Config) keyName(key string) string {
	if f, ok := c.flags[key]; ok {
		return f
	}
	return key
}
