package guardrails

import (
	"strings"

	"github.com/sdp-mcp/sdp-mcp/guardrails/sqlscan"
)

// work is the memory a check reuses from earlier checks: the scanner with its
// token buffers, and the tables that recognise a relation or function seen
// before in the same body. Reusing it keeps a check of a 64 KiB body down to
// a few small allocations, so that garbage collection, whose write barriers
// slow every check that overlaps it, seldom runs because of checks.
type work struct {
	sc      sqlscan.Scanner
	sources map[srcKey]srcSeen // relations met so far in this body
	fns     map[string]bool    // functions met so far: true when the call passed every check
	lower   map[string]string  // function names with upper case, lower-cased; kept across checks
	parens  []int32            // indexes of the open '(' tokens (checkTokens)
}

// srcKey identifies a relation reference by its text, so that the same name
// read twice is qualified and matched once.
type srcKey struct {
	text     string // the name as written in the body
	stream   bool
	function bool
}

// srcSeen is what the first reference with a srcKey gave.
type srcSeen struct {
	ok      bool // the name could be qualified
	allowed bool // an allowed source or a pipeline dataset
	parts   []string
}

// works keeps a few work areas between checks. Unlike a sync.Pool it
// survives garbage collections, which would make the first checks after
// each one regrow their buffers (the p99 of large bodies). One more area,
// big, is kept for bodies with up to 64 Ki tokens (a 64 KiB body of
// one-byte tokens); larger areas are not kept.
var (
	works = make(chan *work, 8)
	big   = make(chan *work, 1)
)

// A work area holding up to maxKeptTokens tokens (2 MiB: a realistic 64
// KiB body has about 15,000) goes back to works, one up to maxBigTokens to
// big; maxKeptNames bounds the name tables.
const (
	maxKeptTokens = 1 << 15
	maxBigTokens  = 1 << 16
	maxKeptNames  = 1 << 14
)

func getWork() *work {
	select {
	case w := <-works:
		return w
	default:
	}
	select {
	case w := <-big:
		return w
	default:
		return &work{sources: map[srcKey]srcSeen{}, fns: map[string]bool{}, lower: map[string]string{}}
	}
}

func putWork(w *work) {
	n := w.sc.TokenCap()
	if n > maxBigTokens || len(w.lower) > maxKeptNames {
		return
	}
	// Maps keep the memory of their largest size: start over after a body
	// with thousands of names. The keys are slices of the body: clear them
	// so that it can be freed.
	if len(w.sources) > maxKeptNames || len(w.fns) > maxKeptNames {
		w.sources, w.fns = map[srcKey]srcSeen{}, map[string]bool{}
	}
	clear(w.sources)
	clear(w.fns)
	w.parens = w.parens[:0]
	pool := works
	if n > maxKeptTokens {
		pool = big
	}
	select {
	case pool <- w:
	default:
	}
}

// lowerName lower-cases a function name without allocating when it is
// already lower case (the common spelling) or was seen before.
func (w *work) lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			if l, ok := w.lower[s]; ok {
				return l
			}
			// The key is copied: the table outlives the body.
			l := strings.ToLower(s)
			w.lower[strings.Clone(s)] = l
			return l
		}
	}
	return s
}
