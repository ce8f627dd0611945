package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLog writes n call records through a Log rotating at maxBytes and
// returns the active path.
func writeLog(t *testing.T, n int, maxBytes int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := OpenOptions(path, Options{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Write(Record{Tool: fmt.Sprintf("t%d", i+1), Decision: OK, Summary: strings.Repeat("s", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// editLines rewrites the lines of a file with edit.
func editLines(t *testing.T, path string, edit func([]string) []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	out := strings.Join(edit(lines), "\n") + "\n"
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntactLog(t *testing.T) {
	path := writeLog(t, 10, 0)
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if rep.Records != 10 || rep.LastSeq != 10 || rep.Head != hashLine(lines[9]) || len(rep.Files) != 1 {
		t.Errorf("report: %+v", rep)
	}
}

func TestVerifyNamesTheFirstBreak(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]string) []string
		// want: the problem's kind, line and a piece of its detail.
		kind   string
		line   int
		detail string
	}{
		{"missing", func(l []string) []string { return append(l[:4:4], l[5:]...) }, Missing, 5, "records 5 to 5 are missing before seq 6"},
		{"missing tail of the chain start", func(l []string) []string { return l[3:] }, Missing, 1, "records 1 to 3 are missing"},
		{"altered", func(l []string) []string {
			l[3] = strings.Replace(l[3], `"tool":"t4"`, `"tool":"t5"`, 1)
			return l
		}, Altered, 4, "seq 4 hashes to"},
		{"altered seq", func(l []string) []string {
			l[3] = strings.Replace(l[3], `"seq":4,`, `"seq":40,`, 1)
			return l
		}, Missing, 4, "records 4 to 39"},
		{"altered prev", func(l []string) []string {
			l[0] = strings.Replace(l[0], Genesis, strings.Repeat("1", 64), 1)
			return l
		}, Altered, 1, "seq 1 recorded prev 1111"},
		{"reordered", func(l []string) []string {
			l[5], l[6] = l[6], l[5]
			return l
		}, Reordered, 6, "seq 7 where seq 6 was expected; seq 6 comes later, at audit.jsonl line 7"},
		{"duplicated", func(l []string) []string { return append(l, l[2]) }, Reordered, 11, "seq 3 comes after seq 10"},
		{"inserted", func(l []string) []string {
			return append(l[:3:3], append([]string{`{"tool":"forged","decision":"ok"}`}, l[3:]...)...)
		}, Altered, 4, `a record without "seq" inside the chain`},
		{"glued torn record", func(l []string) []string {
			l[7] = l[7][:40] + l[8]
			return append(l[:8], l[9:]...)
		}, Torn, 8, "not a whole chained record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, 10, 0)
			editLines(t, path, tc.edit)
			_, err := Verify(path)
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("Verify: %v, want a problem", err)
			}
			if p.Kind != tc.kind || p.Line != tc.line || p.File != path || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("got %v (kind %s, line %d), want %s at line %d: …%s…", p, p.Kind, p.Line, tc.kind, tc.line, tc.detail)
			}
		})
	}
}

func TestVerifyTornTail(t *testing.T) {
	path := writeLog(t, 3, 0)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"prev":"ab`)
	f.Close()
	_, err := Verify(path)
	var p *Problem
	if !errors.As(err, &p) || p.Kind != Torn || p.Line != 4 || !strings.Contains(p.Detail, "19 bytes without a line end") {
		t.Fatalf("Verify: %v", err)
	}
	// Opening the log cuts it and records the cut; the log then verifies.
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Repairs) != 1 || rep.Repairs[0].Seq != 4 || rep.Repairs[0].CutBytes != 19 || rep.Repairs[0].Line != 4 {
		t.Errorf("repairs: %+v", rep.Repairs)
	}
}

func TestRotationKeepsTheChain(t *testing.T) {
	path := writeLog(t, 100, 4096)
	rot, err := rotatedFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rot) < 3 {
		t.Fatalf("%d rotated files", len(rot))
	}
	if filepath.Base(rot[0].path) != "audit.000000000001.jsonl" {
		t.Errorf("first rotated file %s", rot[0].path)
	}
	for _, r := range append(rot, rotatedFile{path: path}) {
		st, _ := os.Stat(r.path)
		if st.Size() > 4096 || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", r.path, st.Size(), st.Mode().Perm())
		}
	}
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 100 || len(rep.Files) != len(rot)+1 {
		t.Errorf("report: %d records, %d files", rep.Records, len(rep.Files))
	}

	// Reopening continues the chain from the newest rotated file when
	// there is no active one (a crash right after a rotation).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	l, err := OpenOptions(path, Options{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Tool: "after", Decision: OK})
	l.Close()
	rep, err = Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := lastLine(mustOpen(t, rot[len(rot)-1].path), fileSize(t, rot[len(rot)-1].path))
	seq, _, _, _ := parseLink(last)
	if rep.LastSeq != seq+1 {
		t.Errorf("after reopening: last seq %d, want %d", rep.LastSeq, seq+1)
	}

	// A missing rotated file is named as missing records.
	path = writeLog(t, 100, 4096)
	rot, _ = rotatedFiles(path)
	os.Remove(rot[1].path)
	_, err = Verify(path)
	var p *Problem
	if !errors.As(err, &p) || p.Kind != Missing || p.File != rot[2].path || p.Line != 1 ||
		!strings.Contains(p.Detail, fmt.Sprintf("records %d to %d are missing", rot[1].seq, rot[2].seq-1)) ||
		!strings.Contains(p.Detail, "a rotated file may be missing") {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerifyUnchainedPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	old := `{"time":"2026-01-01T00:00:00Z","tool":"a","decision":"ok"}` + "\n" + `{"tool":"b","dec` + "\n"
	os.WriteFile(path, []byte(old), 0o600)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Tool: "c", Decision: OK})
	l.Close()
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchained != 2 || rep.Records != 1 {
		t.Errorf("report %+v", rep)
	}
	// The first chained record is tied to the last unchained one.
	editLines(t, path, func(l []string) []string { l[1] = `{"tool":"B"}`; return l })
	if _, err := Verify(path); err == nil {
		t.Error("an edit of the last unchained record went unnoticed")
	}
}

func TestVerifyNoLog(t *testing.T) {
	if _, err := Verify(filepath.Join(t.TempDir(), "audit.jsonl")); err == nil || !strings.Contains(err.Error(), "no audit log") {
		t.Errorf("Verify of nothing: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
