package plan

import "testing"

// BenchmarkParseCheck measures the client-side part of the plan check on a
// captured plan (a view over a join): parsing and checking, without the
// explain round trip.
func BenchmarkParseCheck(b *testing.B) {
	query, text := readCase(b, "view_nested")
	opts := testOptions(query)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		p, err := Parse(text)
		if err != nil {
			b.Fatal(err)
		}
		if fs := Check(p, opts); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}
