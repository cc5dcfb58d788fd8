package sockwatch

import (
	"errors"
	"syscall"
)

// maxFileSize bounds what is read of one proc file, so that a runaway or
// hostile file cannot make a monitoring agent eat the memory of a host that is
// already in trouble. The largest file read whole, user_beancounters on a host
// with a thousand containers, is about 2.5 MiB.
const maxFileSize = 64 << 20

var errTooLarge = errors.New("file larger than 64 MiB")

// fileReader reads whole proc files into one reused buffer. Proc files report
// a size of 0, so os.ReadFile would start small and reallocate every time; the
// raw syscalls also skip the poller registration os.Open does.
type fileReader struct {
	buf []byte
	// fds, when set, keeps files open between reads. A proc file read again
	// with pread from offset 0 is generated afresh, without the path walk,
	// the open and the kernel's first guess at its buffer size: netstat then
	// costs 32 µs instead of 72 µs. Only proc files are kept: a regular file
	// replaced by another (a captured tree rewritten) would read stale.
	fds map[string]int
}

// closeFDs closes the files a fileReader kept open.
func closeFDs(fds map[string]int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// read returns the contents of path, valid until the next call.
func (r *fileReader) read(path string) ([]byte, error) {
	if r.fds != nil {
		if fd, ok := r.fds[path]; ok {
			if data, err := r.readAll(fd); err == nil {
				return data, nil
			}
			// The file went away (a process exited) or broke: open it anew.
			syscall.Close(fd)
			delete(r.fds, path)
		}
	}
	fd, err := openRetry(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	data, err := r.readAll(fd)
	if err == nil && r.fds != nil {
		r.fds[path] = fd
	} else {
		syscall.Close(fd)
	}
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return data, nil
}

// readInto parses the file at path into a copy of *v and keeps the copy
// only when the whole file parsed: a malformed file leaves every figure it
// feeds unknown rather than half set. A missing file is not an error (IPv6
// disabled, a kernel without MPTCP): its figures stay unknown.
func readInto[T any](fr *fileReader, path string, v *T, parse func(string, []byte, *T) error) error {
	data, err := fr.read(path)
	next := *v
	if err == nil {
		err = parse(path, data, &next)
	}
	switch {
	case err == nil:
		*v = next
	case IsNotExist(err):
		err = nil
	}
	return err
}

// readAll reads fd from offset 0 to its end into r.buf.
func (r *fileReader) readAll(fd int) ([]byte, error) {
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= maxFileSize {
				return nil, errTooLarge
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Pread(fd, r.buf[n:], int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

func openRetry(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// readable reports whether path can be opened for reading.
func readable(path string) bool {
	fd, err := openRetry(path)
	if err != nil {
		return false
	}
	syscall.Close(fd)
	return true
}

// onProc reports whether path is on a procfs mount.
func onProc(path string) bool {
	var fs syscall.Statfs_t
	return syscall.Statfs(path, &fs) == nil && fs.Type == procSuperMagic
}
