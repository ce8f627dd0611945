package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/sdp-mcp/sdp-mcp/audit"
)

// readCalls returns the outcome records of tool calls in an audit log, in
// order: one per call (the "allowed" record written before a call runs and
// non-call events are left out). With agentOnly, the scorer's own calls are
// left out too.
func readCalls(path string, agentOnly bool) ([]audit.Record, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if r.Event != "" || r.Tool == "" || r.Decision == audit.Allowed {
			continue
		}
		if agentOnly && r.Client != nil && r.Client.Name == ScorerClient {
			continue
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// CallStats is what the audit log says about an agent's calls.
type CallStats struct {
	Calls int `json:"calls"`
	// Decisions counts calls by decision (ok, rejected, denied, failed).
	Decisions map[string]int `json:"decisions"`
	// Rules counts the rule ids of rejected and denied calls.
	Rules map[string]int `json:"rules"`
	// CallsToFirstValidate is the 1-based position of the first validate
	// that found the pipeline valid (0: never).
	CallsToFirstValidate int `json:"calls_to_first_validate"`
	// SecondsToGreen is the time from the agent's start to the end of that
	// validate (0: never).
	SecondsToGreen float64 `json:"seconds_to_green"`
}

func callStats(calls []audit.Record, pipeline string, start time.Time) CallStats {
	st := CallStats{Calls: len(calls), Decisions: map[string]int{}, Rules: map[string]int{}}
	for i, r := range calls {
		st.Decisions[string(r.Decision)]++
		if r.Decision == audit.Rejected || r.Decision == audit.Denied {
			for _, id := range r.Rules {
				st.Rules[id]++
			}
		}
		if st.CallsToFirstValidate == 0 && r.Tool == "validate" && r.Decision == audit.OK && validFor(r, pipeline) {
			st.CallsToFirstValidate = i + 1
			st.SecondsToGreen = r.Time.Sub(start).Seconds()
		}
	}
	return st
}

// validFor reports whether a validate record is about the pipeline and
// found it valid (the tool's summary starts with "valid:").
func validFor(r audit.Record, pipeline string) bool {
	var args struct {
		Pipeline string `json:"pipeline"`
	}
	_ = json.Unmarshal(r.Arguments, &args)
	return args.Pipeline == pipeline && len(r.Summary) >= 6 && r.Summary[:6] == "valid:"
}
