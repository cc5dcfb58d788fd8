package sockwatch

import (
	"io"
	"path/filepath"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// UnixSockets counts the UNIX sockets of the host's network namespace: the
// rows of net/unix, what "ss -x | wc -l" counts by hand. It streams the table
// without keeping anything, but the kernel's cost of printing it grows with
// the number of sockets (README, Cost), so it is not part of Read.
func (r *Reader) UnixSockets() (Num, error) {
	return countUnixRows(r.hostNetDir())
}

// UnixSockets counts the UNIX sockets of the namespace, as Reader.UnixSockets
// does for the host. Since Linux 6.0 each namespace has a table of its own,
// and the cost is that of its own sockets; older kernels keep one table for
// every namespace and walk all of it for each namespace read.
//
// It fails with an error for which IsNotExist holds when the process the
// namespace was read through has exited since: the count is then unknown.
func (ns *NetNS) UnixSockets() (Num, error) { return countUnixRows(ns.NetDir) }

// countUnixRows counts the rows of dir/unix.
func countUnixRows(dir string) (Num, error) {
	path := filepath.Join(dir, "unix")
	var rows int64
	err := procfile.StreamFile(path, func(r io.Reader) (err error) {
		rows, err = countUnixPaths(path, r, func([]byte) {})
		return err
	})
	if err != nil {
		return Num{}, err
	}
	return Known(rows), nil
}
