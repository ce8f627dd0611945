package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

func newSandboxCmd(a *app) *cobra.Command {
	var cmd *cobra.Command
	cmd = &cobra.Command{
		Use:   "sandbox",
		Short: "Manage the local Spark Connect sandbox",
		Long: `Manage a local Spark Connect server for development and tests.

The sandbox runs a Spark line with a table format (default: ` + sandbox.DefaultProfile().String() + `;
--spark and --table-format pick another). pyspark and the format's connector
jars are installed once into the cache directory ($SDP_MCP_CACHE or the user
cache directory), one install per Spark line side by side; the server listens
on 127.0.0.1 with a random token. Its files (state, log, warehouse, metastore,
pipeline storage) live in <workspace>/sandbox/ (lakehouse formats keep their
data in <workspace>/sandbox/<format>/). Java 17+ and Python 3.10+ are required.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&a.sandboxProfile.Spark, "spark", "", "Spark line of the sandbox, e.g. 4.2 (default: the default profile's, or the table format's newest)")
	pf.StringVar(&a.sandboxProfile.Format, "table-format", "", "table format of the sandbox: delta, iceberg or parquet (default: the line's lakehouse format)")
	cmd.AddCommand(
		newSandboxInstallCmd(a),
		newSandboxStartCmd(a),
		newSandboxStopCmd(a),
		newSandboxStatusCmd(a),
		newSandboxSparkVersionCmd(a),
		newSandboxSamplesCmd(a),
	)
	return cmd
}

func newSandboxSparkVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "spark-version",
		Short: "Print the Spark version the sandbox installs and runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			prof, err := sandbox.ResolveProfile(a.sandboxProfile.Spark, a.sandboxProfile.Format)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, prof.PySpark())
			return err
		},
	}
}

func newSandboxInstallCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install pyspark and the table format's jars into the cache (no-op when already installed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := sandbox.Install(cmd.Context(), a.installOptions(cmd.Context()))
			if err != nil {
				return err
			}
			info := installInfo{
				SparkVersion:   in.Version,
				TableFormat:    in.Profile.Format,
				Jars:           in.Jars,
				Dir:            in.Dir,
				Python:         in.Python,
				SparkHome:      in.SparkHome,
				SparkSubmit:    in.SparkSubmit,
				SparkPipelines: in.SparkPipelines,
			}
			if in.Java != nil {
				info.Java, info.JavaVersion = in.Java.Path, in.Java.Version
			}
			if asJSON {
				return writeJSON(a.stdout, info)
			}
			return writeFields(a.stdout, [][2]string{
				{"spark_version", info.SparkVersion},
				{"table_format", info.TableFormat},
				{"jars", strings.Join(info.Jars, " ")},
				{"spark_home", info.SparkHome},
				{"spark_submit", info.SparkSubmit},
				{"spark_pipelines", info.SparkPipelines},
				{"python", info.Python},
				{"java", fmt.Sprintf("%s (%s)", info.Java, info.JavaVersion)},
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the install as JSON")
	return cmd
}

type installInfo struct {
	SparkVersion   string   `json:"spark_version"`
	TableFormat    string   `json:"table_format"`
	Jars           []string `json:"jars,omitempty"`
	Dir            string   `json:"dir"`
	Python         string   `json:"python"`
	SparkHome      string   `json:"spark_home"`
	SparkSubmit    string   `json:"spark_submit"`
	SparkPipelines string   `json:"spark_pipelines"`
	Java           string   `json:"java,omitempty"`
	JavaVersion    string   `json:"java_version,omitempty"`
}

// installOptions sends pip's output to stderr at debug level only; at
// other levels progress is reported through the logger.
func (a *app) installOptions(ctx context.Context) sandbox.InstallOptions {
	opts := sandbox.InstallOptions{Logger: a.log, Profile: a.sandboxProfile}
	if a.log.Enabled(ctx, slog.LevelDebug) {
		opts.Output = a.stderr
	}
	return opts
}

func newSandboxStartCmd(a *app) *cobra.Command {
	var (
		port      int
		memory    string
		timeout   time.Duration
		asJSON    bool
		showToken bool
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start the sandbox server (installing pyspark if needed), or reuse a running one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			inst, err := sandbox.Start(cmd.Context(), sandbox.Options{
				Workspace:    a.workspace,
				Port:         port,
				Memory:       memory,
				ReadyTimeout: timeout,
				Logger:       a.log,
				Install:      a.installOptions(cmd.Context()),
				Profile:      a.sandboxProfile,
			})
			if err != nil {
				return err
			}
			v := statusView{
				Status:    sandbox.StateRunning,
				Detail:    "started",
				Workspace: inst.Workspace,
			}
			if inst.Reused {
				v.Detail = "already running; reused"
			}
			v.fill(inst, showToken)
			return v.write(a.stdout, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&port, "port", 0, "Spark Connect port on 127.0.0.1 (0 picks a free port)")
	f.StringVar(&memory, "memory", sandbox.DefaultMemory, "driver memory")
	f.DurationVar(&timeout, "timeout", sandbox.DefaultReadyTimeout, "how long to wait for the server to answer")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&showToken, "show-token", false, "include the token (full URLs) in the output")
	return cmd
}

func newSandboxStopCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the sandbox server (not running is fine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := sandbox.StopWithOptions(cmd.Context(), a.workspace, sandbox.StopOptions{Logger: a.log})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, res.Message)
			return err
		},
	}
}

func newSandboxStatusCmd(a *app) *cobra.Command {
	var asJSON, showToken bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether the sandbox server is running (token redacted unless --show-token)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := sandbox.Status(cmd.Context(), a.workspace)
			if err != nil {
				return err
			}
			v := statusView{Status: rep.State, Detail: rep.Detail, Workspace: rep.Workspace}
			switch {
			case rep.Instance != nil:
				v.fill(rep.Instance, showToken)
			case rep.Recorded != nil:
				v.PID, v.PGID, v.Port = rep.Recorded.PID, rep.Recorded.PGID, rep.Recorded.Port
				v.LogPath = rep.Recorded.LogPath
			}
			if v.LogPath == "" && rep.State != sandbox.StateStopped {
				v.LogPath = rep.Paths.Log
			}
			if r, err := sandbox.ReadRestarts(rep.Workspace); err == nil && r.Count > 0 {
				v.Restarts = &r
			}
			return v.write(a.stdout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().BoolVar(&showToken, "show-token", false, "include the token (full URLs) in the output")
	return cmd
}

// statusView is what start and status print.
type statusView struct {
	Status          string     `json:"status"`
	Detail          string     `json:"detail,omitempty"`
	Workspace       string     `json:"workspace"`
	PID             int        `json:"pid,omitempty"`
	PGID            int        `json:"pgid,omitempty"`
	Port            int        `json:"port,omitempty"`
	URL             string     `json:"url,omitempty"`
	PySparkURL      string     `json:"pyspark_url,omitempty"`
	Token           string     `json:"token,omitempty"`
	SparkVersion    string     `json:"spark_version,omitempty"`
	TableFormat     string     `json:"table_format,omitempty"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	LogPath         string     `json:"log_path,omitempty"`
	Warehouse       string     `json:"warehouse,omitempty"`
	PipelineStorage string     `json:"pipeline_storage,omitempty"`
	// Restarts counts the restarts a supervising MCP server did after the
	// sandbox stopped (none: omitted).
	Restarts *sandbox.Restarts `json:"restarts,omitempty"`
}

func (v *statusView) fill(inst *sandbox.Instance, showToken bool) {
	v.PID, v.PGID, v.Port = inst.PID, inst.PGID, inst.Port
	v.URL, v.PySparkURL = inst.RedactedURL(), sandbox.RedactURL(inst.PyURL())
	if showToken {
		v.URL, v.PySparkURL, v.Token = inst.URL(), inst.PyURL(), inst.Token
	}
	v.SparkVersion, v.TableFormat = inst.SparkVersion, inst.Profile.Format
	if !inst.StartedAt.IsZero() {
		t := inst.StartedAt.UTC()
		v.StartedAt = &t
	}
	v.LogPath = inst.LogPath
	v.Warehouse = inst.WarehousePath
	v.PipelineStorage = inst.StoragePath
}

func (v *statusView) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, v)
	}
	fields := [][2]string{{"status", v.Status}}
	add := func(k, val string) {
		if val != "" {
			fields = append(fields, [2]string{k, val})
		}
	}
	add("detail", v.Detail)
	add("workspace", v.Workspace)
	if v.PID != 0 {
		add("pid", fmt.Sprintf("%d (process group %d)", v.PID, v.PGID))
	}
	add("url", v.URL)
	add("pyspark_url", v.PySparkURL)
	add("spark_version", v.SparkVersion)
	add("table_format", v.TableFormat)
	if v.StartedAt != nil {
		add("started_at", fmt.Sprintf("%s (up %s)", v.StartedAt.Format(time.RFC3339), time.Since(*v.StartedAt).Round(time.Second)))
	}
	add("log", v.LogPath)
	add("warehouse", v.Warehouse)
	add("pipeline_storage", v.PipelineStorage)
	if r := v.Restarts; r != nil {
		add("restarts", fmt.Sprintf("%d (last at %s: pid %d was gone, pid %d started)",
			r.Count, r.LastAt.Format(time.RFC3339), r.LastPID, r.LastNewPID))
	}
	return writeFields(w, fields)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeFields prints aligned "key: value" lines.
func writeFields(w io.Writer, fields [][2]string) error {
	width := 0
	for _, f := range fields {
		width = max(width, len(f[0]))
	}
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%-*s  %s\n", width+1, f[0]+":", f[1]); err != nil {
			return err
		}
	}
	return nil
}
