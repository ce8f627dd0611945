package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// DefaultCallTimeout bounds one engine call (an analysis, a preview, a
// listing) when Config.CallTimeout is zero.
const DefaultCallTimeout = time.Minute

// Config binds an Engine to one environment. Every field comes from the
// server's configuration, never from an agent.
type Config struct {
	// URL is the sc:// URL of the environment's Spark Connect server.
	URL string
	// Catalog and Database are where datasets are written: the dataflow
	// graph's defaults and the qualifier of every generated name.
	Catalog, Database string
	// Storage is the pipeline storage root, an absolute URI such as
	// file:///abs/path/pipeline-storage; each pipeline gets
	// <Storage>/<pipeline name> (streaming checkpoints live there).
	Storage string
	// Sources are what the agent may read: catalog.schema.table globs ('*'
	// in the table part only, e.g. "spark_catalog.samples.*"), or
	// catalog.schema for every table of a schema. ListSources and
	// DescribeSource stay inside them.
	Sources []string
	// CallTimeout bounds every call made for an agent (analysis, preview,
	// listing, dry-run); runs are bounded by the caller's context only.
	// Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// ConnectOptions are added to every session the engine dials (e.g. a
	// request observer in tests).
	ConnectOptions []connect.Option
	// Environment names the environment in messages ("sandbox",
	// "production"); "" means "the".
	Environment string
	// Supervisor, when set, is the local server the engine runs on: the
	// engine watches it and restarts it when it is gone (see supervise.go).
	Supervisor Supervisor
	// OnRestart is told of every restart attempt (nil: only logged).
	OnRestart func(context.Context, RestartEvent)
}

// lockdown is the session configuration every engine session gets, set when
// the session is created and checked before it is used: no SQL over raw
// file paths, no ${var} substitution in SQL text, no server stack traces in
// errors, one time zone so results do not depend on the server's, and
// case-insensitive names (the SQL guard resolves CTE and table names the same
// way) with backslash escapes in string literals (the generated SQL uses
// them).
func lockdown() map[string]string {
	return map[string]string{
		"spark.sql.caseSensitive":                    "false",
		"spark.sql.parser.escapedStringLiterals":     "false",
		"spark.sql.runSQLOnFiles":                    "false",
		"spark.sql.variable.substitute":              "false",
		"spark.sql.connect.serverStacktrace.enabled": "false",
		"spark.sql.session.timeZone":                 "UTC",
	}
}

// flowConf is the part of lockdown that also goes into every dataflow
// graph's SQL configuration, so that flows run under the same rules as the
// session that defined them.
func flowConf() map[string]string {
	l := lockdown()
	delete(l, "spark.sql.connect.serverStacktrace.enabled")
	return l
}

// Engine runs pipelines against one Spark Connect server. It is safe for
// concurrent use. Queries for the agent (analysis, previews, listings) share
// one locked-down session; every dry-run and run gets a session of its own,
// from CreateDataflowGraph to the end of the run, released afterwards.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	sources []sourceSchema
	sup     *supervision // nil without Config.Supervisor

	mu       sync.Mutex
	ep       *connect.Endpoint        // replaced when a supervised server restarts
	sessions map[string]*agentSession // agent session id → its Spark session
	closed   bool

	facts factCache // what analysis established, see analysis.go
	// batch is the most parts one batched analysis answers for; 0 means
	// analysisBatch (tests set 1 to compare with parts sent alone).
	batch int
	// analyzeCalls counts the schema and explain requests analysis sent
	// (tests and benchmarks read it).
	analyzeCalls atomic.Int64
}

// sourceSchema is one schema sources are read from, with the table globs
// allowed in it (lower case).
type sourceSchema struct {
	catalog, schema string
	tables          []string
}

func (s sourceSchema) String() string { return s.catalog + "." + s.schema }

// allows reports whether the table (any case) matches one of the globs.
func (s sourceSchema) allows(table string) bool {
	t := strings.ToLower(table)
	for _, g := range s.tables {
		if ok, _ := path.Match(g, t); ok {
			return true
		}
	}
	return false
}

var tableGlobRE = regexp.MustCompile(`^[A-Za-z0-9_*]+$`)

// parseSources groups source globs by schema.
func parseSources(globs []string) ([]sourceSchema, []string) {
	var out []sourceSchema
	var bad []string
	for _, s := range globs {
		parts := strings.Split(s, ".")
		if len(parts) == 2 {
			parts = append(parts, "*")
		}
		if len(parts) != 3 || !plainIdentRE.MatchString(parts[0]) || !plainIdentRE.MatchString(parts[1]) || !tableGlobRE.MatchString(parts[2]) {
			bad = append(bad, fmt.Sprintf("source %q must be catalog.schema.table with * only in the table part, e.g. spark_catalog.samples.*", s))
			continue
		}
		i := slices.IndexFunc(out, func(x sourceSchema) bool {
			return strings.EqualFold(x.catalog, parts[0]) && strings.EqualFold(x.schema, parts[1])
		})
		if i < 0 {
			out = append(out, sourceSchema{catalog: parts[0], schema: parts[1]})
			i = len(out) - 1
		}
		out[i].tables = append(out[i].tables, strings.ToLower(parts[2]))
	}
	return out, bad
}

var plainIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// New checks cfg and returns an Engine. It does not contact the server: the
// first call that needs Spark does.
func New(_ context.Context, cfg Config) (*Engine, error) {
	ep, err := connect.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("engine config: URL: %w", err)
	}
	var bad []string
	for _, f := range []struct{ field, v string }{{"Catalog", cfg.Catalog}, {"Database", cfg.Database}} {
		if !plainIdentRE.MatchString(f.v) {
			bad = append(bad, fmt.Sprintf("%s %q must be a plain identifier (letters, digits, _)", f.field, f.v))
		}
	}
	if msg := checkStorage(cfg.Storage); msg != "" {
		bad = append(bad, msg)
	}
	sources, badSources := parseSources(cfg.Sources)
	bad = append(bad, badSources...)
	if cfg.CallTimeout < 0 {
		bad = append(bad, "CallTimeout must not be negative")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("engine config: %s", strings.Join(bad, "; "))
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Every client of the engine opens its own session: a session id fixed
	// in the URL would make them all share one.
	ep.SessionID = ""
	e := &Engine{cfg: cfg, log: log.With("engine", ep.String()), ep: ep, sources: sources}
	if cfg.Supervisor != nil {
		e.sup = newSupervision()
		go e.watch()
	}
	return e, nil
}

func checkStorage(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !strings.HasPrefix(u.Path, "/") {
		return fmt.Sprintf("Storage %q must be an absolute URI with a scheme, e.g. file:///abs/path/pipeline-storage", s)
	}
	return ""
}

// Close releases the engine's sessions. Calls in progress fail.
func (e *Engine) Close() error {
	e.mu.Lock()
	all := e.sessions
	e.sessions, e.closed = nil, true
	e.mu.Unlock()
	if e.sup != nil {
		e.sup.stopWatch()
	}
	var errs []error
	for _, s := range all {
		errs = append(errs, s.client.Close())
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("the engine is closed")

// dial opens a new locked-down session.
func (e *Engine) dial(ctx context.Context) (*connect.Client, error) {
	ep := e.endpoint()
	started := time.Now()
	c, err := connect.DialEndpoint(ctx, &ep, append([]connect.Option{connect.WithLogger(e.log)}, e.cfg.ConnectOptions...)...)
	if err != nil {
		return nil, e.unavailable(ctx, err, started)
	}
	if err := lockDown(ctx, c); err != nil {
		_ = c.Close()
		return nil, e.unavailable(ctx, err, started)
	}
	return c, nil
}

// endpoint returns a copy of the server's endpoint.
func (e *Engine) endpoint() connect.Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *e.ep
}

// lockDown sets the lockdown configuration on c's session and reads it back.
func lockDown(ctx context.Context, c *connect.Client) error {
	if err := c.SetConf(ctx, lockdown()); err != nil {
		return fmt.Errorf("lock down the Spark session: %w", err)
	}
	return checkLockdown(ctx, c)
}

// checkLockdown reads the lockdown configuration back from c's session and
// fails unless every value holds.
func checkLockdown(ctx context.Context, c *connect.Client) error {
	want := lockdown()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	got, err := c.GetConf(ctx, keys...)
	if err != nil {
		return fmt.Errorf("check the Spark session lockdown: %w", err)
	}
	for k, v := range want {
		if !strings.EqualFold(got[k], v) {
			return fmt.Errorf("%w: %s=%s expected, the session reports %q: refusing to use it", errLockdown, k, v, got[k])
		}
	}
	return nil
}

// withSession calls fn with the Spark session of the agent session in ctx
// (see [WithAgentSession]). When the server lost the session (a restart, an
// expiry), it opens a new locked-down one and calls fn once more.
func (e *Engine) withSession(ctx context.Context, fn func(*connect.Client) error) error {
	if err := e.ensure(ctx); err != nil {
		return err
	}
	started := time.Now()
	c, err := e.session(ctx)
	if err != nil {
		return err
	}
	err = fn(c)
	if !errors.Is(err, connect.ErrServerRestarted) {
		return e.unavailable(ctx, err, started)
	}
	e.log.Warn("spark session lost; reconnecting once", "err", err)
	c, err = e.replace(ctx, c)
	if err != nil {
		return err
	}
	return fn(c)
}

// withCallTimeout bounds one call made for the agent.
func (e *Engine) withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.cfg.CallTimeout)
}

// bind returns a copy of p bound to the engine's environment: its catalog,
// database and storage root come from the configuration, whatever p says
// (runs use its StoragePath, as the saved spec does).
func (e *Engine) bind(p *pipeline.Pipeline) *pipeline.Pipeline {
	b := p.Clone()
	b.Catalog, b.Database, b.Storage = e.cfg.Catalog, e.cfg.Database, e.cfg.Storage
	return b
}

// qualified returns the catalog.database.name of a dataset, quoted.
func (e *Engine) qualified(name string) string {
	return quoteIdent(e.cfg.Catalog) + "." + quoteIdent(e.cfg.Database) + "." + quoteIdent(name)
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
