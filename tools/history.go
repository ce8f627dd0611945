package tools

import (
	"github.com/sdp-mcp/sdp-mcp/engine"
	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// recordHistory appends a validation, run or promotion to the pipeline's
// history log (what the web console charts). The state file stays the
// authority for promote, so a history write that fails is logged and the
// call goes on.
func (h *Handler) recordHistory(name, kind string, rec *pipeline.Record, analysed []engine.DatasetInfo) {
	e := pipeline.HistoryEntry{Kind: kind, Record: *rec}
	for _, d := range analysed {
		dc := pipeline.DatasetColumns{Name: d.Name, Columns: []pipeline.ColumnInfo{}}
		for _, c := range d.Columns {
			dc.Columns = append(dc.Columns, pipeline.ColumnInfo{Name: c.Name, Type: c.Type, Nullable: c.Nullable})
		}
		e.Columns = append(e.Columns, dc)
	}
	if kind == pipeline.HistoryValidation && len(e.Datasets) == 0 {
		e.Datasets = validationOutcomes(analysed, rec.Problems)
	}
	if err := pipeline.AppendHistory(h.dir(name), e); err != nil && h.log != nil {
		h.log.Warn("the pipeline history could not be written", "pipeline", name, "err", err)
	}
}

// validationOutcomes gives each analysed dataset the status "ok", or
// "failed" with the first problem's message when a problem names it.
func validationOutcomes(analysed []engine.DatasetInfo, ps pipeline.Problems) []pipeline.Outcome {
	failed := map[string]string{}
	for _, p := range ps {
		if (p.On == "dataset" || p.On == "flow") && p.Name != "" {
			if _, seen := failed[p.Name]; !seen {
				failed[p.Name] = p.Message
			}
		}
	}
	var out []pipeline.Outcome
	seen := map[string]bool{}
	for _, d := range analysed {
		o := pipeline.Outcome{Name: d.Name, Status: "ok"}
		if msg, bad := failed[d.Name]; bad {
			o.Status, o.Message = "failed", msg
		}
		seen[d.Name] = true
		out = append(out, o)
	}
	for _, p := range ps {
		if msg, bad := failed[p.Name]; bad && !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, pipeline.Outcome{Name: p.Name, Status: "failed", Message: msg})
		}
	}
	return out
}
