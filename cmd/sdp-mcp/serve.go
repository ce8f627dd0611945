package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/policy"
	"github.com/sdp-mcp/sdp-mcp/server"
	"github.com/sdp-mcp/sdp-mcp/tools"
)

// The engine is what the tools drive.
var _ tools.Engine = (*engine.Engine)(nil)

func newServeCmd(a *app) *cobra.Command {
	var (
		configPath, policyPath, transport, listen string
		sandboxOnly, readOnly                     bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the MCP tools over stdio (default) or streamable HTTP",
		Long: `Serve the sdp-mcp tools to an MCP client.

With no configuration, pipelines run on the local sandbox (started on first use) and
promote is unavailable. A YAML file (--config) configures the environments (a production
Spark Connect endpoint enables promote), limits, modes and the HTTP transport; secrets come
from environment variables it names. Flags override the file; --sandbox-only and --read-only
only add restrictions. Every tool call is recorded in the audit log
(<workspace>/audit/audit.jsonl unless configured; see "sdp-mcp audit tail" and "sdp-mcp audit verify").

Over HTTP the endpoint is http://ADDR/mcp; binding anything but loopback requires a bearer
token (http.token_env).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := config.Flags{}
			if cmd.Flags().Changed("transport") {
				f.Transport = &transport
			}
			if cmd.Flags().Changed("listen") {
				f.Listen = &listen
				if !cmd.Flags().Changed("transport") {
					http := config.TransportHTTP
					f.Transport = &http
				}
			}
			if cmd.Flags().Changed("policy") {
				f.Policy = &policyPath
			}
			f.SandboxOnly, f.ReadOnly = &sandboxOnly, &readOnly
			st, pol, err := loadServeSettings(a, configPath, f)
			if err != nil {
				return err
			}
			guard, err := newSQLGuard(st, pol.FunctionPolicy())
			if err != nil {
				return err
			}
			a.log.Info("policy loaded", "file", pol.File(), "sha256", pol.SHA256())
			return server.Run(cmd.Context(), server.Config{
				Settings: st,
				Engines:  engineFactory(st, a.log),
				Guard:    guard,
				Policy:   pol,
				Version:  a.version,
				Log:      a.log,
				Stdout:   a.stdout,
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", "YAML configuration file (default: none, every setting at its default)")
	fl.StringVar(&policyPath, "policy", "", "guardrail policy file (default: the policy: key of --config, else the built-in policy; see sdp-mcp policy show)")
	fl.StringVar(&transport, "transport", config.TransportStdio, "stdio or http")
	fl.StringVar(&listen, "listen", config.DefaultListen, "HTTP listen address host:port (implies --transport http)")
	fl.BoolVar(&sandboxOnly, "sandbox-only", false, "never contact production: promote does not exist")
	fl.BoolVar(&readOnly, "read-only", false, "offer only the read-only tools")
	return cmd
}

// loadSettings reads the config file (if any), applies the flags and the
// global --workspace, and validates. With full false only the paths are
// resolved (no secrets are needed to read the audit log).
func loadSettings(a *app, path string, f config.Flags, full bool) (*config.Config, error) {
	st, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if a.workspace != "" {
		f.Workspace = &a.workspace
	}
	st.Apply(f)
	if !full {
		return st, st.ResolvePaths()
	}
	if err := st.Validate(os.LookupEnv); err != nil {
		return nil, err
	}
	return st, nil
}

// loadServeSettings is loadSettings for serving: the policy file is read
// and its limits and sources are put into the settings before they are
// validated.
func loadServeSettings(a *app, path string, f config.Flags) (*config.Config, *policy.Policy, error) {
	st, err := loadSettings(a, path, f, false)
	if err != nil {
		return nil, nil, err
	}
	pol, err := policy.Load(st.PolicyPath())
	if err != nil {
		return nil, nil, err
	}
	if err := pol.Apply(st); err != nil {
		return nil, nil, err
	}
	if err := st.Validate(os.LookupEnv); err != nil {
		return nil, nil, err
	}
	return st, pol, nil
}

// sandboxStartTimeout bounds starting the local sandbox, pyspark install
// included.
const sandboxStartTimeout = 15 * time.Minute

// engineFactory connects the tools to the engine of an environment. It is
// called lazily by the tools, at most once per environment: the local
// sandbox is started on the first call that needs Spark, and production is
// dialled only when promote runs.
func engineFactory(st *config.Config, log *slog.Logger) tools.EngineFactory {
	return func(ctx context.Context, env config.Environment) (tools.Engine, error) {
		url := withToken(env.URL, env.Token())
		var sup engine.Supervisor
		if env.Local() {
			sup = sandboxSupervisor{st: st, log: log}
			// Starting the sandbox (installing pyspark on first use) can
			// outlast the call that needs it; let it finish for the next.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sandboxStartTimeout)
			defer cancel()
			var err error
			if url, err = sandboxURL(sctx, st, log); err != nil {
				return nil, err
			}
		}
		return engine.New(ctx, engine.Config{
			URL:         url,
			Catalog:     env.Catalog,
			Database:    env.Schema,
			Storage:     env.Storage,
			Sources:     env.Sources,
			CallTimeout: st.Limits.CallTimeout.D(),
			Logger:      log.With("environment", env.Name),
			Environment: env.Name,
			Supervisor:  sup,
			OnRestart:   restartLogger(log),
		})
	}
}

// sandboxURL starts the local sandbox of the workspace (installing pyspark
// on first use), or reuses the running one, and returns its Spark Connect
// URL, token included.
func sandboxURL(ctx context.Context, st *config.Config, log *slog.Logger) (string, error) {
	inst, err := sandbox.Start(ctx, sandbox.Options{
		Workspace: st.Workspace,
		Logger:    log,
		Install:   sandbox.InstallOptions{Logger: log},
		Profile:   st.Environments.Sandbox.Profile(),
	})
	if err != nil {
		return "", fmt.Errorf("starting the local sandbox: %w", err)
	}
	log.Info("sandbox ready", "url", inst.RedactedURL(), "reused", inst.Reused)
	return inst.URL(), nil
}

// withToken adds the bearer token read from the environment to a Spark
// Connect URL (the config file never holds it).
func withToken(url, token string) string {
	if url == "" || token == "" {
		return url
	}
	url = strings.TrimSpace(url)
	if rest := url[strings.Index(url, "://")+3:]; !strings.ContainsAny(rest, "/") {
		url += "/"
	}
	return url + ";token=" + escapeParam(token)
}

// escapeParam percent-encodes what may not appear raw in a URL parameter.
func escapeParam(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+*:@/,!$()'=", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
