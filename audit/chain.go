package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Genesis is the "prev" of the first record of a log.
var Genesis = strings.Repeat("0", 64)

// hashLine returns the hex SHA-256 of a record's canonical encoding: its
// line without the terminating "\n".
func hashLine(line []byte) string {
	sum := sha256.Sum256(bytes.TrimSuffix(line, []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// link is the chain part of a stored record.
type link struct {
	Seq  *uint64 `json:"seq"`
	Prev *string `json:"prev"`
}

// parseLink reads seq and prev from a line. chained is false for a line
// that is a JSON object without "seq" (written before the chain existed);
// err is set for a line that is not a JSON object or has a malformed seq
// or prev.
func parseLink(line []byte) (seq uint64, prev string, chained bool, err error) {
	var l link
	if err := json.Unmarshal(line, &l); err != nil {
		return 0, "", false, fmt.Errorf("not a JSON record: %w", err)
	}
	if l.Seq == nil {
		if l.Prev != nil {
			return 0, "", false, fmt.Errorf(`"prev" without "seq"`)
		}
		return 0, "", false, nil
	}
	if *l.Seq == 0 {
		return 0, "", true, fmt.Errorf(`"seq" is 0`)
	}
	if l.Prev == nil || !isHash(*l.Prev) {
		return *l.Seq, "", true, fmt.Errorf(`"prev" is not 64 lower-case hex digits`)
	}
	return *l.Seq, *l.Prev, true, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// rotatedName is the name a file whose first record has seq gets when it
// is rotated: audit.jsonl → audit.000000000001.jsonl.
func rotatedName(active string, seq uint64) string {
	dir, base := filepath.Split(active)
	ext := filepath.Ext(base)
	return filepath.Join(dir, fmt.Sprintf("%s.%012d%s", strings.TrimSuffix(base, ext), seq, ext))
}

// rotatedFile is a rotated file of a log and the seq in its name.
type rotatedFile struct {
	path string
	seq  uint64
}

// rotatedFiles lists the rotated files of the log at active, oldest first.
func rotatedFiles(active string) ([]rotatedFile, error) {
	dir, base := filepath.Split(active)
	ext := filepath.Ext(base)
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSuffix(base, ext)) + `\.([0-9]{12,20})` + regexp.QuoteMeta(ext) + `$`)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []rotatedFile
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, rotatedFile{path: filepath.Join(dir, e.Name()), seq: seq})
	}
	slices.SortFunc(out, func(a, b rotatedFile) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}
