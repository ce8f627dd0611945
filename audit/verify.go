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
	var entries []entry
	for i, f := range files {
		es, err := readEntries(f, i)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	rep := &Report{Files: files, Head: Genesis}
	at := func(e entry, kind, format string, args ...any) *Problem {
		return &Problem{File: files[e.file], Line: e.line, Seq: e.seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	where := func(e entry) string { return fmt.Sprintf("%s line %d", filepath.Base(files[e.file]), e.line) }
	// firstAt is where each seq first appears, to tell a reorder from a gap.
	firstAt := make(map[uint64]int, len(entries))
	for i, e := range entries {
		if _, ok := firstAt[e.seq]; e.chained && !ok {
			firstAt[e.seq] = i
		}
	}
	var prevSeq uint64
	prevHash, started := Genesis, false
	seenInFile := -1
	for i, e := range entries {
		switch {
		case e.torn:
			return rep, at(e, Torn, "%d bytes without a line end: a write was cut short (the server was killed mid-write); sdp-mcp serve cuts it when it starts and records the cut", e.size)
		case e.err != nil && started:
			return rep, at(e, Torn, "not a whole chained record (%v): a torn write or an edit", e.err)
		case e.err != nil || !e.chained:
			if started || e.file != 0 {
				return rep, at(e, Altered, "a record without \"seq\" inside the chain")
			}
			rep.Unchained++
			prevHash = e.hash
			continue
		}
		started = true
		want := prevSeq + 1
		switch {
		case e.seq == want && e.prev == prevHash:
		case e.seq == want && i > 0 && entries[i-1].chained:
			return rep, at(entries[i-1], Altered, "seq %d hashes to %s but the next record (%s, seq %d) recorded %s: one of the two was changed", entries[i-1].seq, entries[i-1].hash, where(e), e.seq, e.prev)
		case e.seq == want:
			return rep, at(e, Altered, "seq %d recorded prev %s, but the record before it hashes to %s", e.seq, e.prev, prevHash)
		case e.seq > want:
			if j, ok := firstAt[want]; ok && j > i {
				return rep, at(e, Reordered, "seq %d where seq %d was expected; seq %d comes later, at %s", e.seq, want, want, where(entries[j]))
			}
			hint := ""
			if i > 0 && entries[i-1].file != e.file || i == 0 {
				hint = " (a rotated file may be missing)"
			}
			return rep, at(e, Missing, "records %d to %d are missing before seq %d%s", want, e.seq-1, e.seq, hint)
		default:
			return rep, at(e, Reordered, "seq %d comes after seq %d", e.seq, prevSeq)
		}
		if named[e.file] != 0 && seenInFile != e.file && named[e.file] != e.seq {
			return rep, at(e, Altered, "the file's name says it starts at seq %d but its first record is seq %d", named[e.file], e.seq)
		}
		seenInFile = e.file
		if e.repair >= 0 {
			rep.Repairs = append(rep.Repairs, Repair{File: files[e.file], Line: e.line, Seq: e.seq, CutBytes: e.repair})
		}
		rep.Records++
		prevSeq, prevHash = e.seq, e.hash
	}
	rep.LastSeq, rep.Head = prevSeq, prevHash
	return rep, nil
}

// readEntries reads the lines of one file of the log.
func readEntries(path string, file int) ([]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []entry
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
			out = append(out, e)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the audit log %s: %w", path, err)
		}
	}
}
