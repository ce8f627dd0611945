package sqlscan

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// seedQueries are added to the checked-in corpus under testdata/fuzz.
var seedQueries = []string{
	"SELECT * FROM t",
	"SELECT a, b FROM cat.sch.tbl AS x JOIN `o`.`p` y ON x.id = y.id WHERE x.v IN (SELECT v FROM z)",
	"WITH c AS (SELECT 1) SELECT * FROM c, (WITH d AS (SELECT 2) SELECT * FROM d) e",
	"SELECT * FROM STREAM(dev.s.events) WATERMARK ts DELAY OF INTERVAL 1 MINUTE",
	"SELECT * FROM parquet.`/etc/passwd`, text.file:///etc/passwd",
	"SELECT r'\\' , 'it''s', \"q\", X'41', 1.5e3D, .5, 12L",
	"SELECT /* a /* b */ c */ 1 -- x \\\n, 2\n",
	"SELECT /*+ BROADCAST(t) */ * FROM t",
	"SELECT ${env:HOME}, :p, ?",
	"SELECT TRANSFORM(a) USING 'cat' FROM t",
	"SELECT CAST(x AS STRUCT<a: INT, b: ARRAY<MAP<STRING, INT>>>) FROM t",
	"FROM a |> LEFT JOIN b ON a.k = b.k |> WHERE x |> SELECT *",
	"ſet spark.sql.runSQLOnFiles=true",
	"SELECT 1\u00a0FROM t\u2029",
	"SELECT 'unclosed",
	"SELECT `unclosed",
	"/* unclosed",
	"/*+ unclosed",
	"((((SELECT 1))))",
	"SELECT 1) AS x, (SELECT 2",
}

func FuzzTokenize(f *testing.F) {
	for _, s := range seedQueries {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := Tokenize(src)
		checkTokens(t, src, toks, err)
	})
}

func checkTokens(t *testing.T, src string, toks []Token, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if len(toks) == 0 || int(toks[len(toks)-1].End.Offset) != len(src) {
			t.Fatalf("error %v but last token does not reach the end", err)
		}
	}
	prev := int32(0)
	for i, tok := range toks {
		if tok.Start.Offset < prev || tok.End.Offset <= tok.Start.Offset || int(tok.End.Offset) > len(src) {
			t.Fatalf("token %d %q has bad span %d-%d (prev end %d)", i, tok.Text, tok.Start.Offset, tok.End.Offset, prev)
		}
		if src[tok.Start.Offset:tok.End.Offset] != tok.Text {
			t.Fatalf("token %d text %q != source %q", i, tok.Text, src[tok.Start.Offset:tok.End.Offset])
		}
		gap := src[prev:tok.Start.Offset]
		for _, r := range gap {
			if !isSparkSpace(r) {
				t.Fatalf("non-whitespace %q skipped before token %d", r, i)
			}
		}
		if tok.Start.Line < 1 || tok.Start.Col < 1 {
			t.Fatalf("token %d bad position %v", i, tok.Start)
		}
		prev = tok.End.Offset
	}
	for _, r := range src[prev:] {
		if !isSparkSpace(r) {
			t.Fatalf("non-whitespace %q skipped at end", r)
		}
	}
	if utf8.ValidString(src) && len(toks) > 0 {
		last := toks[len(toks)-1]
		if want := strings.Count(src[:last.End.Offset], "\n") + 1; int(last.End.Line) != want {
			t.Fatalf("last token ends on line %d, want %d", last.End.Line, want)
		}
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range seedQueries {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		res, err := Scan(src)
		if res == nil {
			t.Fatal("nil result")
		}
		checkTokens(t, src, res.Tokens, func() error {
			var e *Error
			if errors.As(err, &e) && e.Rule == RuleTooDeep {
				return nil
			}
			return err
		}())
		for _, r := range res.Relations {
			if r.Start.Offset < 0 || int(r.End.Offset) > len(src) || r.End.Offset < r.Start.Offset {
				t.Fatalf("relation %v has bad span", r)
			}
			if len(r.Parts) == 0 && r.Function == "" && !r.Dynamic {
				t.Fatalf("relation without a name: %+v", r)
			}
		}
		for _, fn := range res.Functions {
			if len(fn.Name) == 0 || int(fn.End.Offset) > len(src) {
				t.Fatalf("bad function %+v", fn)
			}
		}
		if err != nil {
			return
		}
		// Invariance: re-joining the tokens with comments between them
		// must not change what is read or called.
		var b strings.Builder
		for _, tok := range res.Tokens {
			b.WriteString(tok.Text)
			b.WriteString(" /**/ ")
		}
		res2, err2 := Scan(b.String())
		if err2 != nil {
			t.Fatalf("re-joined source fails: %v\n%q", err2, b.String())
		}
		if diff := cmp.Diff(rels(res), rels(res2)); diff != "" {
			t.Fatalf("relations change when comments are inserted (-orig +new):\n%s\nsrc %q", diff, src)
		}
		if diff := cmp.Diff(fns(res), fns(res2)); diff != "" {
			t.Fatalf("functions change when comments are inserted (-orig +new):\n%s\nsrc %q", diff, src)
		}
	})
}
