package eval

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TaskCard is the score of one task.
type TaskCard struct {
	Task     string `json:"task"`
	Pipeline string `json:"pipeline"`
	Pass     bool   `json:"pass"`
	// Failures say why the task did not pass.
	Failures []string `json:"failures,omitempty"`
	// Score is the fraction of expected tables matched.
	Score            float64       `json:"score"`
	Tables           []TableResult `json:"tables"`
	Validates        bool          `json:"validates"`
	ValidateProblems []string      `json:"validate_problems,omitempty"`
	CallStats
	AgentSeconds  float64 `json:"agent_seconds"`
	AgentExitCode int     `json:"agent_exit_code"`
	AgentTimedOut bool    `json:"agent_timed_out"`
	Budget        Budget  `json:"budget"`
	// Schema is where the task's datasets are; Workspace holds its drafts,
	// audit log, server and agent logs.
	Schema    string `json:"schema"`
	Workspace string `json:"workspace"`
}

// SuiteCard is the score of a suite run.
type SuiteCard struct {
	Suite     string     `json:"suite"`
	Agent     string     `json:"agent"`
	Started   time.Time  `json:"started"`
	Seconds   float64    `json:"seconds"`
	Passed    int        `json:"passed"`
	Total     int        `json:"total"`
	Isolation string     `json:"isolation"`
	Tasks     []TaskCard `json:"tasks"`
}

// isolation says what "fresh" means for a task (see the package doc).
const isolation = "per task: a new workspace (drafts, audit log, pipeline storage), a new server process and MCP session, " +
	"a policy allowing only the task's sources, and a schema eval_<task> dropped and recreated before the task; " +
	"shared by the run: one sandbox Spark server and the read-only sample tables"

func writeCard(dir, name string, v any, md string) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func verdict(b bool) string {
	if b {
		return "PASS"
	}
	return "FAIL"
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func matched(ts []TableResult) int {
	n := 0
	for _, t := range ts {
		if t.Matched {
			n++
		}
	}
	return n
}

func green(c CallStats) (string, string) {
	if c.CallsToFirstValidate == 0 {
		return "never", "never"
	}
	return fmt.Sprint(c.CallsToFirstValidate), fmt.Sprintf("%.1fs", c.SecondsToGreen)
}

// Markdown renders the task's scorecard.
func (c *TaskCard) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Task %s: %s\n\n", c.Task, verdict(c.Pass))
	for _, f := range c.Failures {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	if len(c.Failures) > 0 {
		b.WriteString("\n")
	}
	toValidate, toGreen := green(c.CallStats)
	b.WriteString("| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| expected tables matched | %d/%d |\n", matched(c.Tables), len(c.Tables))
	fmt.Fprintf(&b, "| pipeline `%s` validates | %s |\n", c.Pipeline, yesNo(c.Validates))
	fmt.Fprintf(&b, "| calls (budget %d) | %d: %s |\n", c.Budget.Calls, c.Calls, counts(c.Decisions))
	fmt.Fprintf(&b, "| rejections and denials by rule | %s |\n", counts(c.Rules))
	fmt.Fprintf(&b, "| calls until the first successful validate | %s |\n", toValidate)
	fmt.Fprintf(&b, "| time to green (first successful validate) | %s |\n", toGreen)
	fmt.Fprintf(&b, "| agent time (budget %s) | %.1fs, exit code %d%s |\n", time.Duration(c.Budget.Time), c.AgentSeconds, c.AgentExitCode,
		map[bool]string{true: ", timed out", false: ""}[c.AgentTimedOut])
	b.WriteString("\n| table | compared | rows expected / actual | matched | differences |\n|---|---|---|---|---|\n")
	for _, t := range c.Tables {
		fmt.Fprintf(&b, "| `%s` | %s | %d / %d | %s | %s |\n", t.Table, t.Mode, t.ExpectedRows, t.ActualRows, yesNo(t.Matched),
			strings.ReplaceAll(strings.Join(t.Problems, "; "), "|", `\|`))
	}
	for _, p := range c.ValidateProblems {
		fmt.Fprintf(&b, "\nvalidate: %s\n", p)
	}
	return b.String()
}

// Markdown renders the suite's scorecard.
func (s *SuiteCard) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Suite %s: %d/%d tasks passed\n\n", s.Suite, s.Passed, s.Total)
	fmt.Fprintf(&b, "Agent `%s`, started %s, %.0fs.\n\n", s.Agent, s.Started.UTC().Format(time.RFC3339), s.Seconds)
	b.WriteString("| task | result | tables | validates | calls | rejected/denied by rule | calls to first valid | time to green | agent time |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range s.Tasks {
		toValidate, toGreen := green(c.CallStats)
		fmt.Fprintf(&b, "| %s | %s | %d/%d | %s | %d/%d | %s | %s | %s | %.1fs |\n", c.Task, verdict(c.Pass),
			matched(c.Tables), len(c.Tables), yesNo(c.Validates), c.Calls, c.Budget.Calls, counts(c.Rules), toValidate, toGreen, c.AgentSeconds)
	}
	fmt.Fprintf(&b, "\nIsolation: %s.\n", s.Isolation)
	return b.String()
}
