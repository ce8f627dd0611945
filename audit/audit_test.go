package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriteAppendsPrivateJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	recs := []Record{
		{Time: at, Tool: "declare_table", Decision: Allowed, Arguments: json.RawMessage(`{"pipeline":"p"}`)},
		{Time: at, Tool: "declare_table", Decision: OK, Rules: nil, Summary: "declared p.orders", DurationMS: 1.5,
			PipelineHash: "abc", Client: &Client{Name: "c", Version: "1"}, Session: "s1", RequestID: "7"},
	}
	for _, r := range recs {
		if err := l.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines:\n%s", len(lines), data)
	}
	if want := `{"seq":1,"prev":"` + Genesis + `","time":"2026-01-02T02:04:05Z","tool":"declare_table","arguments":{"pipeline":"p"},"decision":"allowed","duration_ms":0}`; lines[0] != want {
		t.Errorf("line 1:\n got %s\nwant %s", lines[0], want)
	}
	want := `{"seq":2,"prev":"` + hashLine([]byte(lines[0])) + `","time":"2026-01-02T02:04:05Z","session_id":"s1","request_id":"7","client":{"name":"c","version":"1"},"tool":"declare_table","decision":"ok","summary":"declared p.orders","duration_ms":1.5,"pipeline_hash":"abc"}`
	if lines[1] != want {
		t.Errorf("line 2:\n got %s\nwant %s", lines[1], want)
	}

	// Reopening appends, and tightens loose permissions.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(Record{Tool: "validate", Decision: Rejected}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	st, _ = os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode after reopen = %v", st.Mode().Perm())
	}
	data, _ = os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 3 {
		t.Errorf("%d lines after reopen", n)
	}
}

func TestTornLastRecordIsCutAndRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Tool: "a", Decision: OK})
	l.Close()
	whole, _ := os.ReadFile(path)
	torn := `{"seq":2,"prev":"0000","tool":"b","dec`
	os.WriteFile(path, append(bytes.Clone(whole), torn...), 0o600)

	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Tool: "c", Decision: OK})
	l.Close()
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, whole) {
		t.Fatalf("the whole records changed:\n%s", data)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want the record, the repair event and the next record:\n%s", data)
	}
	var ev struct {
		Seq    uint64
		Event  string
		Fields map[string]any
	}
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 2 || ev.Event != "audit.repaired" || ev.Fields["cut_bytes"] != float64(len(torn)) ||
		ev.Fields["offset"] != float64(len(whole)) || ev.Fields["cut_start"] != torn {
		t.Errorf("repair event: %s", lines[1])
	}
	if !strings.Contains(lines[2], `"seq":3,`) || !strings.Contains(lines[2], `"tool":"c"`) {
		t.Errorf("next record: %s", lines[2])
	}
	if _, err := Verify(path); err != nil {
		t.Errorf("verify after repair: %v", err)
	}
}

func TestConcurrentWritesStayWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			l.Write(Record{Tool: fmt.Sprintf("t%d", i), Decision: OK, Summary: strings.Repeat("x", 5000)})
		})
	}
	wg.Wait()
	l.Close()
	data, _ := os.ReadFile(path)
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d is not a record: %v", i+1, err)
		}
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Write(Record{Tool: "x"}); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestOpenFailsOnDirectory(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("opening a directory as the log succeeded")
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"pipeline":"p","name":"orders"}`, `{"name":"orders","pipeline":"p"}`},
		{`{"token":"abc","nested":{"api_key":"k","db_password":"p","ok":1}}`,
			`{"nested":{"api_key":"[REDACTED]","db_password":"[REDACTED]","ok":1},"token":"[REDACTED]"}`},
		{`{"q":"sc://h:1/;token=supersecret;use_ssl=true"}`, `{"q":"sc://h:1/;token=[REDACTED];use_ssl=true"}`},
		{`{"q":"Authorization: Bearer abcdefghijklmnop"}`, `{"q":"Authorization: Bearer [REDACTED]"}`},
		{`{"q":"select 'AKIAABCDEFGHIJKLMNOP' as k"}`, `{"q":"select '[REDACTED]' as k"}`},
		{`{"q":"where password = 'hunter2' and x = 1"}`, `{"q":"where password = [REDACTED] and x = 1"}`},
		{`{"q":"s3://user:pa55@bucket/x"}`, `{"q":"s3://user:[REDACTED]@bucket/x"}`},
		{`{"list":["ghp_0123456789abcdefghijklmnopqrstuvwxyz"]}`, `{"list":["[REDACTED]"]}`},
		{`{"n":12345678901234567890}`, `{"n":12345678901234567890}`},
		{`not json token=abc`, `{"unparsed":"not json token=[REDACTED]"}`},
		{``, ``},
	} {
		got := string(Redact(json.RawMessage(tc.in)))
		if got != tc.want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestRedactCapsHugeStrings(t *testing.T) {
	big := strings.Repeat("a", maxString+10)
	out := Redact(json.RawMessage(`{"query":"` + big + `"}`))
	if len(out) > maxString+200 || !bytes.Contains(out, []byte("truncated: 262154 bytes, sha256 ")) {
		t.Errorf("huge string not capped: %d bytes, tail %q", len(out), out[len(out)-100:])
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"tool":"t%d","pad":"%s"}`+"\n", i, strings.Repeat("p", i%50))
	}
	os.WriteFile(path, []byte(b.String()), 0o600)
	for _, n := range []int{0, 1, 3, 4999, 5000, 9000} {
		var out bytes.Buffer
		if err := Tail(path, n, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			lines = nil
		}
		want := min(n, 5000)
		if len(lines) != want {
			t.Errorf("Tail(%d): %d lines", n, len(lines))
			continue
		}
		if want > 0 && !strings.HasPrefix(lines[len(lines)-1], `{"tool":"t4999"`) {
			t.Errorf("Tail(%d): last line %q", n, lines[len(lines)-1])
		}
		if want > 0 && !strings.HasPrefix(lines[0], fmt.Sprintf(`{"tool":"t%d"`, 5000-want)) {
			t.Errorf("Tail(%d): first line %q", n, lines[0])
		}
	}
	if err := Tail(filepath.Join(t.TempDir(), "none"), 3, &bytes.Buffer{}); err == nil {
		t.Error("tail of a missing log succeeded")
	}
}

// TestTwoWritersShareOneChain: two servers on one workspace (two Logs on
// one path) append and rotate in turn without breaking the chain.
func TestTwoWritersShareOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var logs []*Log
	for range 2 {
		l, err := OpenOptions(path, Options{MaxBytes: 8 << 10})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Go(func() {
			for j := range 100 {
				if err := l.Write(Record{Tool: fmt.Sprintf("w%d-%d", i, j), Decision: OK, Summary: strings.Repeat("s", 200)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, l := range logs {
		l.Close()
	}
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 200 || len(rep.Files) < 3 {
		t.Errorf("%d records in %d files", rep.Records, len(rep.Files))
	}
}
