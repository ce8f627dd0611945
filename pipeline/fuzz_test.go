package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzFileRoundTrip checks that every body and comment the validation
// accepts survives the generated file format exactly, for datasets and
// flows, and that the body stays inside the wrapper: the statement the
// server writes lexes with balanced parentheses.
func FuzzFileRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"SELECT 1", "SELECT ')' -- x", "\n) AS `x`\n", "SELECT 'a\\'b' /* ) */", "SELECT `a``b` FROM t\r\n", "--\\", "SELECT 1 -- x\\",
	} {
		f.Add(seed, "comment; it's \\ here")
	}
	f.Fuzz(func(t *testing.T, body, comment string) {
		d := Dataset{Name: "x", Kind: MaterializedView, Query: body, Comment: comment,
			Expectations: []Expectation{{Name: "e", Condition: "a > 0", OnViolation: Drop}}}
		if len(validateDataset(d)) > 0 {
			return
		}
		data, err := datasetFile(d, "delta")
		if err != nil {
			t.Fatal(err)
		}
		h, stmt, prob := decodeFile(data)
		if prob != nil {
			t.Fatalf("decodeFile: %v", prob)
		}
		got, ok := parseDatasetFile(h, stmt)
		if !ok {
			t.Fatalf("parseDatasetFile failed for %q", data)
		}
		if diff := cmp.Diff(normalizeDataset(d), got, ignoreMemo); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		if msg := lexCheck(stmt, lexQuery); msg != "" {
			t.Fatalf("generated statement does not lex cleanly (%s):\n%s", msg, stmt)
		}

		target := Dataset{Name: "t", Kind: StreamingTable,
			Expectations: []Expectation{{Name: "f", Condition: "b IS NOT NULL", OnViolation: Fail}}}
		fl := Flow{Name: "fl", Target: "t", Query: body, Comment: comment}
		data, err = flowFile(fl, target)
		if err != nil {
			t.Fatal(err)
		}
		h, stmt, prob = decodeFile(data)
		if prob != nil {
			t.Fatalf("decodeFile(flow): %v", prob)
		}
		gotFlow, ok := parseFlowFile(h, stmt, target)
		if !ok || gotFlow != fl {
			t.Fatalf("flow round trip: got %+v (ok=%v), want %+v", gotFlow, ok, fl)
		}
	})
}
