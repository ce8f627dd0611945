package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for [Options].
const (
	DefaultMemory       = "2g"
	DefaultReadyTimeout = 3 * time.Minute
)

// serverClass is the main class of the Spark Connect server.
const serverClass = "org.apache.spark.sql.connect.service.SparkConnectServer"

// tokenEnv passes the pre-shared token to the server. The environment, unlike
// the command line, is not visible to other users through ps.
const tokenEnv = "SPARK_CONNECT_AUTHENTICATE_TOKEN"

// Options configure [Start].
type Options struct {
	// Workspace holds the sandbox files; "" means [DefaultWorkspace].
	Workspace string
	// Port is the Spark Connect port on 127.0.0.1; 0 picks a free one.
	Port int
	// Conf adds server configuration (--conf key=value), e.g. static
	// Spark Connect settings; it cannot change the binding or the token.
	Conf map[string]string
	// Token is the pre-shared authentication token; "" generates a random
	// one. Setting it lets a restarted server accept existing clients.
	Token string
	// Memory is the driver memory (spark-submit --driver-memory), e.g. "2g".
	Memory string
	// ReadyTimeout bounds how long to wait for the server to answer.
	ReadyTimeout time.Duration
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// Install configures the pyspark install done (if needed) before
	// starting. Its Logger defaults to Logger.
	Install InstallOptions
	// Profile is the Spark line and table format to run; the zero Profile
	// means [DefaultProfile]. It overrides Install.Profile.
	Profile Profile
}

// Instance is a running sandbox server.
type Instance struct {
	Workspace       string    // absolute workspace directory
	Port            int       // Spark Connect port on 127.0.0.1
	PID             int       // server process (java after exec)
	PGID            int       // its process group
	Token           string    // pre-shared authentication token
	LogPath         string    // server.log
	StoragePath     string    // pipeline storage root
	WarehousePath   string    // spark.sql.warehouse.dir
	MetastorePath   string    // Derby home of the Hive metastore
	SparkVersion    string    // version reported by the server
	Profile         Profile   // Spark line and table format it runs
	StartedAt       time.Time // when the server was launched
	Reused          bool      // true when Start found it already running
	StartupDuration time.Duration
}

// URL is the Spark Connect URL of the server, including the token, for our
// Go client.
func (i *Instance) URL() string { return connectURL("127.0.0.1", i.Port, i.Token) }

// RedactedURL is URL with the token replaced, safe to log or print.
func (i *Instance) RedactedURL() string { return RedactURL(i.URL()) }

// PyURL is a URL for pyspark's client. pyspark only sends a token over a
// plaintext channel when the host is literally "localhost".
func (i *Instance) PyURL() string { return connectURL("localhost", i.Port, i.Token) }

// Stop stops this instance; see [Stop].
func (i *Instance) Stop(ctx context.Context) (*StopResult, error) { return Stop(ctx, i.Workspace) }

func connectURL(host string, port int, token string) string {
	u := "sc://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
	if token != "" {
		u += ";token=" + token
	}
	return u
}

var tokenParamRE = regexp.MustCompile(`(;token=)[^;]*`)

// RedactURL replaces the token parameter of a Spark Connect URL.
func RedactURL(u string) string { return tokenParamRE.ReplaceAllString(u, "${1}<redacted>") }

func instanceFromState(st *State, p Paths, reused bool) *Instance {
	p = p.ForFormat(st.profile().Format)
	return &Instance{
		Workspace:     p.Workspace,
		Port:          st.Port,
		PID:           st.PID,
		PGID:          st.PGID,
		Token:         st.Token,
		LogPath:       p.Log,
		StoragePath:   p.PipelineStorage,
		WarehousePath: p.Warehouse,
		MetastorePath: p.Metastore,
		SparkVersion:  st.SparkVersion,
		Profile:       st.profile(),
		StartedAt:     st.StartedAt,
		Reused:        reused,
	}
}

// StartError reports a server that did not come up. Error quotes the end of
// the server log; Reason is a one-line summary.
type StartError struct {
	Reason  string
	LogPath string
	LogTail string // last lines the server wrote during this start
}

func (e *StartError) Error() string {
	if e.LogTail == "" {
		return fmt.Sprintf("%s (log: %s, empty)", e.Reason, e.LogPath)
	}
	return fmt.Sprintf("%s\nlast lines of %s:\n%s", e.Reason, e.LogPath, indent(e.LogTail))
}

// Start returns the sandbox server of the workspace, starting it (and
// installing pyspark) if needed.
//
// A server recorded in state.json that is alive and answers is reused.
// Otherwise Start takes the workspace lock, launches spark-submit in its own
// process group with output appended to server.log, records state.json and
// waits until the server answers a Spark Connect request with the token. If
// the server exits or does not answer within ReadyTimeout, its process group
// is killed and a [*StartError] quoting the log is returned.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	log := opts.Logger
	if log == nil {
		log = discardLogger()
	}
	if opts.Memory == "" {
		opts.Memory = DefaultMemory
	}
	if !memoryRE.MatchString(opts.Memory) {
		return nil, fmt.Errorf("invalid driver memory %q: want a size like 512m or 2g", opts.Memory)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("invalid port %d", opts.Port)
	}
	if opts.Install.Logger == nil {
		opts.Install.Logger = log
	}
	prof, err := ResolveProfile(opts.Profile.Spark, opts.Profile.Format)
	if err != nil {
		return nil, err
	}
	opts.Install.Profile = prof.Profile
	p, err := WorkspacePaths(opts.Workspace)
	if err != nil {
		return nil, err
	}
	p = p.ForFormat(prof.Format)
	if strings.ContainsAny(p.Workspace, "\"'\\\n") {
		return nil, fmt.Errorf("workspace path %q contains quotes, backslashes or newlines, which Spark options cannot carry", p.Workspace)
	}
	log = log.With("workspace", p.Workspace)

	if inst := reusable(ctx, p, prof.Profile, log); inst != nil {
		return inst, nil
	}

	in, err := Install(ctx, opts.Install)
	if err != nil {
		return nil, err
	}
	if err := p.create(); err != nil {
		return nil, err
	}
	lock, err := lockFile(ctx, p.Lock, func() {
		log.Info("another process is starting or stopping this sandbox; waiting for it")
	})
	if err != nil {
		return nil, err
	}
	defer lock.unlock()

	// It may have been started while we waited for the lock; or a previous
	// server may be alive but broken.
	if inst := reusable(ctx, p, prof.Profile, log); inst != nil {
		return inst, nil
	}
	if st, err := ReadState(p.State); err == nil {
		if processAlive(st.PID) && isSparkServer(st.PID) && st.profile() != prof.Profile {
			log.Info("the running sandbox server runs another profile; restarting it",
				"running", st.profile().String(), "want", prof.String())
			if _, err := terminate(ctx, st.PID, st.PGID, DefaultStopGrace, log); err != nil {
				return nil, err
			}
		} else if processAlive(st.PID) && isSparkServer(st.PID) {
			// Give a slow (busy) server a few more chances before killing it.
			for i := 0; i < 3; i++ {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Second):
				}
				if inst := reusable(ctx, p, prof.Profile, log); inst != nil {
					return inst, nil
				}
			}
			log.Warn("previous sandbox server is running but does not answer; stopping it", "pid", st.PID)
			if _, err := terminate(ctx, st.PID, st.PGID, DefaultStopGrace, log); err != nil {
				return nil, err
			}
		} else {
			log.Info("removing stale sandbox state", "pid", st.PID)
		}
		if err := removeState(p.State); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("ignoring unreadable sandbox state", "err", err)
		if err := removeState(p.State); err != nil {
			return nil, err
		}
	}

	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(port); err != nil {
		return nil, err
	}
	for k := range opts.Conf {
		if strings.HasPrefix(k, "spark.connect.grpc.binding.") || strings.HasPrefix(k, "spark.connect.authenticate.") ||
			k == "spark.driver.host" || k == "spark.driver.bindAddress" {
			return nil, fmt.Errorf("sandbox conf %q is managed by the launcher (loopback binding and token); remove it", k)
		}
	}
	token := opts.Token
	if token == "" {
		if token, err = newToken(); err != nil {
			return nil, err
		}
	} else if len(token) < 16 {
		return nil, errors.New("sandbox token must be at least 16 characters; leave it empty for a random one")
	}

	rotateLog(p.Log, maxLogSize)
	logf, err := os.OpenFile(p.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening server log: %w", err)
	}
	offset, _ := logf.Seek(0, io.SeekEnd)
	startedAt := time.Now()
	fmt.Fprintf(logf, "\n==== sdp-mcp sandbox: starting %s (pyspark %s) on 127.0.0.1:%d at %s ====\n",
		prof, in.Version, port, startedAt.UTC().Format(time.RFC3339))

	cmd := exec.Command(in.SparkSubmit, serverArgs(p, port, opts.Memory, in, opts.Conf)...)
	cmd.Dir = p.Dir
	cmd.Env = serverEnv(os.Environ(), in, p, token)
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	detach(cmd)
	err = cmd.Start()
	logf.Close() // the child has its own copy
	if err != nil {
		return nil, fmt.Errorf("launching %s: %w", in.SparkSubmit, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child whenever it exits

	pgid, err := processGroup(pid)
	if err != nil {
		pgid = pid // Setsid makes the child a group leader
	}
	st := &State{
		PID:          pid,
		PGID:         pgid,
		Port:         port,
		Token:        token,
		URL:          connectURL("127.0.0.1", port, token),
		SparkVersion: in.Version,
		SparkLine:    prof.Spark,
		TableFormat:  prof.Format,
		StartedAt:    startedAt.UTC(),
		LogPath:      p.Log,
		Workspace:    p.Workspace,
		SparkHome:    in.SparkHome,
	}
	log.Info("starting Spark Connect server", "pid", pid, "port", port, "profile", prof.String(), "spark_version", in.Version, "log", p.Log)

	fail := func(reason string) error {
		_, _ = terminate(context.WithoutCancel(ctx), pid, pgid, 10*time.Second, log)
		_ = removeState(p.State)
		return &StartError{Reason: reason, LogPath: p.Log, LogTail: logTail(p.Log, offset, 20)}
	}
	if err := WriteState(p.State, st); err != nil {
		return nil, fmt.Errorf("%w (server stopped)", fail(err.Error()))
	}

	version, err := waitReady(ctx, st.URL, startedAt, opts.ReadyTimeout, exited, log)
	if err != nil {
		return nil, fail(err.Error())
	}
	if version != in.Version {
		log.Warn("server reports an unexpected Spark version", "got", version, "want", in.Version)
	}
	st.SparkVersion = version
	if err := WriteState(p.State, st); err != nil {
		return nil, fail(err.Error())
	}
	inst := instanceFromState(st, p, false)
	inst.StartupDuration = time.Since(startedAt)
	log.Info("Spark Connect server is ready", "url", inst.RedactedURL(), "pid", pid,
		"took", inst.StartupDuration.Round(100*time.Millisecond))
	return inst, nil
}

// reusable returns the recorded server if it is alive, runs profile and
// answers.
func reusable(ctx context.Context, p Paths, profile Profile, log *slog.Logger) *Instance {
	st, err := ReadState(p.State)
	if err != nil || !processAlive(st.PID) || st.profile() != profile {
		return nil
	}
	version, err := probe(ctx, st.URL)
	if err != nil {
		log.Debug("recorded sandbox server does not answer", "pid", st.PID, "err", err)
		return nil
	}
	if want := profile.PySpark(); version != want {
		log.Warn("reusing a sandbox server that runs a different Spark version; stop it to upgrade", "running", version, "want", want)
	}
	st.SparkVersion = version
	inst := instanceFromState(st, p, true)
	log.Info("reusing running Spark Connect server", "pid", st.PID, "url", inst.RedactedURL())
	return inst
}

// waitReady polls the server until it answers, it exits, the timeout passes
// or ctx is done. It logs progress every few seconds.
func waitReady(ctx context.Context, url string, startedAt time.Time, timeout time.Duration, exited <-chan error, log *slog.Logger) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	var lastErr error
	for {
		version, err := probe(ctx, url)
		if err == nil {
			return version, nil
		}
		lastErr = err
		select {
		case werr := <-exited:
			return "", fmt.Errorf("Spark Connect server exited during startup after %s (%v)", time.Since(startedAt).Round(100*time.Millisecond), exitDescription(werr))
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return "", fmt.Errorf("Spark Connect server did not answer within %s (last error: %v)", timeout, lastErr)
			}
			return "", fmt.Errorf("interrupted while waiting for the Spark Connect server: %w", context.Cause(ctx))
		case <-progress.C:
			log.Info("waiting for Spark Connect server", "elapsed", time.Since(startedAt).Round(time.Second))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func exitDescription(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

var memoryRE = regexp.MustCompile(`^[1-9][0-9]*[kKmMgGtT]?$`)

// serverArgs is the spark-submit command line. It must not contain the token.
func serverArgs(p Paths, port int, memory string, in *Installation, extra map[string]string) []string {
	conf := func(k, v string) []string { return []string{"--conf", k + "=" + v} }
	args := []string{
		"--class", serverClass,
		"--name", "sdp-mcp sandbox",
		"--master", "local[*]",
		"--driver-memory", memory,
	}
	for _, kv := range [][2]string{
		{"spark.connect.grpc.binding.address", "127.0.0.1"},
		{"spark.connect.grpc.binding.port", strconv.Itoa(port)},
		{"spark.driver.host", "127.0.0.1"},
		{"spark.driver.bindAddress", "127.0.0.1"},
		{"spark.ui.enabled", "false"},
		{"spark.sql.session.timeZone", "UTC"},
		{"spark.sql.catalogImplementation", "hive"},
		{"spark.sql.warehouse.dir", p.Warehouse},
		{"spark.driver.extraJavaOptions", "-Dderby.system.home=" + quoteJavaOpt(p.Metastore)},
	} {
		args = append(args, conf(kv[0], kv[1])...)
	}
	if in.Connector != nil {
		if len(in.Jars) > 0 {
			args = append(args, "--jars", strings.Join(in.Jars, ","))
		}
		for _, kv := range in.Connector.Conf {
			args = append(args, conf(kv[0], kv[1])...)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		args = append(args, conf(k, extra[k])...)
	}
	return args
}

// quoteJavaOpt quotes a value for spark.driver.extraJavaOptions, which Spark
// splits on whitespace honouring quotes.
func quoteJavaOpt(s string) string {
	if strings.ContainsAny(s, " \t") {
		return `"` + s + `"`
	}
	return s
}

// serverEnv is the server's environment: the caller's, minus Spark settings
// that could redirect or reconfigure the sandbox, plus ours.
func serverEnv(environ []string, in *Installation, p Paths, token string) []string {
	env := make([]string, 0, len(environ)+8)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SPARK_") || strings.HasPrefix(k, "PYSPARK_") || k == "HADOOP_CONF_DIR" || k == "YARN_CONF_DIR" || k == "HIVE_CONF_DIR" {
			continue
		}
		if k == "JAVA_HOME" && in.Java != nil && in.Java.Home != "" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, in.Env()...)
	env = append(env,
		"SPARK_LOCAL_IP=127.0.0.1",
		"SPARK_LOCAL_DIRS="+p.Tmp, // scratch space inside the workspace
		tokenEnv+"="+token,
	)
	return env
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on 127.0.0.1 is not available (pass another port, or 0 for a free one): %w", port, err)
	}
	return l.Close()
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// maxLogSize is the size above which server.log is moved to server.log.1
// before a start.
const maxLogSize = 32 << 20

// rotateLog keeps one previous generation of an oversized log.
func rotateLog(path string, limit int64) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > limit {
		_ = os.Rename(path, path+".1")
	}
}

// logTail returns the last n lines written to path after offset.
func logTail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 256 << 10
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if fi.Size()-offset > maxRead {
		offset = fi.Size() - maxRead
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return lastLines(strings.TrimSpace(string(b)), n)
}

// terminate stops a process group: SIGTERM, wait up to grace, SIGKILL, wait
// again. It reports whether SIGKILL was needed and returns an error if a
// process of the group survives.
func terminate(ctx context.Context, pid, pgid int, grace time.Duration, log *slog.Logger) (killed bool, err error) {
	if pgid <= 1 {
		pgid = pid
	}
	if !groupAlive(pgid) && !processAlive(pid) {
		return false, nil
	}
	log.Debug("sending SIGTERM to sandbox process group", "pgid", pgid)
	if err := signalGroup(pgid, syscall.SIGTERM); err != nil {
		return false, fmt.Errorf("stopping process group %d: %w", pgid, err)
	}
	if waitGone(ctx, pid, pgid, grace) {
		return false, nil
	}
	log.Warn("sandbox server did not stop after SIGTERM; killing it", "pgid", pgid, "waited", grace)
	if err := signalGroup(pgid, syscall.SIGKILL); err != nil {
		return true, fmt.Errorf("killing process group %d: %w", pgid, err)
	}
	if waitGone(ctx, pid, pgid, 10*time.Second) {
		return true, nil
	}
	return true, fmt.Errorf("process group %d is still alive after SIGKILL", pgid)
}

// waitGone waits until neither pid nor any process of pgid exists.
func waitGone(ctx context.Context, pid, pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !groupAlive(pgid) && !processAlive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}
