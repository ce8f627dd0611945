package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Tail writes the last n lines of the log at path to w.
func Tail(path string, n int, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening the audit log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	lines, err := lastLines(f, st.Size(), n)
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	for _, l := range lines {
		if _, err := w.Write(append(l, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// lastLines returns the last n non-empty lines of r (of the given size),
// reading backwards in chunks so a large log is not read whole.
func lastLines(r io.ReaderAt, size int64, n int) ([][]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	const chunk = 64 << 10
	var buf []byte
	off := size
	for off > 0 {
		step := min(int64(chunk), off)
		off -= step
		b := make([]byte, step)
		if _, err := r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf = append(b, buf...)
		if bytes.Count(bytes.TrimRight(buf, "\n"), []byte("\n")) >= n {
			break
		}
	}
	var out [][]byte
	for _, l := range bytes.Split(buf, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if off > 0 && len(out) > 0 {
		out = out[1:] // the first line may be partial
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}
