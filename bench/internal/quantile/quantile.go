// Package quantile owns the order statistics the benchmark reports print
// over wall times: the median and the nearest-rank 90th percentile.
package quantile

import (
	"math"
	"slices"
)

// Median is the median of xs; NaN when xs is empty.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// P90 is the nearest-rank 90th percentile of xs; NaN when xs is empty.
func P90(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(0.9*float64(len(s))))-1]
}
