package engine

import (
	"time"

	"github.com/sdp-mcp/sdp-mcp/connect"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// Source is a table the agent may read, with its columns.
type Source struct {
	// Name is the fully qualified name, catalog.schema.table.
	Name    string           `json:"name"`
	Comment string           `json:"comment,omitempty"`
	Columns []connect.Column `json:"columns,omitempty"`
}

// PreviewRequest names what to preview: a declared dataset, or an ad-hoc
// query body (exactly one of the two).
type PreviewRequest struct {
	Dataset string
	Query   string
	// Limit caps the rows returned (the server builds the Limit).
	Limit int
	// MaxBytes caps the Arrow bytes read; 0 means the engine's default.
	MaxBytes int64
	// Materialized reads the rows a run already wrote to the dataset's
	// table instead of computing them from the declarations. Only for a
	// materialized view or streaming table that the pipeline's state says
	// the last run wrote; the declared (no-run) preview is the default.
	Materialized bool
}

// PreviewResult holds the schema and first rows of a preview.
type PreviewResult struct {
	Columns   []connect.Column
	Rows      [][]any
	Truncated bool // more rows exist than Limit, or MaxBytes stopped it
	Elapsed   time.Duration
	// Materialized is true when the rows were read from the dataset's
	// table (PreviewRequest.Materialized).
	Materialized bool
}

// DatasetInfo describes one dataset after validation.
type DatasetInfo struct {
	Name      string           `json:"name"`
	Kind      pipeline.Kind    `json:"kind"`
	Columns   []connect.Column `json:"columns"`
	DependsOn []string         `json:"depends_on"`
}

// ValidationResult is the outcome of Validate: static checks, engine
// analysis of every dataset and an SDP dry-run of the whole graph.
type ValidationResult struct {
	OK           bool              `json:"ok"`
	PipelineHash string            `json:"pipeline_hash"`
	Datasets     []DatasetInfo     `json:"datasets"`
	Problems     pipeline.Problems `json:"problems"`
	Mermaid      string            `json:"graph_mermaid"`
	// Warnings are risks that do not stop the pipeline from running, such
	// as a Spark limitation the declarations run into.
	Warnings pipeline.Problems `json:"warnings,omitempty"`
	// Checks says which checks ran and what was reused.
	Checks *ValidationChecks `json:"checks,omitempty"`
}

// ValidationChecks says which checks a validation ran.
type ValidationChecks struct {
	// Analyzed and Reused count the parts (dataset and flow queries)
	// analysed afresh and those whose facts an earlier validation
	// established and nothing they depend on changed since.
	Analyzed int `json:"analyzed"`
	Reused   int `json:"reused"`
	// DryRun is the SDP dry-run that ran: "full" (the whole graph),
	// "partial" (the changed elements, unchanged upstreams standing in,
	// after a full one passed), or "reused" (a full one passed for this
	// very draft).
	DryRun string `json:"dry_run"`
	// DryRunElements counts the datasets and flows the dry-run covered.
	DryRunElements int `json:"dry_run_elements"`
	// AnalysisTime and DryRunTime are the wall time of the analysis and
	// of the dry-run (which overlap on a full dry-run), for benchmarks.
	AnalysisTime time.Duration `json:"-"`
	DryRunTime   time.Duration `json:"-"`
}

// RunOptions select what a run refreshes. With no selection every dataset
// is refreshed incrementally.
type RunOptions struct {
	Refresh        []string
	FullRefresh    []string
	FullRefreshAll bool
}

// Progress is one progress report during a run.
type Progress struct {
	Time    time.Time
	Message string
	// Done and Total count finished and known flows when known, else 0.
	Done, Total int
}

// ExpectationResult counts the rows that passed and failed one expectation.
type ExpectationResult struct {
	Name        string          `json:"name"`
	OnViolation pipeline.Action `json:"on_violation"`
	Passed      int64           `json:"passed"`
	Failed      int64           `json:"failed"`
}

// DatasetRun is what a run did to one dataset or flow.
type DatasetRun struct {
	Name         string              `json:"name"`
	Kind         string              `json:"kind"`
	Status       string              `json:"status"` // completed | failed | skipped | excluded
	Expectations []ExpectationResult `json:"expectations,omitempty"`
	// Message explains a failure, or why expectations could not be counted.
	Message string `json:"message,omitempty"`
}

// RunFailure maps a failed run to the dataset or flow that failed.
type RunFailure struct {
	Dataset    string `json:"dataset,omitempty"`
	ErrorClass string `json:"error_class,omitempty"`
	Message    string `json:"message"`
	Hint       string `json:"hint,omitempty"`
}

// RunResult is the outcome of a run.
type RunResult struct {
	OK           bool          `json:"ok"`
	PipelineHash string        `json:"pipeline_hash"`
	Datasets     []DatasetRun  `json:"datasets"`
	Failure      *RunFailure   `json:"failure,omitempty"`
	Duration     time.Duration `json:"duration_ns"`
}
