package config

import (
	"fmt"
	"time"
)

// Check reports every limit out of range, under the keys limits.<name>;
// lineOf gives the line of a key in the file that set it (0 if unknown).
func (l *Limits) Check(lineOf func(key string) int) []Problem {
	var ps []Problem
	add := func(name, msg, fix string) {
		key := "limits." + name
		ps = append(ps, Problem{Key: key, Line: lineOf(key), Message: msg, Fix: fix})
	}
	intRange := func(name string, v, lo, hi int64) {
		if v < lo || v > hi {
			add(name, fmt.Sprintf("%d is out of range", v), fmt.Sprintf("use a value from %d to %d", lo, hi))
		}
	}
	durRange := func(name string, d, hi time.Duration) {
		if d < time.Second || d > hi {
			add(name, fmt.Sprintf("%s is out of range", d), "use a duration from 1s to "+hi.String())
		}
	}
	if l.PreviewRowsMax < 1 || l.PreviewRowsMax > MaxPreviewRows {
		intRange("preview_rows_max", int64(l.PreviewRowsMax), 1, MaxPreviewRows)
	} else if l.PreviewRowsDefault < 1 || l.PreviewRowsDefault > l.PreviewRowsMax {
		add("preview_rows_default", fmt.Sprintf("%d is out of range", l.PreviewRowsDefault),
			fmt.Sprintf("use a value from 1 to preview_rows_max (%d)", l.PreviewRowsMax))
	}
	intRange("preview_max_bytes", l.PreviewMaxBytes, 1024, MaxPreviewMaxBytes)
	durRange("call_timeout", l.CallTimeout.D(), MaxCallTimeout)
	durRange("run_timeout", l.RunTimeout.D(), MaxRunTimeout)
	intRange("calls_per_minute", int64(l.CallsPerMinute), 1, MaxCallsPerMinute)
	intRange("max_concurrent_spark_operations", int64(l.MaxConcurrentSparkOperations), 1, MaxSparkOperations)
	intRange("max_query_bytes", int64(l.MaxQueryBytes), 1024, MaxQueryBytes)
	intRange("max_datasets_per_pipeline", int64(l.MaxDatasetsPerPipeline), 1, MaxDatasets)
	return ps
}
