package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sdp-mcp/sdp-mcp/audit"
	"github.com/sdp-mcp/sdp-mcp/connect"
)

// Replayer re-executes the calls of a recorded session against a fresh
// sandbox workspace and schema.
type Replayer struct {
	Bin   string
	Spark Spark
	// Out is the replay's directory (recreated): workspace, logs, report.
	Out string
	// Policy is the policy file to replay under ("" = the built-in
	// policy). Its sandbox target, if any, is dropped: the replay writes to
	// its own schema.
	Policy string
	// Session, when set, replays only that MCP session's calls.
	Session string
	Log     *slog.Logger
}

// ReplaySchema is where replayed pipelines create their datasets.
const ReplaySchema = "eval_replay"

// Divergence is a call whose replayed outcome differs from the recorded one.
type Divergence struct {
	Call     int    `json:"call"` // 1-based
	Tool     string `json:"tool"`
	Field    string `json:"field"`
	Recorded string `json:"recorded"`
	Replayed string `json:"replayed"`
}

// ReplayReport is the result of a replay.
type ReplayReport struct {
	Source         string   `json:"source"`
	Calls          int      `json:"calls"`
	Sessions       int      `json:"sessions"`
	Schema         string   `json:"schema"`
	PolicyRecorded []string `json:"policy_sha256_recorded,omitempty"`
	PolicyReplayed string   `json:"policy_sha256_replayed,omitempty"`
	// PolicyNote says how the replay's policy was made from the given one.
	PolicyNote  string       `json:"policy_note,omitempty"`
	Seconds     float64      `json:"seconds"`
	Divergences []Divergence `json:"divergences"`
}

// Replay re-executes the agent calls of the audit log at path, in order,
// and compares each outcome (decision, rule ids, summary, pipeline hash)
// with the recorded one.
func (r *Replayer) Replay(ctx context.Context, path string) (*ReplayReport, error) {
	start := time.Now()
	recorded, err := readCalls(path, true)
	if err != nil {
		return nil, err
	}
	if r.Session != "" {
		recorded = slices.DeleteFunc(recorded, func(c audit.Record) bool { return c.Session != r.Session })
	}
	if len(recorded) == 0 {
		return nil, fmt.Errorf("%s holds no agent tool calls to replay%s", path, map[bool]string{true: " for session " + r.Session, false: ""}[r.Session != ""])
	}
	rep := &ReplayReport{Source: path, Calls: len(recorded), Schema: "spark_catalog." + ReplaySchema, Divergences: []Divergence{}}
	sessions := map[string]bool{}
	policies := map[string]bool{}
	for _, c := range recorded {
		sessions[c.Session] = true
		if c.PolicySHA256 != "" && !policies[c.PolicySHA256] {
			policies[c.PolicySHA256] = true
			rep.PolicyRecorded = append(rep.PolicyRecorded, c.PolicySHA256)
		}
	}
	rep.Sessions = len(sessions)

	ws, cfg, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Policy == "":
		rep.PolicyNote = "replayed under the built-in policy"
	default:
		rep.PolicyNote = "replayed under " + r.Policy + " without its sandbox target (the replay writes to " + ReplaySchema + ")"
	}
	srv, err := startServer(ctx, r.Bin, cfg, ws, filepath.Join(r.Out, "server.log"), r.Spark.Token)
	if err != nil {
		return nil, err
	}
	err = replayCalls(ctx, srv.url, recorded)
	srv.stop()
	if err != nil {
		return nil, err
	}
	replayed, err := readCalls(filepath.Join(ws, "audit", "audit.jsonl"), false)
	if err != nil {
		return nil, err
	}
	if len(replayed) > 0 {
		rep.PolicyReplayed = replayed[0].PolicySHA256
	}
	for i, want := range recorded {
		if i >= len(replayed) {
			rep.Divergences = append(rep.Divergences, Divergence{Call: i + 1, Tool: want.Tool, Field: "call", Recorded: string(want.Decision), Replayed: "not recorded"})
			continue
		}
		rep.Divergences = append(rep.Divergences, diff(i+1, want, replayed[i])...)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, writeCard(r.Out, "replay", rep, rep.Markdown())
}

// prepare makes a fresh workspace and schema and writes the configuration.
func (r *Replayer) prepare(ctx context.Context) (ws, cfg string, err error) {
	if err := os.RemoveAll(r.Out); err != nil {
		return "", "", err
	}
	ws = filepath.Join(r.Out, "workspace")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return "", "", err
	}
	c, err := connect.Dial(ctx, r.Spark.url())
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	for _, stmt := range []string{"DROP SCHEMA IF EXISTS spark_catalog." + ReplaySchema + " CASCADE", "CREATE SCHEMA spark_catalog." + ReplaySchema} {
		if _, err := c.Collect(ctx, connect.SQLCommand(stmt), connect.ExecOptions{}); err != nil {
			return "", "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	policyLine := ""
	if r.Policy != "" {
		data, err := os.ReadFile(r.Policy)
		if err != nil {
			return "", "", err
		}
		if data, err = dropSandboxTarget(data); err != nil {
			return "", "", fmt.Errorf("policy %s: %w", r.Policy, err)
		}
		if err := os.WriteFile(filepath.Join(r.Out, "policy.yaml"), data, 0o644); err != nil {
			return "", "", err
		}
		policyLine = "policy: policy.yaml\n"
	}
	cfg = filepath.Join(r.Out, "sdp-mcp.yaml")
	body := fmt.Sprintf(`workspace: %s
environments:
  sandbox:
    url: sc://127.0.0.1:%d/
    token_env: %s
    catalog: spark_catalog
    schema: %s
    storage: file://%s
%s`, ws, r.Spark.Port, sparkTokenEnv, ReplaySchema, filepath.Join(ws, "pipeline-storage"), policyLine)
	return ws, cfg, os.WriteFile(cfg, []byte(body), 0o644)
}

// dropSandboxTarget removes environments.sandbox.target from a policy.
func dropSandboxTarget(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return data, nil
	}
	sandbox := child(child(doc.Content[0], "environments"), "sandbox")
	if sandbox == nil {
		return data, nil
	}
	for i := 0; i+1 < len(sandbox.Content); i += 2 {
		if sandbox.Content[i].Value == "target" {
			sandbox.Content = append(sandbox.Content[:i], sandbox.Content[i+2:]...)
			break
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// replayCalls makes each recorded call, with its recorded arguments, in one
// MCP session.
func replayCalls(ctx context.Context, url string, calls []audit.Record) error {
	mc, err := dialMCP(ctx, url, "sdp-mcp-replay")
	if err != nil {
		return err
	}
	defer mc.Close()
	for i, c := range calls {
		var args map[string]any
		if len(c.Arguments) > 0 {
			if err := json.Unmarshal(c.Arguments, &args); err != nil {
				return fmt.Errorf("call %d (%s): arguments are not a JSON object: %w", i+1, c.Tool, err)
			}
		}
		if _, _, err := callTool(ctx, mc, c.Tool, args); err != nil {
			return fmt.Errorf("call %d (%s): %w", i+1, c.Tool, err)
		}
	}
	return nil
}

// diff compares a recorded outcome with a replayed one.
func diff(n int, want, got audit.Record) []Divergence {
	var out []Divergence
	add := func(field, w, g string) {
		if w != g {
			out = append(out, Divergence{Call: n, Tool: want.Tool, Field: field, Recorded: w, Replayed: g})
		}
	}
	add("tool", want.Tool, got.Tool)
	add("decision", string(want.Decision), string(got.Decision))
	add("rules", strings.Join(want.Rules, ","), strings.Join(got.Rules, ","))
	add("summary", want.Summary, got.Summary)
	add("pipeline_hash", want.PipelineHash, got.PipelineHash)
	return out
}

// Markdown renders the report.
func (r *ReplayReport) Markdown() string {
	var b strings.Builder
	verdictText := "no divergence"
	if len(r.Divergences) > 0 {
		verdictText = fmt.Sprintf("%d divergence(s)", len(r.Divergences))
	}
	fmt.Fprintf(&b, "# Replay of %s: %s\n\n", r.Source, verdictText)
	fmt.Fprintf(&b, "%d call(s) from %d session(s), replayed in order into %s in %.1fs.\n", r.Calls, r.Sessions, r.Schema, r.Seconds)
	if len(r.PolicyRecorded) > 0 && (len(r.PolicyRecorded) > 1 || r.PolicyRecorded[0] != r.PolicyReplayed) {
		fmt.Fprintf(&b, "\nThe policy's hash differs: recorded under %s, replayed under %s.\n", strings.Join(r.PolicyRecorded, ", "), r.PolicyReplayed)
	}
	if r.PolicyNote != "" {
		fmt.Fprintf(&b, "\nPolicy: %s.\n", r.PolicyNote)
	}
	if len(r.Divergences) > 0 {
		b.WriteString("\n| call | tool | field | recorded | replayed |\n|---|---|---|---|---|\n")
		for _, d := range r.Divergences {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", d.Call, d.Tool, d.Field,
				strings.ReplaceAll(d.Recorded, "|", `\|`), strings.ReplaceAll(d.Replayed, "|", `\|`))
		}
	}
	return b.String()
}
