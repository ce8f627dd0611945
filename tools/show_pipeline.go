package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

const showPipelineDescription = `Show everything about one pipeline draft: its datasets and flows as declared, what each reads,
the dependency graph as Mermaid, graph problems found without Spark (missing upstreams, cycles),
the SDP project files the server generated from it, and its latest validation, run and
promotion.

The files are a standard SDP project (spark-pipeline.yml plus transformations/*.sql) that
spark-pipelines can run as-is; the storage location is shown as a placeholder because the
server sets it per environment.

Example:
{"pipeline": "sales"}`

type showPipelineInput struct {
	Pipeline string `json:"pipeline" schema:"pattern=name" desc:"Pipeline to show."`
}

type expectationShow struct {
	Name        string `json:"name"`
	Condition   string `json:"condition"`
	OnViolation string `json:"on_violation"`
}

type datasetShow struct {
	Name            string            `json:"name"`
	Kind            string            `json:"kind"`
	QualifiedName   string            `json:"qualified_name"`
	Query           string            `json:"query,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	PartitionBy     []string          `json:"partition_by,omitempty"`
	ClusterBy       []string          `json:"cluster_by,omitempty"`
	TableProperties map[string]string `json:"table_properties,omitempty"`
	Schema          string            `json:"schema,omitempty"`
	Expectations    []expectationShow `json:"expectations"`
	DependsOn       []string          `json:"depends_on"`
	Sources         []string          `json:"sources"`
}

type flowShow struct {
	Name      string   `json:"name"`
	Target    string   `json:"target"`
	Query     string   `json:"query"`
	Comment   string   `json:"comment,omitempty"`
	DependsOn []string `json:"depends_on"`
	Sources   []string `json:"sources"`
}

type fileOutput struct {
	Path    string `json:"path" desc:"Path inside the project folder."`
	Content string `json:"content"`
}

type showPipelineOutput struct {
	Name           string          `json:"name"`
	Catalog        string          `json:"catalog"`
	Schema         string          `json:"schema"`
	DraftHash      string          `json:"draft_hash"`
	Datasets       []datasetShow   `json:"datasets"`
	Flows          []flowShow      `json:"flows"`
	GraphMermaid   string          `json:"graph_mermaid"`
	Problems       []problemOutput `json:"problems" desc:"Graph problems found without Spark; validate finds more."`
	Files          []fileOutput    `json:"files"`
	LastValidation *recordOutput   `json:"last_validation,omitempty"`
	LastRun        *recordOutput   `json:"last_run,omitempty"`
	LastPromotion  *recordOutput   `json:"last_promotion,omitempty"`
}

// storagePlaceholder replaces the storage URI in the files shown: it is
// the server's business and may name local paths.
const storagePlaceholder = "<set by the server for each environment>"

func (h *Handler) showPipelineTool() (server.ServerTool, error) {
	return define(h, meta{name: "show_pipeline", title: "Show a pipeline",
		description: showPipelineDescription,
		readOnly:    true, destructive: false, idempotent: true, openWorld: false,
	}, h.showPipeline)
}

func (h *Handler) showPipeline(ctx context.Context, c *call, in showPipelineInput) (*showPipelineOutput, error) {
	p, st, err := h.loadWithState(ctx, in.Pipeline)
	if err != nil {
		return nil, err
	}
	sum, err := hash(p)
	if err != nil {
		return nil, err
	}
	c.Outcome.PipelineHash = sum
	g := pipeline.BuildGraph(p)
	reads := func(name string) (deps, srcs []string) {
		deps, srcs = []string{}, []string{}
		if el, ok := g.Element(name); ok {
			deps = nonNil(el.Upstreams)
			for _, s := range el.Sources {
				srcs = append(srcs, s.String())
			}
		}
		return deps, srcs
	}
	out := &showPipelineOutput{Name: p.Name, Catalog: p.Catalog, Schema: p.Database, DraftHash: sum,
		Datasets: []datasetShow{}, Flows: []flowShow{}, GraphMermaid: g.Mermaid(),
		Problems: problemsOut(g.Problems()), Files: []fileOutput{},
		LastValidation: recordOut(st.Validation, sum), LastRun: recordOut(st.Run, sum),
		LastPromotion: recordOut(st.Promotion, sum)}
	for _, d := range p.Datasets {
		ds := datasetShow{Name: d.Name, Kind: string(d.Kind), QualifiedName: qualified(p.Catalog, p.Database, d.Name),
			Query: d.Query, Comment: d.Comment, PartitionBy: d.PartitionBy, ClusterBy: d.ClusterBy,
			TableProperties: d.TableProperties, Schema: d.Schema, Expectations: []expectationShow{}}
		for _, e := range d.Expectations {
			ds.Expectations = append(ds.Expectations, expectationShow{Name: e.Name, Condition: e.Condition, OnViolation: string(e.OnViolation)})
		}
		ds.DependsOn, ds.Sources = reads(d.Name)
		out.Datasets = append(out.Datasets, ds)
	}
	for _, f := range p.Flows {
		fs := flowShow{Name: f.Name, Target: f.Target, Query: f.Query, Comment: f.Comment}
		fs.DependsOn, fs.Sources = reads(f.Name)
		out.Flows = append(out.Flows, fs)
	}
	files, err := p.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		content := string(f.Content)
		if f.Path == pipeline.SpecFile && p.Storage != "" {
			content = strings.ReplaceAll(content, p.Storage, storagePlaceholder)
		}
		out.Files = append(out.Files, fileOutput{Path: f.Path, Content: content})
	}
	c.Summary = fmt.Sprintf("showed %s: %d dataset(s), %d flow(s)", p.Name, len(p.Datasets), len(p.Flows))
	return out, nil
}
