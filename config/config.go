package config

import (
	"net"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"path/filepath"
	"time"
)

// Environment names.
const (
	Sandbox    = "sandbox"
	Production = "production"
)

// Transports.
const (
	TransportStdio = "stdio"
	TransportHTTP  = "http"
)

// Defaults and hard caps. A config may lower a cap, never raise it.
const (
	DefaultPreviewRows     = 100
	MaxPreviewRows         = 1000
	DefaultPreviewMaxBytes = 8 << 20
	MaxPreviewMaxBytes     = 64 << 20
	DefaultCallTimeout     = 2 * time.Minute
	MaxCallTimeout         = time.Hour
	DefaultRunTimeout      = time.Hour
	MaxRunTimeout          = 24 * time.Hour
	DefaultCallsPerMinute  = 120
	MaxCallsPerMinute      = 10000
	DefaultSparkOperations = 4
	MaxSparkOperations     = 256
	DefaultListen          = "127.0.0.1:8765"
	DefaultMaxBodyBytes    = 4 << 20
	MaxMaxBodyBytes        = 64 << 20
	DefaultQueryBytes      = 64 << 10
	MaxQueryBytes          = 1 << 20
	DefaultDatasets        = 1000
	MaxDatasets            = 2000
	DefaultSandboxCatalog  = "spark_catalog"
	DefaultSandboxSchema   = "default"
	defaultAuditPath       = "audit/audit.jsonl"
	DefaultAuditMaxBytes   = 64 << 20
	MinAuditMaxBytes       = 64 << 10
)

// Config is every setting of the server.
type Config struct {
	// Workspace is the directory holding pipelines (<workspace>/pipelines),
	// the audit log and the local sandbox. Empty means the launcher's default
	// ($SDP_MCP_WORKSPACE, else the user data directory).
	Workspace string `yaml:"workspace"`
	// Transport is stdio (the default) or http.
	Transport string `yaml:"transport"`
	// Mode restricts what the agent can do.
	Mode Mode `yaml:"mode"`
	// Environments are the Spark Connect endpoints pipelines run on.
	Environments Environments `yaml:"environments"`
	// Policy is the guardrail policy file (package policy), relative to
	// this file; empty means the built-in default policy.
	Policy string `yaml:"policy"`
	// Limits cap what one call may cost. They are set from the policy
	// file, not from this one.
	Limits Limits `yaml:"-"`
	// HTTP configures the streamable HTTP transport.
	HTTP HTTP `yaml:"http"`
	// Audit configures the audit log.
	Audit Audit `yaml:"audit"`
	// Promotion configures how promote is approved.
	Promotion Promotion `yaml:"promotion"`

	file  string         // the file it was loaded from, for messages
	lines map[string]int // key path → line in file
	flags map[string]string
}

// Mode restricts the tools the server offers.
type Mode struct {
	// SandboxOnly removes promote and never contacts the production
	// environment.
	SandboxOnly bool `yaml:"sandbox_only"`
	// ReadOnly offers only the read-only tools.
	ReadOnly bool `yaml:"read_only"`
}

// Environments are the sandbox and, optionally, production.
type Environments struct {
	Sandbox    Environment  `yaml:"sandbox"`
	Production *Environment `yaml:"production"`
}

// Environment is one Spark Connect endpoint and where pipelines live on it.
type Environment struct {
	// Name is Sandbox or Production (set by the loader).
	Name string `yaml:"-"`
	// URL is the sc:// URL without a token. Empty for the sandbox means the
	// local sandbox started by the launcher.
	URL string `yaml:"url"`
	// TokenEnv names the environment variable holding the bearer token.
	TokenEnv string `yaml:"token_env"`
	// Catalog and Schema are where datasets are created.
	Catalog string `yaml:"catalog"`
	Schema  string `yaml:"schema"`
	// Storage is the URI under which SDP keeps checkpoints and metadata.
	Storage string `yaml:"storage"`
	// Spark is the Spark line the environment runs, major.minor ("4.2").
	// For the local sandbox it selects what the launcher installs and runs
	// (empty: the default profile's); for a remote environment it states
	// what the server runs (empty: unknown until asked).
	Spark string `yaml:"spark,numeric"`
	// TableFormat is the format datasets are stored in: delta, iceberg or
	// parquet. For the local sandbox, empty means the Spark line's default
	// (a lakehouse format where one exists); for a remote environment,
	// unknown.
	TableFormat string `yaml:"table_format"`
	// Sources are the relations pipelines may read and list_sources shows,
	// as catalog.schema.table globs ('*' in the table part). They are set
	// from the policy file, not from this one.
	Sources []string `yaml:"-"`

	token string
}

// Token is the bearer token read from TokenEnv by [Config.Validate], or "".
func (e Environment) Token() string { return e.token }

// Profile is the environment's Spark line and table format as configured
// (for the local sandbox, completed by [Config.Validate]).
func (e Environment) Profile() sandbox.Profile {
	return sandbox.Profile{Spark: e.Spark, Format: e.TableFormat}
}

// Local reports whether the environment is the launcher's local sandbox
// (no URL configured).
func (e Environment) Local() bool { return e.Name == Sandbox && e.URL == "" }

// Limits cap what one call may cost.
type Limits struct {
	// PreviewRowsDefault is the row limit of a preview that names none.
	PreviewRowsDefault int `yaml:"preview_rows_default"`
	// PreviewRowsMax is the largest limit a preview may ask for.
	PreviewRowsMax int `yaml:"preview_rows_max"`
	// PreviewMaxBytes caps the result bytes a preview reads.
	PreviewMaxBytes int64 `yaml:"preview_max_bytes"`
	// CallTimeout bounds every call except run and promote.
	CallTimeout Duration `yaml:"call_timeout"`
	// RunTimeout bounds run and promote.
	RunTimeout Duration `yaml:"run_timeout"`
	// CallsPerMinute is the rate of tool calls one MCP session may make
	// (a token bucket: up to this many at once, refilled over a minute).
	CallsPerMinute int `yaml:"calls_per_minute"`
	// MaxConcurrentSparkOperations caps the engine calls running at once
	// across the server; further ones wait (within their call's timeout).
	MaxConcurrentSparkOperations int `yaml:"max_concurrent_spark_operations"`
	// MaxQueryBytes caps one query body or condition the agent writes.
	MaxQueryBytes int `yaml:"max_query_bytes"`
	// MaxDatasetsPerPipeline caps the datasets and flows of one pipeline.
	MaxDatasetsPerPipeline int `yaml:"max_datasets_per_pipeline"`
}

// HTTP configures the streamable HTTP transport.
type HTTP struct {
	// Listen is host:port. Binding anything but loopback needs TokenEnv.
	Listen string `yaml:"listen"`
	// TokenEnv names the environment variable holding the bearer token
	// clients must send. When set, every request needs it.
	TokenEnv string `yaml:"token_env"`
	// AllowedHosts are extra Host header values accepted (host names, no
	// port). Loopback names are accepted when listening on loopback; the
	// listen host always is.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedOrigins are extra Origin header values accepted (scheme://host[:port]).
	// Requests without Origin (non-browser clients) and loopback origins
	// when listening on loopback are accepted.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Clients are named bearer tokens: each call is attributed to the
	// client whose token it carries.
	Clients []HTTPClient `yaml:"clients"`
	// OAuth turns on the OAuth 2.1 resource-server mode: JWT access tokens
	// from an authorization server.
	OAuth *OAuth `yaml:"oauth"`

	token string
}

// Token is the bearer token read from TokenEnv by [Config.Validate], or "".
func (h HTTP) Token() string { return h.token }

// Audit configures the audit log.
type Audit struct {
	// Path of the JSONL audit log; relative paths are relative to the
	// workspace.
	Path string `yaml:"path"`
	// MaxBytes is the size at which the log is rotated (the chain goes
	// on in the next file).
	MaxBytes int64 `yaml:"max_bytes"`
}

// Duration is a time.Duration written as "30s", "5m" or "1h30m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// Default returns the configuration used when there is no file.
func Default() *Config {
	return &Config{
		Transport: TransportStdio,
		Environments: Environments{Sandbox: Environment{Name: Sandbox,
			Catalog: DefaultSandboxCatalog, Schema: DefaultSandboxSchema}},
		Limits: Limits{
			PreviewRowsDefault: DefaultPreviewRows,
			PreviewRowsMax:     MaxPreviewRows,
			PreviewMaxBytes:    DefaultPreviewMaxBytes,
			CallTimeout:        Duration(DefaultCallTimeout),
			RunTimeout:         Duration(DefaultRunTimeout),

			CallsPerMinute:               DefaultCallsPerMinute,
			MaxConcurrentSparkOperations: DefaultSparkOperations,
			MaxQueryBytes:                DefaultQueryBytes,
			MaxDatasetsPerPipeline:       DefaultDatasets,
		},
		HTTP:  HTTP{Listen: DefaultListen, MaxBodyBytes: DefaultMaxBodyBytes},
		Audit: Audit{MaxBytes: DefaultAuditMaxBytes},
		lines: map[string]int{},
		flags: map[string]string{},
	}
}

// Flags are the command-line overrides. A nil field was not given.
type Flags struct {
	Workspace   *string
	Policy      *string
	Transport   *string
	Listen      *string
	SandboxOnly *bool
	ReadOnly    *bool
}

// Apply overrides the file's settings with the flags that were given.
// Flags can only add restrictions for the modes: --sandbox-only=false does
// not lift a sandbox_only set in the file.
func (c *Config) Apply(f Flags) {
	if f.Workspace != nil && *f.Workspace != "" {
		c.Workspace = *f.Workspace
		c.flags["workspace"] = "--workspace"
	}
	if f.Policy != nil && *f.Policy != "" {
		c.Policy = *f.Policy
		c.flags["policy"] = "--policy"
	}
	if f.Transport != nil {
		c.Transport = *f.Transport
		c.flags["transport"] = "--transport"
	}
	if f.Listen != nil {
		c.HTTP.Listen = *f.Listen
		c.flags["http.listen"] = "--listen"
	}
	if f.SandboxOnly != nil && *f.SandboxOnly {
		c.Mode.SandboxOnly = true
	}
	if f.ReadOnly != nil && *f.ReadOnly {
		c.Mode.ReadOnly = true
	}
}

// PromoteAvailable reports whether promote exists: a production environment
// is configured and neither mode forbids it.
func (c *Config) PromoteAvailable() bool {
	return c.Environments.Production != nil && !c.Mode.SandboxOnly && !c.Mode.ReadOnly
}

// PipelinesDir is where pipeline drafts live.
func (c *Config) PipelinesDir() string { return filepath.Join(c.Workspace, "pipelines") }

// HTTPLoopback reports whether the HTTP listen address is a loopback one.
func (c *Config) HTTPLoopback() bool {
	host, _, err := net.SplitHostPort(c.HTTP.Listen)
	return err == nil && isLoopbackHost(host)
}

// PolicyPath is the policy file to load, absolute, or "" for the built-in
// default policy: relative paths are relative to the configuration file
// (to the working directory when given by --policy or without a file).
func (c *Config) PolicyPath() string {
	p := c.Policy
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if _, byFlag := c.flags["policy"]; byFlag || c.file == "" {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return filepath.Join(filepath.Dir(c.file), p)
}
