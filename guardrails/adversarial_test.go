package guardrails

import (
	"slices"
	"testing"
	"time"

	"github.com/sdp-mcp/sdp-mcp/guardrails/guardtest"
)

// TestAdversarialBodies checks every adversarial shape at the 64 KiB limit:
// the guard answers, the same way twice, within a bound far above its
// measured cost (a few ms at most, see make bench) that still catches any
// cost growing with the square of the body.
func TestAdversarialBodies(t *testing.T) {
	shapes, err := guardtest.Adversarial(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(shapes) < 10 {
		t.Fatalf("only %d adversarial shapes", len(shapes))
	}
	o := opts
	o.MaxBytes = 64 << 10
	bound := 2 * time.Second // generous: -race and a loaded CI machine
	for _, s := range shapes {
		var times []time.Duration
		var first []Finding
		for i := range 3 {
			t0 := time.Now()
			rep := Check(s.Body, o)
			times = append(times, time.Since(t0))
			if HasRule(rep.Findings, RuleInternal) || HasRule(rep.Findings, RuleTooLarge) {
				t.Fatalf("%s: %s", s.Name, Format(rep.Findings))
			}
			if i == 0 {
				first = rep.Findings
			} else if Format(first) != Format(rep.Findings) {
				t.Errorf("%s: check %d differs from the first", s.Name, i+1)
			}
		}
		slices.Sort(times)
		if times[1] > bound {
			t.Errorf("%s (%d bytes): median check %v, over %v", s.Name, len(s.Body), times[1], bound)
		}
		t.Logf("%-20s %6d bytes %3d findings, median %v", s.Name, len(s.Body), len(first), times[1])
	}
}
