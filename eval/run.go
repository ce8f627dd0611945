package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/samples"
	"github.com/sdp-mcp/sdp-mcp/sources"
)

// Spark is the shared sandbox Spark Connect server of a run, on loopback.
type Spark struct {
	Port  int
	Token string
}

func (s Spark) url() string { return fmt.Sprintf("sc://127.0.0.1:%d/;token=%s", s.Port, s.Token) }

// Runner runs agents on suites.
type Runner struct {
	// Bin is the sdp-mcp binary each task's server runs.
	Bin string
	// Agent is the agent's command; the endpoint is appended as its last
	// argument and set in SDP_MCP_URL.
	Agent []string
	// Out receives a directory per task and the suite's scorecard.
	Out   string
	Spark Spark
	// Tasks, when not empty, selects tasks by name.
	Tasks []string
	Log   *slog.Logger
}

// Agent environment variables.
const (
	EnvURL      = "SDP_MCP_URL"
	EnvTask     = "SDP_EVAL_TASK"
	EnvGoal     = "SDP_EVAL_GOAL"
	EnvPipeline = "SDP_EVAL_PIPELINE"
)

// Run runs every selected task of the suite and writes the scorecards. An
// error means the evaluation itself could not run (not that the agent
// failed: that is in the scorecards).
func (r *Runner) Run(ctx context.Context, s *Suite) (*SuiteCard, error) {
	if len(r.Agent) == 0 {
		return nil, errors.New("no agent command: give the command that runs the agent")
	}
	for _, name := range r.Tasks {
		if !slices.ContainsFunc(s.Tasks, func(t Task) bool { return t.Name == name }) {
			return nil, fmt.Errorf("suite %s has no task %q", s.Name, name)
		}
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	c, err := connect.Dial(ctx, r.Spark.url())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if slices.ContainsFunc(s.Tasks, func(t Task) bool { return t.Sources.Samples }) {
		if _, err := samples.Load(ctx, c, samples.Options{}); err != nil {
			return nil, fmt.Errorf("load the samples: %w", err)
		}
	}
	card := &SuiteCard{Suite: s.Name, Agent: strings.Join(r.Agent, " "), Started: time.Now(), Isolation: isolation}
	for _, t := range s.Tasks {
		if len(r.Tasks) > 0 && !slices.Contains(r.Tasks, t.Name) {
			continue
		}
		r.Log.Info("eval task", "task", t.Name)
		tc, err := r.runTask(ctx, c, s, t)
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", t.Name, err)
		}
		if err := writeCard(filepath.Join(r.Out, t.Name), "scorecard", tc, tc.Markdown()); err != nil {
			return nil, err
		}
		r.Log.Info("eval task done", "task", t.Name, "pass", tc.Pass, "calls", tc.Calls)
		card.Tasks = append(card.Tasks, *tc)
		card.Total++
		if tc.Pass {
			card.Passed++
		}
	}
	card.Seconds = time.Since(card.Started).Seconds()
	return card, writeCard(r.Out, "scorecard", card, card.Markdown())
}

// taskEnv is a task's fresh workspace, schemas, policy and configuration.
type taskEnv struct {
	dir, workspace, config string
	schema, srcSchema      string
}

// prepare makes the task's workspace, (re)creates its schemas, registers
// its files and writes its policy and configuration.
func (r *Runner) prepare(ctx context.Context, c *connect.Client, s *Suite, t Task, dir string) (*taskEnv, error) {
	env := &taskEnv{dir: dir, workspace: filepath.Join(dir, "workspace"), schema: "eval_" + t.Name, srcSchema: "eval_" + t.Name + "_src"}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(env.workspace, 0o755); err != nil {
		return nil, err
	}
	for _, stmt := range []string{
		"DROP SCHEMA IF EXISTS spark_catalog." + env.schema + " CASCADE",
		"DROP SCHEMA IF EXISTS spark_catalog." + env.srcSchema + " CASCADE",
		"CREATE SCHEMA spark_catalog." + env.schema,
	} {
		if _, err := c.Collect(ctx, connect.SQLCommand(stmt), connect.ExecOptions{}); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	var globs []string
	if t.Sources.Samples {
		globs = append(globs, "spark_catalog."+samples.DefaultSchema+".*")
	}
	if len(t.Sources.Files) > 0 {
		globs = append(globs, "spark_catalog."+env.srcSchema+".*")
	}
	for _, f := range t.Sources.Files {
		spec := sources.Spec{Name: sources.Name{Catalog: "spark_catalog", Schema: env.srcSchema, Table: strings.ToLower(f.Name)},
			Path: s.filePath(f.Path), Format: f.Format, Options: f.Options}
		if _, err := sources.Register(ctx, c, spec, globs); err != nil {
			return nil, fmt.Errorf("register file source %s: %w", f.Name, err)
		}
	}
	policy := fmt.Sprintf("version: 1\nenvironments:\n  sandbox:\n    sources: [%s]\n    target: spark_catalog.%s\n", strings.Join(globs, ", "), env.schema)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o644); err != nil {
		return nil, err
	}
	env.config = filepath.Join(dir, "sdp-mcp.yaml")
	cfg := fmt.Sprintf(`workspace: %s
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: %s
    catalog: spark_catalog
    schema: %s
    storage: file://%s
policy: policy.yaml
`, env.workspace, r.Spark.Port, sparkTokenEnv, env.schema, filepath.Join(env.workspace, "pipeline-storage"))
	return env, os.WriteFile(env.config, []byte(cfg), 0o644)
}

// subst replaces ${src} with the task's source schema.
func (e *taskEnv) subst(s string) string {
	return strings.ReplaceAll(s, "${src}", "spark_catalog."+e.srcSchema)
}

func (r *Runner) runTask(ctx context.Context, c *connect.Client, s *Suite, t Task) (*TaskCard, error) {
	env, err := r.prepare(ctx, c, s, t, filepath.Join(r.Out, t.Name))
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, r.Bin, env.config, env.workspace, filepath.Join(env.dir, "server.log"), r.Spark.Token)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	card := &TaskCard{Task: t.Name, Pipeline: t.Pipeline, Budget: t.Budget, Schema: "spark_catalog." + env.schema, Workspace: env.workspace}

	// The agent, within its time budget.
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, time.Duration(t.Budget.Time))
	defer cancel()
	args := append(append([]string(nil), r.Agent[1:]...), srv.url)
	cmd := exec.CommandContext(actx, r.Agent[0], args...)
	cmd.Env = append(os.Environ(), EnvURL+"="+srv.url, EnvTask+"="+t.Name, EnvGoal+"="+env.subst(t.Goal), EnvPipeline+"="+t.Pipeline)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	logf, err := os.Create(filepath.Join(env.dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	runErr := cmd.Run()
	logf.Close()
	card.AgentSeconds = time.Since(start).Seconds()
	card.AgentTimedOut = actx.Err() != nil && ctx.Err() == nil
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		card.AgentExitCode = exitErr.ExitCode()
	case runErr != nil && !card.AgentTimedOut:
		return nil, fmt.Errorf("run the agent %s: %w", r.Agent[0], runErr)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// Does the pipeline the agent left validate? Asked through the server,
	// as the scorer's own client.
	card.Validates, card.ValidateProblems, err = validatePipeline(ctx, srv.url, t.Pipeline)
	if err != nil {
		return nil, err
	}
	srv.stop()

	for _, e := range t.Expected {
		card.Tables = append(card.Tables, r.scoreTable(ctx, c, env, e))
	}
	calls, err := readCalls(filepath.Join(env.workspace, "audit", "audit.jsonl"), true)
	if err != nil {
		return nil, err
	}
	card.CallStats = callStats(calls, t.Pipeline, start)
	card.Score = float64(matched(card.Tables)) / float64(len(card.Tables))

	fail := func(format string, a ...any) { card.Failures = append(card.Failures, fmt.Sprintf(format, a...)) }
	for _, tr := range card.Tables {
		if !tr.Matched {
			fail("table %s does not match the expected rows", tr.Table)
		}
	}
	if !card.Validates {
		fail("pipeline %s does not validate", t.Pipeline)
	}
	if card.Calls > t.Budget.Calls {
		fail("%d calls, over the budget of %d", card.Calls, t.Budget.Calls)
	}
	if card.AgentTimedOut {
		fail("the agent ran out of its time budget (%s)", time.Duration(t.Budget.Time))
	}
	card.Pass = len(card.Failures) == 0
	return card, nil
}

// scoreTable compares one dataset of the task's schema with its expected
// rows.
func (r *Runner) scoreTable(ctx context.Context, c *connect.Client, env *taskEnv, e Expected) TableResult {
	const maxRows = 100_000
	opts := connect.ExecOptions{MaxBytes: 256 << 20}
	res := TableResult{Table: e.Table, Mode: "exact"}
	want, err := c.Collect(ctx, connect.SQL(env.subst(e.SQL)), opts)
	if err != nil {
		res.Problems = []string{"the expected SQL failed (a suite error): " + firstLine(err)}
		return res
	}
	got, err := c.Collect(ctx, connect.SQL("SELECT * FROM spark_catalog.`"+env.schema+"`.`"+strings.ReplaceAll(e.Table, "`", "")+"`"), opts)
	if err != nil {
		res.ExpectedRows = len(want.Rows)
		if connect.ErrorClassOf(err) == "TABLE_OR_VIEW_NOT_FOUND" {
			res.Problems = []string{"the table does not exist: the pipeline did not create it (declared and run?)"}
		} else {
			res.Problems = []string{"reading the table failed: " + firstLine(err)}
		}
		return res
	}
	if len(want.Rows) > maxRows || len(got.Rows) > maxRows {
		res.Problems = []string{fmt.Sprintf("more than %d rows: too large to compare", maxRows)}
		return res
	}
	return compareTables(e, want, got)
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// validatePipeline calls validate on the task's server.
func validatePipeline(ctx context.Context, url, pipeline string) (bool, []string, error) {
	mc, err := dialMCP(ctx, url, ScorerClient)
	if err != nil {
		return false, nil, err
	}
	defer mc.Close()
	out, toolErr, err := callTool(ctx, mc, "validate", map[string]any{"pipeline": pipeline})
	if err != nil {
		return false, nil, fmt.Errorf("validate %s: %w", pipeline, err)
	}
	if toolErr != "" {
		return false, []string{toolErr}, nil
	}
	ok, _ := out["ok"].(bool)
	var problems []string
	ps, _ := out["problems"].([]any)
	for _, p := range ps {
		if m, _ := p.(map[string]any); m != nil {
			problems = append(problems, fmt.Sprintf("%v: %v", m["code"], m["message"]))
		}
	}
	return ok, problems, nil
}
