package console

import (
	"fmt"
	"net/url"
	"strconv"
)

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// formatMS renders a duration in milliseconds for people.
func formatMS(ms float64) string {
	switch {
	case ms >= 60_000:
		return fmt.Sprintf("%.1f min", ms/60_000)
	case ms >= 1000:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func okClass(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
