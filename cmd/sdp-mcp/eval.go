package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sdp-mcp/sdp-mcp/config"
	"github.com/sdp-mcp/sdp-mcp/connect/sandbox"
	"github.com/sdp-mcp/sdp-mcp/eval"
)

func newEvalCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate an agent on a suite of pipeline tasks, or replay a recorded session",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newEvalRunCmd(a), newEvalReplayCmd(a))
	return cmd
}

func newEvalRunCmd(a *app) *cobra.Command {
	var (
		out   string
		tasks []string
	)
	cmd := &cobra.Command{
		Use:   "run SUITE.yaml [--out DIR] [--task NAME ...] -- AGENT-COMMAND [ARGS...]",
		Short: "Run an agent on each task of a suite and score it (scorecards in markdown and JSON)",
		Long: `Run an agent on each task of a suite (see eval/suites/default.yaml) and score it.

For each task a sandbox-only server (sdp-mcp serve --sandbox-only --transport http) starts
on a free loopback port in a fresh workspace, with a policy that allows only the task's
sources and a schema of its own (eval_<task>, recreated); the agent command runs with the
endpoint as its last argument and in SDP_MCP_URL (the task in SDP_EVAL_TASK, the goal in
SDP_EVAL_GOAL, the pipeline in SDP_EVAL_PIPELINE), within the task's time budget. Then the
task is scored: expected tables matched, pipeline validates, calls made, rejections and
denials by rule id, calls until the first successful validate, time to green. The tasks
share the workspace's sandbox Spark server (started if needed; samples loaded if needed).

Scorecards: DIR/<task>/scorecard.{md,json} and DIR/scorecard.{md,json}. The suite's
markdown scorecard is printed; the exit code is 1 when a task fails.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return fmt.Errorf("give the suite, then -- and the agent command: sdp-mcp eval run SUITE.yaml -- ./my-agent --flag")
			}
			suite, err := eval.LoadSuite(args[0])
			if err != nil {
				return err
			}
			r, err := newEvalRunner(cmd.Context(), a)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(os.TempDir(), "sdp-mcp-eval-"+time.Now().UTC().Format("20060102T150405Z"))
			}
			runner := &eval.Runner{Bin: r.bin, Agent: args[1:], Out: out, Spark: r.spark, Tasks: tasks, Log: a.log}
			card, err := runner.Run(cmd.Context(), suite)
			if err != nil {
				return err
			}
			fmt.Fprint(a.stdout, card.Markdown())
			fmt.Fprintf(a.stdout, "\nScorecards: %s\n", out)
			if card.Passed < card.Total {
				return fmt.Errorf("%d of %d task(s) failed", card.Total-card.Passed, card.Total)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory (default: a new directory under the temporary directory)")
	cmd.Flags().StringArrayVar(&tasks, "task", nil, "run only this task (repeatable)")
	return cmd
}

func newEvalReplayCmd(a *app) *cobra.Command {
	var out, policyPath, session string
	cmd := &cobra.Command{
		Use:   "replay AUDIT.jsonl [--policy FILE] [--session ID] [--out DIR]",
		Short: "Re-execute a recorded session's calls against a fresh sandbox and report divergences",
		Long: `Re-execute the agent calls of an audit log, in order and with their recorded arguments,
against a sandbox-only server in a fresh workspace writing to a fresh schema (` + eval.ReplaySchema + `),
and report each call whose outcome (decision, rule ids, summary, pipeline hash) differs.
Give the policy the session ran under (--policy; an evaluation task's is DIR/<task>/policy.yaml).
The exit code is 1 when the replay diverges.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := newEvalRunner(cmd.Context(), a)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(os.TempDir(), "sdp-mcp-replay-"+time.Now().UTC().Format("20060102T150405Z"))
			}
			rp := &eval.Replayer{Bin: r.bin, Spark: r.spark, Out: out, Policy: policyPath, Session: session, Log: a.log}
			rep, err := rp.Replay(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(a.stdout, rep.Markdown())
			fmt.Fprintf(a.stdout, "\nReport: %s\n", filepath.Join(out, "replay.md"))
			if len(rep.Divergences) > 0 {
				return fmt.Errorf("the replay diverges in %d place(s)", len(rep.Divergences))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the replay's workspace and report (default: a new directory under the temporary directory)")
	cmd.Flags().StringVar(&policyPath, "policy", "", "the policy the session ran under (default: the built-in policy)")
	cmd.Flags().StringVar(&session, "session", "", "replay only this MCP session's calls")
	return cmd
}

// evalSetup is what eval run and replay share: this binary and the
// workspace's sandbox.
type evalSetup struct {
	bin   string
	spark eval.Spark
}

func newEvalRunner(ctx context.Context, a *app) (*evalSetup, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	st, err := loadSettings(a, "", config.Flags{}, false)
	if err != nil {
		return nil, err
	}
	inst, err := sandbox.Start(ctx, sandbox.Options{Workspace: st.Workspace, Logger: a.log, Install: a.installOptions(ctx),
		Profile: st.Environments.Sandbox.Profile()})
	if err != nil {
		return nil, err
	}
	return &evalSetup{bin: bin, spark: eval.Spark{Port: inst.Port, Token: inst.Token}}, nil
}
