package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Defaults for [ClusterOptions].
const (
	DefaultClusterWorkers  = 2
	DefaultWorkerCores     = 1
	DefaultWorkerMemory    = "1g"
	DefaultExecutorMemory  = "768m"
	DefaultClusterDaemonMB = "256m"
)

// The standalone cluster's main classes, run with spark-class.
const (
	masterClass = "org.apache.spark.deploy.master.Master"
	workerClass = "org.apache.spark.deploy.worker.Worker"
)

// ClusterOptions configure [StartCluster].
type ClusterOptions struct {
	// Dir holds the cluster's files: the Connect server's sandbox layout
	// (warehouse, metastore, pipeline storage, server.log) under
	// Dir/sandbox, and the master's and workers' logs and work directories
	// under Dir/cluster. It must be storage every JVM of the cluster sees;
	// on one machine any local directory is.
	Dir string
	// Workers is the number of worker JVMs; 0 means DefaultClusterWorkers.
	Workers int
	// WorkerCores and WorkerMemory are what each worker offers; 0 and ""
	// mean DefaultWorkerCores and DefaultWorkerMemory.
	WorkerCores  int
	WorkerMemory string
	// ExecutorMemory is each executor's heap; "" means
	// DefaultExecutorMemory (it must fit in WorkerMemory).
	ExecutorMemory string
	// DriverMemory is the Connect server's (the driver's) heap; "" means
	// DefaultMemory.
	DriverMemory string
	// Profile is the Spark line and table format, as [Options.Profile]:
	// the zero Profile means [DefaultProfile].
	Profile Profile
	// Conf adds Connect server configuration, as [Options.Conf].
	Conf map[string]string
	// ReadyTimeout bounds each wait: the master, the workers registering,
	// the Connect server answering. 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// Install configures the pyspark install used (installed if needed).
	Install InstallOptions
}

// Cluster is a running Spark standalone cluster on 127.0.0.1: a master,
// workers and a Spark Connect server whose driver schedules on them. Each
// runs as a separate JVM in a process group of its own.
type Cluster struct {
	// MasterURL is spark://127.0.0.1:PORT.
	MasterURL string
	// MasterStatusURL is the master's status as JSON (workers, apps).
	MasterStatusURL string
	// Port and Token are the Connect server's.
	Port  int
	Token string
	// SparkVersion is what the Connect server reports.
	SparkVersion string
	// Paths are the Connect server's files (warehouse, metastore, ...).
	Paths Paths
	// Workers is the number of workers that registered with the master.
	Workers int
	// StartupDuration is how long StartCluster took.
	StartupDuration time.Duration

	log   *slog.Logger
	mu    sync.Mutex
	procs []*clusterProc // in start order
}

// clusterProc is one JVM of the cluster.
type clusterProc struct {
	name     string
	pid      int
	pgid     int
	log      string
	exited   chan struct{}
	exitErr  error
	exitOnce sync.Once
}

// URL is the Spark Connect URL of the cluster's Connect server, with the
// token, for our Go client.
func (c *Cluster) URL() string { return connectURL("127.0.0.1", c.Port, c.Token) }

// RedactedURL is URL without the token.
func (c *Cluster) RedactedURL() string { return RedactURL(c.URL()) }

// PIDs lists the process of every JVM of the cluster, by name (master,
// worker-1, ..., connect). Each leads a process group of the same id.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.name] = p.pid
	}
	return out
}

// StartCluster starts a Spark standalone cluster from the installed
// pyspark: the master and the workers with spark-class (the wheel has no
// start-master.sh), each in its own process group, then a Spark Connect
// server with --master spark://…, configured like the sandbox ([Start]).
// It returns when every worker registered and the Connect server answers.
// When anything fails, every JVM started so far is stopped before it
// returns. Stop the cluster with [Cluster.Stop].
func StartCluster(ctx context.Context, opts ClusterOptions) (_ *Cluster, err error) {
	began := time.Now()
	log := opts.Logger
	if log == nil {
		log = discardLogger()
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultClusterWorkers
	}
	if opts.WorkerCores == 0 {
		opts.WorkerCores = DefaultWorkerCores
	}
	for _, m := range []*string{&opts.WorkerMemory, &opts.ExecutorMemory, &opts.DriverMemory} {
		if *m != "" && !memoryRE.MatchString(*m) {
			return nil, fmt.Errorf("invalid memory size %q: want a size like 512m or 1g", *m)
		}
	}
	if opts.WorkerMemory == "" {
		opts.WorkerMemory = DefaultWorkerMemory
	}
	if opts.ExecutorMemory == "" {
		opts.ExecutorMemory = DefaultExecutorMemory
	}
	if opts.DriverMemory == "" {
		opts.DriverMemory = DefaultMemory
	}
	if opts.Workers < 1 || opts.WorkerCores < 1 {
		return nil, fmt.Errorf("a cluster needs at least one worker with one core (got %d workers, %d cores)", opts.Workers, opts.WorkerCores)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.Dir == "" {
		return nil, errors.New("a cluster needs a directory (ClusterOptions.Dir)")
	}
	if opts.Install.Logger == nil {
		opts.Install.Logger = log
	}
	prof, err := ResolveProfile(opts.Profile.Spark, opts.Profile.Format)
	if err != nil {
		return nil, err
	}
	opts.Install.Profile = prof.Profile
	in, err := Install(ctx, opts.Install)
	if err != nil {
		return nil, err
	}
	p, err := WorkspacePaths(opts.Dir)
	if err != nil {
		return nil, err
	}
	p = p.ForFormat(prof.Format)
	if err := p.create(); err != nil {
		return nil, err
	}
	cdir := filepath.Join(p.Workspace, "cluster")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the cluster directory: %w", err)
	}
	c := &Cluster{Paths: p, log: log}
	defer func() {
		if err != nil {
			if serr := c.Stop(context.WithoutCancel(ctx)); serr != nil {
				log.Error("stopping the cluster after a failed start", "err", serr)
			}
		}
	}()

	sparkClass := filepath.Join(in.SparkHome, "bin", "spark-class")
	daemonEnv := append(serverEnv(os.Environ(), in, p, ""), "SPARK_DAEMON_MEMORY="+DefaultClusterDaemonMB,
		"SPARK_NO_DAEMONIZE=1")

	// The master.
	masterPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	masterUI, err := FreePort()
	if err != nil {
		return nil, err
	}
	c.MasterURL = "spark://127.0.0.1:" + strconv.Itoa(masterPort)
	if _, err := c.launch("master", filepath.Join(cdir, "master.log"), cdir, daemonEnv, sparkClass, masterClass,
		"--host", "127.0.0.1", "--port", strconv.Itoa(masterPort), "--webui-port", strconv.Itoa(masterUI)); err != nil {
		return nil, err
	}
	// The workers.
	for i := 1; i <= opts.Workers; i++ {
		ui, err := FreePort()
		if err != nil {
			return nil, err
		}
		work := filepath.Join(cdir, fmt.Sprintf("worker-%d", i))
		if err := os.MkdirAll(work, 0o700); err != nil {
			return nil, err
		}
		if _, err := c.launch(fmt.Sprintf("worker-%d", i), work+".log", cdir, daemonEnv, sparkClass, workerClass,
			"--host", "127.0.0.1", "--cores", strconv.Itoa(opts.WorkerCores), "--memory", opts.WorkerMemory,
			"--webui-port", strconv.Itoa(ui), "--work-dir", work, c.MasterURL); err != nil {
			return nil, err
		}
	}
	c.MasterStatusURL = "http://127.0.0.1:" + strconv.Itoa(masterUI) + "/json/"
	if c.Workers, err = c.waitWorkers(ctx, opts.Workers, opts.ReadyTimeout); err != nil {
		return nil, err
	}
	log.Info("standalone cluster is up", "master", c.MasterURL, "workers", c.Workers)

	// The Connect server: the sandbox's configuration, on the cluster.
	if c.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if c.Token, err = newToken(); err != nil {
		return nil, err
	}
	conf := map[string]string{
		"spark.executor.memory": opts.ExecutorMemory,
		"spark.executor.cores":  strconv.Itoa(opts.WorkerCores),
	}
	for k, v := range opts.Conf {
		conf[k] = v
	}
	args, err := withMaster(serverArgs(p, c.Port, opts.DriverMemory, in, conf), c.MasterURL)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	proc, err := c.launch("connect", p.Log, p.Dir, serverEnv(os.Environ(), in, p, c.Token), in.SparkSubmit, args...)
	if err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { <-proc.exited; exited <- proc.exitErr }()
	c.SparkVersion, err = waitReady(ctx, c.URL(), started, opts.ReadyTimeout, exited, log)
	if err != nil {
		return nil, &StartError{Reason: err.Error(), LogPath: p.Log, LogTail: logTail(p.Log, 0, 20)}
	}
	c.StartupDuration = time.Since(began)
	log.Info("Spark Connect server on the cluster is ready", "url", c.RedactedURL(), "took", c.StartupDuration.Round(100*time.Millisecond))
	return c, nil
}

// withMaster replaces the --master of a spark-submit command line.
func withMaster(args []string, master string) ([]string, error) {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "--master" {
			out[i+1] = master
			return out, nil
		}
	}
	return nil, errors.New("the sandbox's server command line has no --master to replace")
}

// launch starts one JVM of the cluster in its own process group, its
// output appended to logPath.
func (c *Cluster) launch(name, logPath, dir string, env []string, bin string, args ...string) (*clusterProc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the %s log: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, logf, logf
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the cluster's %s: %w", name, err)
	}
	pgid, err := processGroup(cmd.Process.Pid)
	if err != nil {
		pgid = cmd.Process.Pid // Setsid makes it a group leader
	}
	p := &clusterProc{name: name, pid: cmd.Process.Pid, pgid: pgid, log: logPath, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.exitOnce.Do(func() { p.exitErr = err; close(p.exited) })
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	c.log.Info("started cluster JVM", "name", name, "pid", p.pid, "log", logPath)
	return p, nil
}

// waitWorkers polls the master's status page until n workers are alive.
func (c *Cluster) waitWorkers(ctx context.Context, n int, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := c.MasterStatusURL
	alive := 0
	for {
		if dead := c.exitedProc(); dead != nil {
			return alive, fmt.Errorf("the cluster's %s exited during startup (%v)\nlast lines of %s:\n%s",
				dead.name, exitDescription(dead.exitErr), dead.log, indent(logTail(dead.log, 0, 20)))
		}
		if got, err := aliveWorkers(ctx, url); err == nil {
			alive = got
			if alive >= n {
				return alive, nil
			}
		}
		select {
		case <-ctx.Done():
			return alive, fmt.Errorf("%d of %d workers registered with the master within %s", alive, n, timeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// aliveWorkers reads the master's JSON status.
func aliveWorkers(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		AliveWorkers int `json:"aliveworkers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.AliveWorkers, nil
}

// exitedProc returns a JVM of the cluster that exited, or nil.
func (c *Cluster) exitedProc() *clusterProc {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.exited:
			return p
		default:
		}
	}
	return nil
}

// Stop stops every JVM of the cluster, the Connect server first and the
// master last, each by its process group (SIGTERM, then SIGKILL after a
// grace period). It reports the groups that survived.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if _, err := terminate(ctx, p.pid, p.pgid, DefaultStopGrace, c.log); err != nil {
			errs = append(errs, fmt.Errorf("stopping the cluster's %s: %w", p.name, err))
		}
	}
	return errors.Join(errs...)
}
