package sockwatch

import (
	"os"
	"path/filepath"
)

// UnixSockets counts the UNIX sockets of the host's network namespace: the
// rows of net/unix, what "ss -x | wc -l" counts by hand. It streams the table
// without keeping anything, but the kernel's cost of printing it grows with
// the number of sockets (about 60 ms for 90,000), so it is not part of Read.
func (r *Reader) UnixSockets() (Num, error) {
	path := filepath.Join(netDir(r.Root), "unix")
	f, err := os.Open(path)
	if err != nil {
		return Num{}, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	rows, err := countUnixPaths(path, f, func([]byte) {})
	if err != nil {
		return Num{}, err
	}
	return known(rows), nil
}
