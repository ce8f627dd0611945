package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdp-mcp/sdp-mcp/internal/smallfs"
)

// TestFullDiskRollsBack fills a 64 KiB filesystem: every refused write
// leaves the file ending on a whole record, and once space returns the
// log goes on and verifies.
func TestFullDiskRollsBack(t *testing.T) {
	fs := smallfs.Mount(t, 64<<10)
	path := filepath.Join(fs.Dir, "audit", "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ok, refused := 0, 0
	for i := range 200 {
		// Records of varying size, so some fit in the last free bytes.
		err := l.Write(Record{Tool: fmt.Sprintf("t%d", i), Decision: OK, Summary: strings.Repeat("x", 300+(i*97)%2500)})
		if err == nil {
			ok++
			continue
		}
		refused++
		if !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "the record was not kept") {
			t.Fatalf("write %d: %v", i, err)
		}
		data, _ := os.ReadFile(path)
		if len(data) == 0 || data[len(data)-1] != '\n' || bytes.Count(data, []byte("\n")) != ok {
			t.Fatalf("after refusal %d: %d bytes, %d lines, %d records kept; tail %q", refused, len(data), bytes.Count(data, []byte("\n")), ok, data[max(0, len(data)-40):])
		}
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("%d written, %d refused: the disk never filled", ok, refused)
	}
	if _, err := Verify(path); err != nil {
		t.Fatalf("verify on the full disk: %v", err)
	}
	fs.Resize(t, 1<<20)
	for i := range 5 {
		if err := l.Write(Record{Tool: fmt.Sprintf("after%d", i), Decision: OK}); err != nil {
			t.Fatalf("write after space returned: %v", err)
		}
	}
	rep, err := Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != ok+5 {
		t.Errorf("%d records, want %d", rep.Records, ok+5)
	}
	t.Logf("64 KiB filesystem: %d records written, %d refused and rolled back; %d records verify after space returned", ok, refused, rep.Records)
}
