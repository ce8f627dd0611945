package console

import (
	"cmp"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/sdp-mcp/sdp-mcp/pipeline"
)

// maxHistoryRows bounds the rows of the history page.
const maxHistoryRows = 300

// historyRow is one validation, run or promotion.
type historyRow struct {
	Pipeline   string
	Kind       string
	Hash       string
	Started    time.Time
	DurationMS float64
	OK         bool
	Problems   []pipeline.Problem
	Datasets   []datasetOutcome
	Passed     int64 // expectation rows passed, over all datasets
	Failed     int64 // expectation rows failed, over all datasets
}

type datasetOutcome struct {
	pipeline.Outcome
	Passed, Failed int64
}

func historyRows(name string, hist []pipeline.HistoryEntry) []historyRow {
	rows := make([]historyRow, 0, len(hist))
	for _, e := range hist {
		row := historyRow{Pipeline: name, Kind: e.Kind, Hash: e.PipelineHash, Started: e.StartedAt,
			DurationMS: float64(e.FinishedAt.Sub(e.StartedAt).Microseconds()) / 1000, OK: e.OK, Problems: e.Problems}
		for _, o := range e.Datasets {
			do := datasetOutcome{Outcome: o}
			for _, x := range o.Expectations {
				do.Passed += x.Passed
				do.Failed += x.Failed
			}
			row.Passed += do.Passed
			row.Failed += do.Failed
			row.Datasets = append(row.Datasets, do)
		}
		rows = append(rows, row)
	}
	return rows
}

type historyPageView struct {
	Pipelines []string
	Pipeline  string
	Kind      string
	Kinds     []string
	Rows      []historyRow
	Chart     *chartView
	Errors    []string
	Total     int
}

func (c *Console) historyPage(r *http.Request) (string, string, any, error) {
	q := r.URL.Query()
	v := historyPageView{Pipeline: q.Get("pipeline"), Kind: q.Get("kind"),
		Kinds: []string{pipeline.HistoryValidation, pipeline.HistoryRun, pipeline.HistoryPromotion}}
	names, err := c.pipelineNames()
	if err != nil {
		return "", "", nil, err
	}
	v.Pipelines = names
	var rows []historyRow
	for _, n := range names {
		if v.Pipeline != "" && n != v.Pipeline {
			continue
		}
		hist, err := pipeline.LoadHistory(filepath.Join(c.d.PipelinesDir, n))
		if err != nil {
			v.Errors = append(v.Errors, fmt.Sprintf("%s: %v", n, err))
		}
		for _, row := range historyRows(n, hist) {
			if v.Kind == "" || row.Kind == v.Kind {
				rows = append(rows, row)
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b historyRow) int { return a.Started.Compare(b.Started) })
	v.Total = len(rows)
	v.Chart = buildChart(rows)
	slices.Reverse(rows)
	if len(rows) > maxHistoryRows {
		rows = rows[:maxHistoryRows]
	}
	v.Rows = rows
	return "history", "Validations, runs and promotions", v, nil
}

// The chart's geometry.
const (
	chartBars   = 40
	chartW      = 720
	chartH      = 160
	chartLeft   = 56
	chartBottom = 22
	chartTop    = 10
)

// chartView is a bar chart of durations, oldest left: one bar per
// validation, run or promotion, coloured by kind, failures marked.
type chartView struct {
	Width, Height int
	Bars          []chartBar
	Ticks         []chartTick
	AxisY         float64
	PlotLeft      int
	PlotRight     int
}

type chartBar struct {
	X, Y, W, H float64
	Kind       string
	OK         bool
	Title      string
}

type chartTick struct {
	Y     float64
	Label string
}

// buildChart charts the last chartBars rows (oldest first); nil without rows.
func buildChart(rows []historyRow) *chartView {
	if len(rows) == 0 {
		return nil
	}
	if len(rows) > chartBars {
		rows = rows[len(rows)-chartBars:]
	}
	peak := 1.0
	for _, r := range rows {
		peak = max(peak, r.DurationMS)
	}
	top := niceCeil(peak)
	plotH := float64(chartH - chartTop - chartBottom)
	plotW := float64(chartW - chartLeft - 8)
	slot := plotW / float64(chartBars)
	cv := &chartView{Width: chartW, Height: chartH, AxisY: float64(chartH - chartBottom),
		PlotLeft: chartLeft, PlotRight: chartW - 8}
	for i := 0; i <= 4; i++ {
		val := top * float64(i) / 4
		cv.Ticks = append(cv.Ticks, chartTick{Y: float64(chartH-chartBottom) - plotH*float64(i)/4, Label: formatMS(val)})
	}
	for i, r := range rows {
		h := max(plotH*r.DurationMS/top, 1)
		status := "ok"
		if !r.OK {
			status = "failed"
		}
		cv.Bars = append(cv.Bars, chartBar{X: float64(chartLeft) + float64(i)*slot + slot*0.15, W: slot * 0.7,
			Y: float64(chartH-chartBottom) - h, H: h, Kind: r.Kind, OK: r.OK,
			Title: fmt.Sprintf("%s %s %s at %s: %s, %s", r.Pipeline, r.Kind, status,
				r.Started.UTC().Format("15:04:05"), formatMS(r.DurationMS), expectationsText(r))})
	}
	return cv
}

func expectationsText(r historyRow) string {
	if r.Passed == 0 && r.Failed == 0 {
		return "no expectation counts"
	}
	return fmt.Sprintf("expectations %d passed, %d failed", r.Passed, r.Failed)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	step := 1.0
	for step*10 <= v {
		step *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if step*m >= v {
			return step * m
		}
	}
	return cmp.Or(v, 1)
}
