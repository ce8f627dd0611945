package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Problem kinds, the first word of a verification failure.
const (
	Missing   = "missing"   // records absent from the chain (a gap in seq)
	Altered   = "altered"   // a record whose bytes no longer match the chain
	Reordered = "reordered" // a record out of its place in the chain
	Torn      = "torn"      // a record cut short or not a whole JSON record
)

// Problem is the first break in a log's chain: where it is and what it is.
type Problem struct {
	// File and Line locate the record (Line counts from 1).
	File string
	Line int
	// Seq is the record's seq, if it has one.
	Seq uint64
	// Kind is Missing, Altered, Reordered or Torn.
	Kind string
	// Detail says what was found.
	Detail string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s line %d: %s: %s", p.File, p.Line, p.Kind, p.Detail)
}

// Report describes a log that verified.
type Report struct {
	// Files are the files checked, oldest first.
	Files []string
	// Records is the number of chained records; Unchained the number of
	// records before the chain (written before it existed).
	Records, Unchained int
	// LastSeq and Head are the seq and hash of the last record: kept
	// elsewhere, they anchor the log.
	LastSeq uint64
	Head    string
	// Repairs are the torn tails cut at startup ("audit.repaired" events).
	Repairs []Repair
}

// Repair is one "audit.repaired" event found in the log.
type Repair struct {
	File     string
	Line     int
	Seq      uint64
	CutBytes int64
}

// entry is one line of a log, read for verification.
type entry struct {
	file    int
	line    int
	seq     uint64
	prev    string
	hash    string
	chained bool
	err     error // not a chained record nor an unchained JSON object
	torn    bool  // no line end
	size    int   // bytes of a torn line
	repair  int64 // cut_bytes of an audit.repaired event, or -1
}

// Verify checks the log at path (the active file) and its rotated files:
// every line is a whole JSON record, seqs run from 1 without a gap, and
// each "prev" is the hash of the record before it, across files. It
// returns the first break as a *Problem.
func Verify(path string) (*Report, error) {
	// A shared lock: no server appends or rotates while the files are read.
	if lock, err := os.Open(path + ".lock"); err == nil {
		defer lock.Close()
		if err := lockFile(lock, false); err == nil {
			defer unlockFile(lock)
		}
	}
	rot, err := rotatedFiles(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log directory: %w", err)
	}
	var files []string
	var named []uint64
	for _, r := range rot {
		files, named = append(files, r.path), append(named, r.seq)
	}
	if _, err := os.Stat(path); err == nil {
		files, named = append(files, path), append(named, 0)
	} else if len(files) == 0 {
		return nil, fmt.Errorf("no audit log at %s (%w)", path, err)
	}
	rep := &Report{Files: files, Head: Genesis}
	at := func(e entry, kind, format string, args ...any) *Problem {
		return &Problem{File: files[e.file], Line: e.line, Seq: e.seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	where := func(e entry) string { return fmt.Sprintf("%s line %d", filepath.Base(files[e.file]), e.line) }
	var (
		prev     entry // the previous line (seq 0 before the first)
		prevHash = Genesis
		started  bool
		problem  *Problem
	)
	err = scanEntries(files, 0, func(e entry) bool {
		problem = func() *Problem {
			switch {
			case e.torn:
				return at(e, Torn, "%d bytes without a line end: a write was cut short (the server was killed mid-write); sdp-mcp serve cuts it when it starts and records the cut", e.size)
			case e.err != nil && started:
				return at(e, Torn, "not a whole chained record (%v): a torn write or an edit", e.err)
			case e.err != nil || !e.chained:
				if started || e.file != 0 {
					return at(e, Altered, "a record without \"seq\" inside the chain")
				}
				rep.Unchained++
				prevHash = e.hash
				return nil
			}
			want := prev.seq + 1
			switch {
			case e.seq == want && e.prev == prevHash:
			case e.seq == want && started:
				return at(prev, Altered, "seq %d hashes to %s but the next record (%s, seq %d) recorded %s: one of the two was changed", prev.seq, prev.hash, where(e), e.seq, e.prev)
			case e.seq == want:
				return at(e, Altered, "seq %d recorded prev %s, but the record before it hashes to %s", e.seq, e.prev, prevHash)
			case e.seq > want:
				if later, ok := findSeq(files, e, want); ok {
					return at(e, Reordered, "seq %d where seq %d was expected; seq %d comes later, at %s", e.seq, want, want, where(later))
				}
				hint := ""
				if !started || prev.file != e.file {
					hint = " (a rotated file may be missing)"
				}
				return at(e, Missing, "records %d to %d are missing before seq %d%s", want, e.seq-1, e.seq, hint)
			default:
				return at(e, Reordered, "seq %d comes after seq %d", e.seq, prev.seq)
			}
			if named[e.file] != 0 && (!started || prev.file != e.file) && named[e.file] != e.seq {
				return at(e, Altered, "the file's name says it starts at seq %d but its first record is seq %d", named[e.file], e.seq)
			}
			if e.repair >= 0 {
				rep.Repairs = append(rep.Repairs, Repair{File: files[e.file], Line: e.line, Seq: e.seq, CutBytes: e.repair})
			}
			started = true
			rep.Records++
			prev, prevHash = e, e.hash
			return nil
		}()
		return problem == nil
	})
	if err != nil {
		return nil, err
	}
	if problem != nil {
		return rep, problem
	}
	rep.LastSeq, rep.Head = prev.seq, prevHash
	return rep, nil
}

// findSeq looks for a chained record with seq after e (from e's file on).
func findSeq(files []string, e entry, seq uint64) (entry, bool) {
	var found entry
	ok := false
	_ = scanEntries(files, e.file, func(x entry) bool {
		if x.chained && x.seq == seq && (x.file > e.file || x.line > e.line) {
			found, ok = x, true
		}
		return !ok
	})
	return found, ok
}

// scanEntries calls fn for each line of files[from:], in order, until fn
// returns false.
func scanEntries(files []string, from int, fn func(entry) bool) error {
	for i := from; i < len(files); i++ {
		more, err := scanFile(files[i], i, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// scanFile calls fn for each line of one file of the log; more is false
// when fn stopped the scan.
func scanFile(path string, file int, fn func(entry) bool) (more bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			e := entry{file: file, line: n, repair: -1}
			if line[len(line)-1] != '\n' {
				e.torn, e.size = true, len(line)
			} else {
				line = line[:len(line)-1]
				e.hash = hashLine(line)
				e.seq, e.prev, e.chained, e.err = parseLink(line)
				if e.err == nil && e.chained && bytes.Contains(line, []byte(`"event":"audit.repaired"`)) {
					var ev struct {
						Fields struct {
							CutBytes int64 `json:"cut_bytes"`
						} `json:"fields"`
					}
					if json.Unmarshal(line, &ev) == nil {
						e.repair = ev.Fields.CutBytes
					}
				}
			}
			if !fn(e) {
				return false, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading the audit log %s: %w", path, err)
		}
	}
}
