package pipeline

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// read is one relation a body reads, with the spans the rewriters need.
type read struct {
	parts    []string // name parts, unquoted, as written; empty for a TVF
	function string   // TVF name, when the relation is a table-valued function
	path     bool     // a path-based read such as parquet.`/data`
	dynamic  bool     // a name computed by IDENTIFIER(...)
	stream   bool     // read with STREAM(name) or STREAM name
	// nameStart and nameEnd are the byte offsets of the name in the body.
	nameStart, nameEnd int
	// exprStart and exprEnd span the whole read: STREAM(name), STREAM name,
	// or just the name.
	exprStart, exprEnd int
}

// scanReads lists the relations body reads, CTE names resolved away.
func scanReads(body string) ([]read, error) {
	res, err := sqlscan.Scan(body)
	if err != nil {
		return nil, err
	}
	var sig []sqlscan.Token
	for _, t := range res.Tokens {
		if t.Kind != sqlscan.Comment && t.Kind != sqlscan.Hint {
			sig = append(sig, t)
		}
	}
	reads := make([]read, 0, len(res.Relations))
	for _, rel := range res.Relations {
		r := read{parts: rel.Parts, function: rel.Function, path: rel.Path, dynamic: rel.Dynamic, stream: rel.Stream,
			nameStart: int(rel.Start.Offset), nameEnd: int(rel.End.Offset)}
		r.exprStart, r.exprEnd = r.nameStart, r.nameEnd
		if r.stream {
			start, end, ok := streamSpan(sig, r.nameStart, r.nameEnd)
			if !ok {
				return nil, fmt.Errorf("locating the STREAM keyword around %q at offset %d", body[r.nameStart:r.nameEnd], r.nameStart)
			}
			r.exprStart, r.exprEnd = start, end
		}
		reads = append(reads, r)
	}
	return reads, nil
}

// streamSpan finds "STREAM ( name )" or "STREAM name" around the name at
// [start, end) among the significant tokens, comments skipped.
func streamSpan(sig []sqlscan.Token, start, end int) (int, int, bool) {
	first, last := -1, -1
	for i, t := range sig {
		if int(t.Start.Offset) == start {
			first = i
		}
		if int(t.End.Offset) == end {
			last = i
		}
	}
	if first < 1 || last < first {
		return 0, 0, false
	}
	isStream := func(t sqlscan.Token) bool {
		return t.Kind == sqlscan.Keyword && strings.ToUpper(t.Text) == "STREAM"
	}
	prev := sig[first-1]
	switch {
	case isStream(prev):
		return int(prev.Start.Offset), end, true
	case prev.Kind == sqlscan.Punct && prev.Text == "(" && first >= 2 && isStream(sig[first-2]) &&
		last+1 < len(sig) && sig[last+1].Kind == sqlscan.Punct && sig[last+1].Text == ")":
		return int(sig[first-2].Start.Offset), int(sig[last+1].End.Offset), true
	}
	return 0, 0, false
}

// scanMemo remembers scanReads' answers by body. It is safe for concurrent
// use; a nil memo scans every time. Answers are shared: callers must not
// change them.
type scanMemo struct {
	mu      sync.Mutex
	max     int
	m       map[string]scanAnswer
	encoded map[string]encodedDataset // by dataset name, for Hash
}

type scanAnswer struct {
	reads []read
	err   error
}

func newScanMemo(max int) *scanMemo {
	return &scanMemo{max: max, m: map[string]scanAnswer{}}
}

// reads is scanReads(body), from the memo when it has it.
func (m *scanMemo) reads(body string) ([]read, error) {
	if m == nil {
		return scanReads(body)
	}
	m.mu.Lock()
	a, ok := m.m[body]
	m.mu.Unlock()
	if ok {
		return a.reads, a.err
	}
	reads, err := scanReads(body)
	m.mu.Lock()
	if len(m.m) >= m.max {
		clear(m.m) // bodies of replaced declarations pile up: start afresh
	}
	m.m[body] = scanAnswer{reads, err}
	m.mu.Unlock()
	return reads, err
}
