package sockwatch

import (
	"bytes"
	"io"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// unixPathMax is the longest path the kernel prints for a UNIX socket: all
// of sun_path, 108 bytes (a pathname bound without a terminating NUL, or an
// abstract name whose leading NUL is printed as "@").
const unixPathMax = 108

// countUnixPaths streams the unix table read from r (named path in errors)
// and calls bound with the path of every socket that has one, and returns the
// number of sockets (rows). The slice passed to bound is valid only during
// the call. Nothing is kept per row.
//
// The kernel prints each row as
//
//	"%pK: %08X %08X %08X %04X %02X %5lu" [" " PATH] "\n"
//
// with the path raw: it may hold spaces, quotes, any byte but NUL, and
// newlines. A physical line that does not have the row's fixed-width prefix
// therefore continues the path of the row before it. The format itself is
// ambiguous in one case, which no reader of this file can resolve: a path
// holding a newline followed by text in the exact shape of a row prefix is
// read as two rows. Input that fits neither reading, or a path that would
// grow past sun_path's 108 bytes, is an error naming the line.
//
// Abstract names are printed with a leading "@", and the kernel prints their
// NUL bytes as "@" too; a NUL found in the file is shown the same way.
func countUnixPaths(path string, r io.Reader, bound func(path []byte)) (rows int64, err error) {
	u := unixPaths{path: path}
	err = procfile.StreamLines(path, r, func(n int, line []byte) error { return u.line(n, line, bound) })
	if err == nil {
		err = u.flush(bound)
	}
	if err != nil {
		return 0, err
	}
	return u.rows, nil
}

// unixPaths is the state of countUnixPaths between lines: a struct rather
// than variables the line callback captures, each of which it would reach
// through a pointer of its own, at every line of a table that can hold
// hundreds of thousands.
type unixPaths struct {
	path    string
	rows    int64
	buf     [unixPathMax]byte
	p       []byte // the current row's path so far, in buf
	inPath  bool   // the current row has a path, which the next line may continue
	rowLine int    // the line the current row starts on
}

// line reads line n of the table, passing the path of the row before it to
// bound when the line starts a row.
func (u *unixPaths) line(n int, line []byte, bound func(path []byte)) error {
	switch rest, hasPath, ok := unixRow(line); {
	case n == 1:
		if !bytes.HasPrefix(line, []byte("Num ")) {
			return procfile.LineErr(u.path, n, "no \"Num RefCount ...\" header")
		}
	case ok:
		if err := u.flush(bound); err != nil {
			return err
		}
		u.rows++
		u.rowLine = n
		// An empty rest with a path is a path that starts with a
		// newline: the next line must continue it.
		if len(rest) > unixPathMax {
			return procfile.LineErr(u.path, n, "path longer than %d bytes", unixPathMax)
		}
		u.p = appendPath(u.buf[:0], rest)
		u.inPath = hasPath
	case !u.inPath:
		return procfile.LineErr(u.path, n, "not a row of the unix table (and no path before it to continue)")
	case len(u.p)+1+len(line) > unixPathMax:
		return procfile.LineErr(u.path, n, "not a row of the unix table, and too long to continue the path of the row before it")
	default:
		u.p = appendPath(append(u.p, '\n'), line)
	}
	return nil
}

// flush passes the path of the current row, if it has one, to bound.
func (u *unixPaths) flush(bound func(path []byte)) error {
	if !u.inPath {
		return nil
	}
	if len(u.p) == 0 {
		return procfile.LineErr(u.path, u.rowLine, "empty path after the inode")
	}
	bound(u.p)
	return nil
}

// appendPath appends s to p, NUL bytes shown as "@" as the kernel shows them.
func appendPath(p, s []byte) []byte {
	start := len(p)
	p = append(p, s...)
	for i := start; i < len(p); i++ {
		if p[i] == 0 {
			p[i] = '@'
		}
	}
	return p
}

// unixRow reports whether line starts with the fixed-width prefix of a unix
// table row and returns what follows it: nothing (an unbound socket) or the
// start of a path.
func unixRow(line []byte) (path []byte, hasPath, ok bool) {
	// %pK: the socket's address, 16 hex digits (8 on a 32-bit kernel),
	// zeros when kptr_restrict hides it.
	i := hexPrefix(line)
	if (i != 8 && i != 16) || len(line) < i+2 || line[i] != ':' || line[i+1] != ' ' {
		return nil, false, false
	}
	line = line[i+2:]
	// RefCount, Protocol, Flags, Type, St: zero-padded hex of fixed width.
	for _, w := range [...]int{8, 8, 8, 4, 2} {
		if len(line) < w+1 || hexPrefix(line[:w]) != w || line[w] != ' ' {
			return nil, false, false
		}
		line = line[w+1:]
	}
	// Inode, %5lu: right-aligned in at least 5 columns.
	sp := 0
	for sp < len(line) && line[sp] == ' ' {
		sp++
	}
	d := sp
	for d < len(line) && line[d] >= '0' && line[d] <= '9' {
		d++
	}
	switch digits := d - sp; {
	case digits == 0 || digits > 20:
		return nil, false, false
	case digits < 5 && sp != 5-digits, digits >= 5 && sp != 0:
		return nil, false, false
	}
	line = line[d:]
	if len(line) == 0 {
		return nil, false, true
	}
	if line[0] != ' ' {
		return nil, false, false
	}
	return line[1:], true, true
}

// hexPrefix returns the number of hex digits s starts with.
func hexPrefix(s []byte) int {
	for i, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return i
		}
	}
	return len(s)
}
