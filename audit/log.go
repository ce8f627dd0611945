package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// DefaultMaxBytes is the size at which the active file is rotated when
// [Options.MaxBytes] is 0.
const DefaultMaxBytes = 64 << 20

// Options tune a log.
type Options struct {
	// MaxBytes is the size past which the active file is rotated before
	// the next record (0: DefaultMaxBytes). A record larger than MaxBytes
	// still goes whole into a file of its own.
	MaxBytes int64
}

// Log is an open audit log. It is safe for concurrent use, also by
// several processes: each append holds an advisory lock on <path>.lock and
// first catches up with what others appended or rotated.
type Log struct {
	mu   sync.Mutex
	path string
	max  int64
	lock *os.File
	f    *os.File
	// size is the length of the active file's whole records. stale says
	// the file may differ from what this Log knows (a failed append could
	// not be cut back): it is read again before the next record.
	size  int64
	stale bool
	// seq and head are the seq and hash of the last record of the log.
	seq  uint64
	head string
	// firstSeq is the seq of the active file's first chained record (0:
	// none yet), the name it gets when rotated.
	firstSeq uint64
	// pending are repair events not yet written (the disk was full);
	// they go before the next record.
	pending []Record
}

// Open opens (creating it and its directory if needed) the log at path
// with the default options.
func Open(path string) (*Log, error) { return OpenOptions(path, Options{}) }

// OpenOptions opens (creating it and its directory if needed) the log at
// path for appending. The file is made private (0600) if it was not. A torn
// last line (the process was killed mid-write) is cut and an
// "audit.repaired" event appended; if that event cannot be written yet (a
// full disk) it is written before the next record.
func OpenOptions(path string, o Options) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log directory: %w", err)
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log's lock file: %w", err)
	}
	if err := lockFile(lock, true); err != nil {
		lock.Close()
		return nil, fmt.Errorf("locking the audit log: %w", err)
	}
	defer unlockFile(lock)
	f, err := openActive(path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	l := &Log{path: path, max: o.MaxBytes, lock: lock, f: f, head: Genesis}
	if l.max <= 0 {
		l.max = DefaultMaxBytes
	}
	if err := l.load(); err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	_ = l.flushPending() // else retried before the next record
	return l, nil
}

// openActive opens the active file for appending and checks it.
func openActive(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("opening the audit log: not a regular file")
	}
	if st.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("making the audit log private: %w", err)
		}
	}
	return f, nil
}

// load finds the end of the chain, cutting a torn tail; the event that
// records a cut is queued in pending. Until it succeeds the Log is stale.
func (l *Log) load() error {
	l.stale = true
	if err := l.loadChain(); err != nil {
		return err
	}
	l.stale = false
	return nil
}

func (l *Log) loadChain() error {
	l.seq, l.head, l.firstSeq, l.size = 0, Genesis, 0, 0
	repair, err := l.cutTornTail()
	if err != nil {
		return err
	}
	if repair != nil {
		l.pending = append(l.pending, *repair)
	}
	whole := l.size
	if whole == 0 {
		return l.loadFromRotated()
	}
	first, err := firstChained(l.f, whole)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	line, err := lastLine(l.f, whole)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	seq, _, chained, perr := parseLink(line)
	switch {
	case chained && perr == nil:
		l.seq, l.head, l.firstSeq = seq, hashLine(line), first
	case first == 0:
		// Only records written before the chain existed: the chain
		// starts after them.
		if rot, err := rotatedFiles(l.path); err != nil || len(rot) > 0 {
			return fmt.Errorf("the audit log %s has unchained records after rotated files: run sdp-mcp audit verify, then move the log aside to start a new one", l.path)
		}
		l.seq, l.head = 0, hashLine(line)
	default:
		return fmt.Errorf("the last record of the audit log %s is not a chained record (%v): run sdp-mcp audit verify, then move the log aside to start a new one", l.path, perr)
	}
	return nil
}

// cutTornTail cuts the bytes after the active file's last line end and
// returns the event that records it, and sets size.
func (l *Log) cutTornTail() (*Record, error) {
	st, err := l.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	size := st.Size()
	nl, err := lastIndexByte(l.f, size, '\n')
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	whole := nl + 1
	var repair *Record
	if whole < size {
		n := size - whole
		start := make([]byte, min(n, 120))
		if _, err := l.f.ReadAt(start, whole); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(l.f, whole, n)); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		if err := l.f.Truncate(whole); err != nil {
			return nil, fmt.Errorf("cutting the torn last record of the audit log %s: %w", l.path, err)
		}
		if err := l.f.Sync(); err != nil {
			return nil, fmt.Errorf("cutting the torn last record of the audit log %s: %w", l.path, err)
		}
		r, err := eventRecord(Record{}, "audit.repaired", map[string]any{
			"reason":     "torn last record (the server stopped mid-write)",
			"file":       filepath.Base(l.path),
			"offset":     whole,
			"cut_bytes":  n,
			"cut_sha256": hex.EncodeToString(h.Sum(nil)),
			"cut_start":  strings.ToValidUTF8(string(start), "?"),
		})
		if err != nil {
			return nil, err
		}
		repair = &r
	}
	l.size = whole
	return repair, nil
}

// loadFromRotated continues the chain from the newest rotated file when
// the active file is empty (just rotated, or a new log).
func (l *Log) loadFromRotated() error {
	rot, err := rotatedFiles(l.path)
	if err != nil {
		return fmt.Errorf("reading the audit log directory: %w", err)
	}
	if len(rot) == 0 {
		return nil
	}
	last := rot[len(rot)-1].path
	f, err := os.Open(last)
	if err != nil {
		return fmt.Errorf("reading the rotated audit log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the rotated audit log: %w", err)
	}
	line, err := lastLine(f, st.Size())
	if err != nil {
		return fmt.Errorf("reading the rotated audit log: %w", err)
	}
	seq, _, chained, perr := parseLink(line)
	if !chained || perr != nil {
		return fmt.Errorf("the last record of the rotated audit log %s is not a chained record: run sdp-mcp audit verify", last)
	}
	l.seq, l.head = seq, hashLine(line)
	return nil
}

// ErrWrite is wrapped by every error of [Log.Write]: the record is not in
// the log (a full disk, an I/O error, a log that cannot be read back).
var ErrWrite = errors.New("audit record not written")

// Write appends r as one line and syncs it to disk, after setting its
// Seq and Prev. On any failure the file is cut back to its last whole
// record and an error wrapping [ErrWrite] returned: the record is not in
// the log.
func (l *Log) Write(r Record) error {
	if err := l.write(r); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

func (l *Log) write(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("writing the audit log: closed")
	}
	if err := lockFile(l.lock, true); err != nil {
		return fmt.Errorf("locking the audit log: %w", err)
	}
	defer unlockFile(l.lock)
	if err := l.catchUp(); err != nil {
		return err
	}
	if err := l.flushPending(); err != nil {
		return err
	}
	return l.append(r)
}

// catchUp reads the end of the chain again when another process (or a
// failed append of this one) changed the log since this Log last wrote.
func (l *Log) catchUp() error {
	cur, err := os.Stat(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	st, ferr := l.f.Stat()
	if ferr != nil {
		return fmt.Errorf("reading the audit log: %w", ferr)
	}
	if !l.stale && cur != nil && os.SameFile(cur, st) && st.Size() == l.size {
		return nil
	}
	if cur == nil || !os.SameFile(cur, st) {
		// Rotated by another process: the active file is a new one.
		f, err := openActive(l.path)
		if err != nil {
			return err
		}
		l.f.Close()
		l.f = f
	}
	return l.load()
}

func (l *Log) flushPending() error {
	for len(l.pending) > 0 {
		if err := l.append(l.pending[0]); err != nil {
			return err
		}
		l.pending = l.pending[1:]
	}
	return nil
}

func (l *Log) append(r Record) error {
	r.Seq, r.Prev = l.seq+1, l.head
	line, err := Marshal(r)
	if err != nil {
		return err
	}
	if l.firstSeq != 0 && l.size > 0 && l.size+int64(len(line)) > l.max {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	if err == nil && n < len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		err = fmt.Errorf("writing the audit log: %w", err)
	} else if serr := l.f.Sync(); serr != nil {
		err = fmt.Errorf("syncing the audit log: %w", serr)
	}
	if err != nil {
		if rerr := l.rollback(); rerr != nil {
			// Read the file again before the next record: its torn
			// tail is then cut and recorded.
			l.stale = true
			return fmt.Errorf("%w (removing the partial record failed too: %v)", err, rerr)
		}
		return fmt.Errorf("%w (the record was not kept)", err)
	}
	l.size += int64(len(line))
	l.seq, l.head = r.Seq, hashLine(line)
	if l.firstSeq == 0 {
		l.firstSeq = r.Seq
	}
	return nil
}

// rollback cuts the active file back to its last whole record.
func (l *Log) rollback() error {
	if err := l.f.Truncate(l.size); err != nil {
		return err
	}
	return l.f.Sync()
}

// rotate renames the active file after its first record and starts a new
// one.
func (l *Log) rotate() error {
	dst := rotatedName(l.path, l.firstSeq)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("rotating the audit log: %s already exists", dst)
	}
	if err := os.Rename(l.path, dst); err != nil {
		return fmt.Errorf("rotating the audit log: %w", err)
	}
	syncDir(filepath.Dir(l.path))
	f, err := openActive(l.path)
	if err != nil {
		// Put the file back; if even that fails, the open handle (now
		// under the rotated name) stays the end of the chain.
		if rerr := os.Rename(dst, l.path); rerr == nil {
			syncDir(filepath.Dir(l.path))
		}
		return fmt.Errorf("rotating the audit log: %w", err)
	}
	l.f.Close()
	l.f, l.size, l.firstSeq = f, 0, 0
	syncDir(filepath.Dir(l.path))
	return nil
}

// syncDir makes a rename or a creation in dir durable (best effort: not
// every filesystem syncs directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Close writes a pending repair event if it can, and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var perr error
	if len(l.pending) > 0 {
		if perr = lockFile(l.lock, true); perr == nil {
			if perr = l.catchUp(); perr == nil {
				perr = l.flushPending()
			}
			unlockFile(l.lock)
		}
	}
	err := l.f.Close()
	l.f = nil
	return errors.Join(perr, err, l.lock.Close())
}

// lastIndexByte returns the offset of the last c in r's first size bytes,
// or -1.
func lastIndexByte(r io.ReaderAt, size int64, c byte) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(0, end-chunk)
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, c); i >= 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return -1, nil
}

// lastLine returns the last line of r's first end bytes, which end in
// "\n", without it.
func lastLine(r io.ReaderAt, end int64) ([]byte, error) {
	if end == 0 {
		return nil, nil
	}
	nl, err := lastIndexByte(r, end-1, '\n')
	if err != nil {
		return nil, err
	}
	b := make([]byte, end-1-(nl+1))
	if _, err := r.ReadAt(b, nl+1); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// firstChained returns the seq of the first chained record in r's first
// end bytes, or 0.
func firstChained(r io.ReaderAt, end int64) (uint64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, end), 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if seq, _, chained, perr := parseLink(bytes.TrimSuffix(line, []byte("\n"))); chained && perr == nil {
				return seq, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
