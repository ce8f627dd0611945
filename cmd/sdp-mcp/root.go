package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
)

// app holds what the commands share: output streams and the settings of
// the persistent flags.
type app struct {
	version  string
	stdout   io.Writer
	stderr   io.Writer
	logLevel string
	log      *slog.Logger
	// workspace is the --workspace flag ("" = SDP_MCP_WORKSPACE or the
	// default data directory).
	workspace string
	// sandboxProfile is the sandbox commands' --spark and --table-format.
	sandboxProfile sandbox.Profile
}

// run executes the command line and returns the process exit code: 0 on
// success, 1 on error (after printing a one-line message to stderr).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, version string) int {
	a := &app{version: version, stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// printError prints "sdp-mcp: <first line>" and, indented below it, any
// further lines of the message (for example the end of the server log).
func printError(w io.Writer, err error) {
	msg := strings.TrimSpace(err.Error())
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	first, rest, _ := strings.Cut(msg, "\n")
	fmt.Fprintf(w, "sdp-mcp: %s\n", first)
	if rest != "" {
		fmt.Fprintln(w, rest)
	}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "sdp-mcp",
		Short:         "MCP server for Apache Spark (Spark Connect and declarative pipelines)",
		Version:       a.version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(a.stderr, a.logLevel)
			if err != nil {
				return err
			}
			a.log = log
			return nil
		},
	}
	root.SetVersionTemplate("sdp-mcp {{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&a.workspace, "workspace", "", "workspace directory (default $SDP_MCP_WORKSPACE, else $XDG_DATA_HOME/sdp-mcp or ~/.local/share/sdp-mcp)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newSandboxCmd(a), newServeCmd(a), newAuditCmd(a), newPolicyCmd(a), newSourcesCmd(a), newEvalCmd(a))
	root.AddCommand(newApproveCmds(a)...)
	return root
}

// newLogger returns a text logger on w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// buildVersion returns the version to report: the link-time value if set,
// else the module version from the build info, plus the VCS revision when
// the binary was built from a checkout.
func buildVersion(linked string) string {
	v := linked
	bi, ok := debug.ReadBuildInfo()
	if v == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "devel"
	}
	if !ok || linked != "" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && !strings.Contains(v, rev[:min(len(rev), 12)]) {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified == "true" {
			rev += "-dirty"
		}
		v += " (" + rev + ")"
	}
	return v
}
