package console

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// nameRE is a pipeline name, as the tools accept it.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// pipelineSummary is one row of the pipelines page.
type pipelineSummary struct {
	Name       string
	Datasets   int
	Flows      int
	Error      string
	Validation *pipeline.Record
	Run        *pipeline.Record
	Promotion  *pipeline.Record
}

// pipelineNames lists the project folders of the workspace, sorted.
func (c *Console) pipelineNames() ([]string, error) {
	entries, err := os.ReadDir(c.d.PipelinesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || !nameRE.MatchString(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.d.PipelinesDir, e.Name(), pipeline.SpecFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (c *Console) pipelinesPage(r *http.Request) (string, string, any, error) {
	names, err := c.pipelineNames()
	if err != nil {
		return "", "", nil, err
	}
	var rows []pipelineSummary
	for _, n := range names {
		row := pipelineSummary{Name: n}
		dir := filepath.Join(c.d.PipelinesDir, n)
		if p, err := pipeline.Load(dir); err != nil {
			row.Error = oneLine(err.Error())
		} else {
			row.Datasets, row.Flows = len(p.Datasets), len(p.Flows)
		}
		if st, err := pipeline.LoadState(dir); err == nil {
			row.Validation, row.Run, row.Promotion = st.Validation, st.Run, st.Promotion
		} else if row.Error == "" {
			row.Error = oneLine(err.Error())
		}
		rows = append(rows, row)
	}
	return "pipelines", "Pipelines", rows, nil
}

// datasetView is one dataset of the pipeline page.
type datasetView struct {
	pipeline.Dataset
	// Columns are the analysed columns of the latest validation that
	// reached the engine, if any.
	Columns []pipeline.ColumnInfo
	// Flows append to it (streaming tables).
	Flows []string
}

type fileView struct {
	Path    string
	Content string
}

type pipelinePageView struct {
	Name       string
	Error      string
	Datasets   []datasetView
	Flows      []pipeline.Flow
	ColumnsOf  *pipeline.HistoryEntry // the validation the columns come from
	Graph      *graphView
	Files      []fileView
	State      *pipeline.State
	History    []historyRow
	Chart      *chartView
	HistoryErr string
}

func (c *Console) pipelinePage(r *http.Request) (string, string, any, error) {
	name := r.PathValue("name")
	names, err := c.pipelineNames()
	if err != nil {
		return "", "", nil, err
	}
	if !nameRE.MatchString(name) || !slices.Contains(names, name) {
		return "", "", nil, notFound(fmt.Sprintf("there is no pipeline %q in this workspace", name))
	}
	dir := filepath.Join(c.d.PipelinesDir, name)
	v := pipelinePageView{Name: name}
	hist, herr := pipeline.LoadHistory(dir)
	if herr != nil {
		v.HistoryErr = herr.Error()
	}
	cols := map[string][]pipeline.ColumnInfo{}
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Kind == pipeline.HistoryValidation && len(hist[i].Columns) > 0 {
			v.ColumnsOf = &hist[i]
			for _, dc := range hist[i].Columns {
				cols[dc.Name] = dc.Columns
			}
			break
		}
	}
	p, err := pipeline.Load(dir)
	if err != nil {
		v.Error = err.Error()
	} else {
		for _, d := range p.Datasets {
			dv := datasetView{Dataset: d, Columns: cols[d.Name]}
			for _, f := range p.FlowsInto(d.Name) {
				dv.Flows = append(dv.Flows, f.Name)
			}
			v.Datasets = append(v.Datasets, dv)
		}
		v.Flows = p.Flows
		v.Graph = layoutGraph(pipeline.BuildGraph(p))
	}
	if st, err := pipeline.LoadState(dir); err == nil {
		v.State = st
	}
	v.Files, err = projectFiles(dir)
	if err != nil {
		return "", "", nil, err
	}
	rows := historyRows(name, hist)
	v.Chart = buildChart(rows)
	slices.Reverse(rows)
	v.History = rows
	return "pipeline", "Pipeline " + name, v, nil
}

// maxFileBytes bounds a file shown on the page.
const maxFileBytes = 256 << 10

// projectFiles reads the spec file and the generated transformations as
// they are on disk.
func projectFiles(dir string) ([]fileView, error) {
	paths := []string{pipeline.SpecFile}
	entries, err := os.ReadDir(filepath.Join(dir, pipeline.TransformationsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			paths = append(paths, pipeline.TransformationsDir+"/"+e.Name())
		}
	}
	var out []fileView
	for _, p := range paths {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			out = append(out, fileView{Path: p, Content: "(could not be read: " + err.Error() + ")"})
			continue
		}
		s := string(data)
		if len(s) > maxFileBytes {
			s = s[:maxFileBytes] + "\n… (cut at 256 KiB)"
		}
		out = append(out, fileView{Path: p, Content: s})
	}
	return out, nil
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
