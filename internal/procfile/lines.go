package procfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"sync"
)

// Helpers for the kernel's space-separated text tables. They work on the
// bytes in place, so parsing allocates nothing.

// Lines yields each line of data (without its newline) with its 1-based number.
func Lines(data []byte, yield func(n int, line []byte) error) error {
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if err := yield(n, line); err != nil {
			return err
		}
	}
	return nil
}

// tableReaders are the buffers of StreamLines, reused: with namespaces on,
// a gather reads one unix table per namespace. A buffer bounds the longest
// line: a row of the unix table (a path of at most 108 bytes printed after
// the fixed columns) or of the udp tables is far shorter.
var tableReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// StreamLines is Lines for a table too big to read whole: it reads r (named
// path in errors) through a pooled buffer and yields each line (without its
// newline, valid only during the call) with its 1-based number. An empty r
// is an error, as is a line longer than the buffer.
func StreamLines(path string, r io.Reader, yield func(n int, line []byte) error) error {
	br := tableReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		tableReaders.Put(br)
	}()
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return LineErr(path, n, "line longer than %d bytes", br.Size())
		}
		if err != nil && err != io.EOF {
			return &FileError{Path: path, Err: err}
		}
		if len(line) == 0 && err == io.EOF {
			if n == 1 {
				return &FileError{Path: path, Err: errors.New("empty")}
			}
			return nil
		}
		if err := yield(n, bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
	}
}

// StreamFile opens the file at path and gives it to parse, which reads it
// before the file is closed. An error opening it is a FileError naming path.
func StreamFile(path string, parse func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return &FileError{Path: path, Err: err}
	}
	defer f.Close()
	return parse(f)
}

// Fields splits line at runs of spaces and tabs into dst, which it returns.
func Fields(line []byte, dst [][]byte) [][]byte {
	dst = dst[:0]
	for {
		for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			line = line[1:]
		}
		if len(line) == 0 {
			return dst
		}
		i := 0
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		dst = append(dst, line[:i])
		line = line[i:]
	}
}

var errNumber = errors.New("not a decimal integer")

// Atoi parses a decimal int64 with an optional sign, rejecting anything else,
// overflow included: a figure that does not fit is an error, not a wrap.
func Atoi(b []byte) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, errNumber
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errNumber
		}
		if u > (math.MaxInt64+1)/10 {
			return 0, errNumber
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= math.MaxInt64+1:
		return -int64(u-1) - 1, nil
	case !neg && u <= math.MaxInt64:
		return int64(u), nil
	}
	return 0, errNumber
}
