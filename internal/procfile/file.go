package procfile

import (
	"errors"
	"syscall"
)

// maxFileSize bounds what is read of one proc file, so that a runaway or
// hostile file cannot make a monitoring agent eat the memory of a host that is
// already in trouble. The largest file read whole is user_beancounters, which
// grows with the number of containers (README, Cost).
const maxFileSize = 64 << 20

var errTooLarge = errors.New("file larger than 64 MiB")

// procSuperMagic is the f_type of a procfs mount.
const procSuperMagic = 0x9fa0

// OnProc reports whether path is on a procfs mount.
func OnProc(path string) bool {
	var fs syscall.Statfs_t
	return Statfs(path, &fs) == nil && fs.Type == procSuperMagic
}

// Reader reads whole proc files into one reused buffer. Proc files report
// a size of 0, so os.ReadFile would start small and reallocate every time; the
// raw system calls also skip the poller registration os.Open does. A Reader
// must not be used by two goroutines at once.
type Reader struct {
	buf []byte
	// fds, when set (Hold), keeps files open between reads. A proc file read
	// again with pread from offset 0 is generated afresh, without the path
	// walk, the open and the kernel's first guess at its buffer size, which
	// is most of the cost of reading a small file. Only proc files are kept:
	// a regular file replaced by another (a captured tree rewritten) would
	// read stale.
	fds map[string]int
}

// Hold makes r keep the files it reads open, when dir is on procfs. It
// returns the function that closes them, nil when dir is not on procfs;
// the function holds no reference to r, so that a cleanup attached to r's
// owner may call it.
func (r *Reader) Hold(dir string) (release func()) {
	if !OnProc(dir) {
		return nil
	}
	fds := make(map[string]int)
	r.fds = fds
	return func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}
}

// Read returns the contents of path, valid until the next call. Errors are
// FileErrors naming path.
func (r *Reader) Read(path string) ([]byte, error) {
	if fd, ok := r.fds[path]; ok {
		if data, err := r.readAll(fd); err == nil {
			return data, nil
		}
		// The file went away (a process exited) or broke: open it anew.
		syscall.Close(fd)
		delete(r.fds, path)
	}
	fd, err := Open(path)
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

// ReadInto parses the file at path into a copy of *v and keeps the copy
// only when the whole file parsed: a malformed file leaves every figure it
// feeds unknown rather than half set. A missing file is not an error (IPv6
// disabled, a kernel without MPTCP): its figures stay unknown.
func ReadInto[T any](r *Reader, path string, v *T, parse func(string, []byte, *T) error) error {
	data, err := r.Read(path)
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
func (r *Reader) readAll(fd int) ([]byte, error) {
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
		m, err := Pread(fd, r.buf[n:], int64(n))
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

// Readable reports whether path can be opened for reading.
func Readable(path string) bool {
	fd, err := Open(path)
	if err != nil {
		return false
	}
	syscall.Close(fd)
	return true
}
