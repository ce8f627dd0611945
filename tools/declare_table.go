package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const declareTableDescription = `Add a dataset to a pipeline's draft, or replace the dataset of the same name.

A dataset is a materialized_view (recomputed from its query), a streaming_table (appended to by
its own streaming query and/or by flows declared with declare_flow; its query is optional) or a
temporary_view (exists only while the pipeline runs). You give only the SELECT body in "query":
no CREATE, no INSERT, no trailing semicolon. The server writes the SDP definitions itself.
Read sources by the names list_sources shows and other datasets of the pipeline by their bare
name; read a streaming source with STREAM(name).

The pipeline is created on first use. Catalog and schema come from the server's configuration;
names are single lower-case identifiers. Nothing runs on Spark: the declaration is checked
and saved. Use preview to see its rows and validate before run or promote.

Expectations are row checks: on_violation warn keeps and counts bad rows, drop removes them,
fail stops the run.

Example:
{"pipeline": "sales", "name": "daily_totals", "kind": "materialized_view",
 "query": "SELECT order_date, sum(amount) AS total FROM orders_clean GROUP BY order_date",
 "comment": "Revenue per day",
 "expectations": [{"name": "positive_total", "condition": "total >= 0", "on_violation": "fail"}]}`

type expectationInput struct {
	Name        string `json:"name" schema:"pattern=name" desc:"Name of the check, unique within the dataset."`
	Condition   string `json:"condition" schema:"minLength=1;maxLength=4096" desc:"Boolean SQL expression over the dataset's columns; a row passes only when it is TRUE."`
	OnViolation string `json:"on_violation" schema:"enum=warn|drop|fail" desc:"warn keeps and counts failing rows, drop removes them, fail stops the run."`
}

type declareTableInput struct {
	Pipeline        string             `json:"pipeline" schema:"pattern=name" desc:"Pipeline name; the pipeline is created on first use."`
	Name            string             `json:"name" schema:"pattern=name" desc:"Dataset name: one lower-case identifier (catalog and schema come from the server)."`
	Kind            string             `json:"kind" schema:"enum=materialized_view|streaming_table|temporary_view" desc:"What kind of dataset to declare."`
	Query           string             `json:"query,omitempty" schema:"maxLength=1048576" desc:"The SELECT body that computes the dataset, without a trailing semicolon. Required except for a streaming_table fed only by flows."`
	Comment         string             `json:"comment,omitempty" schema:"maxLength=4096" desc:"Description of the dataset."`
	PartitionBy     []string           `json:"partition_by,omitempty" schema:"maxItems=32;unique;item.pattern=column;item.maxLength=128" desc:"Partition columns (not for temporary views)."`
	ClusterBy       []string           `json:"cluster_by,omitempty" schema:"maxItems=32;unique;item.pattern=column;item.maxLength=128" desc:"Clustering columns (not for temporary views)."`
	TableProperties map[string]string  `json:"table_properties,omitempty" schema:"maxProperties=64;keyPattern=property;keyMaxLength=256;item.maxLength=4096" desc:"Table properties (not for temporary views)."`
	Schema          string             `json:"schema,omitempty" schema:"maxLength=4096" desc:"Optional DDL column list the result must match, e.g. \"id BIGINT NOT NULL, name STRING\"."`
	Expectations    []expectationInput `json:"expectations,omitempty" schema:"maxItems=100" desc:"Row-level data quality checks."`
}

type declareTableOutput struct {
	QualifiedName string   `json:"qualified_name" desc:"Where the dataset will be created: catalog.schema.name."`
	Replaced      bool     `json:"replaced" desc:"True when an earlier declaration of the same name was replaced."`
	DependsOn     []string `json:"depends_on" desc:"Datasets of this pipeline the query reads."`
	Sources       []string `json:"sources" desc:"External tables the query reads."`
	Warnings      []string `json:"warnings" desc:"Things to fix before validate succeeds (e.g. a dataset read but not declared yet)."`
	DraftHash     string   `json:"draft_hash" desc:"Hash of the whole draft after this change."`
}

func (h *Handler) declareTableTool() (server.ServerTool, error) {
	return define(h, meta{name: "declare_table", title: "Declare a dataset",
		description: declareTableDescription,
		readOnly:    false, destructive: false, idempotent: true, openWorld: false, bodies: true,
		effect: "the declaration was saved in the draft",
	}, h.declareTable)
}

func (h *Handler) declareTable(ctx context.Context, c *call, in declareTableInput) (*declareTableOutput, error) {
	d := pipeline.Dataset{Name: in.Name, Kind: pipeline.Kind(in.Kind), Query: in.Query, Comment: in.Comment,
		PartitionBy: in.PartitionBy, ClusterBy: in.ClusterBy, TableProperties: in.TableProperties, Schema: in.Schema}
	for _, e := range in.Expectations {
		d.Expectations = append(d.Expectations, pipeline.Expectation{Name: e.Name, Condition: e.Condition,
			OnViolation: pipeline.Action(e.OnViolation)})
	}
	unlock, err := h.lock(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := h.loadOrCreate(in.Pipeline)
	if err != nil {
		return nil, err
	}
	// The guard sees the bodies before anything is saved.
	var ps pipeline.Problems
	if d.Query != "" {
		ps = append(ps, h.guardBody(&c.facts, p, d.Query, queryKind(d.Kind), "dataset", d.Name, "query")...)
	}
	for i, e := range d.Expectations {
		ps = append(ps, h.guardBody(&c.facts, p, e.Condition, BodyCondition, "dataset", d.Name, fmt.Sprintf("expectations[%d].condition", i))...)
	}
	ps = append(ps, h.checkDatasetCap(p, d.Name)...)
	if len(ps) > 0 {
		return nil, ps
	}
	c.facts.kind = in.Kind
	if err := h.applyRules(ctx, c); err != nil {
		return nil, err
	}
	replaced, err := p.PutDataset(d)
	if err != nil {
		return nil, err
	}
	sum, deps, sources, warnings, err := h.declared(c, p, in.Name)
	if err != nil {
		return nil, err
	}
	verb := "declared"
	if replaced {
		verb = "replaced"
	}
	c.Summary = fmt.Sprintf("%s %s %s.%s", verb, in.Kind, in.Pipeline, in.Name)
	return &declareTableOutput{
		QualifiedName: qualified(p.Catalog, p.Database, in.Name),
		Replaced:      replaced,
		DependsOn:     deps,
		Sources:       sources,
		Warnings:      warnings,
		DraftHash:     sum,
	}, nil
}

// loadOrCreate loads a draft, or starts a new one bound to the sandbox.
func (h *Handler) loadOrCreate(name string) (*pipeline.Pipeline, error) {
	ok, err := h.exists(name)
	if err != nil {
		return nil, err
	}
	if ok {
		return h.load(name)
	}
	p := &pipeline.Pipeline{Name: name}
	h.bindSandbox(p)
	return p, nil
}

// graphFacts returns what one element reads and the graph problems about it.
func graphFacts(p *pipeline.Pipeline, name string) (deps, sources, warnings []string) {
	deps, sources, warnings = []string{}, []string{}, []string{}
	el, problems, ok := p.ElementFacts(name)
	if !ok {
		return deps, sources, warnings
	}
	deps = nonNil(el.Upstreams)
	for _, s := range el.Sources {
		sources = append(sources, s.String())
	}
	for _, prob := range problems {
		warnings = append(warnings, prob.String())
	}
	return deps, sources, warnings
}
