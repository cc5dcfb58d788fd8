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

// fileReader reads whole proc files into one reused buffer. Proc files report
// a size of 0, so os.ReadFile would start small and reallocate every time; the
// raw syscalls also skip the poller registration os.Open does. A full snapshot
// then costs one allocation per file opened (the path's C string).
type fileReader struct {
	buf []byte
}

// read returns the contents of path, valid until the next call.
func (r *fileReader) read(path string) ([]byte, error) {
	fd, err := openRetry(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= maxFileSize {
				return nil, &FileError{Path: path, Err: errors.New("file larger than 64 MiB")}
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &FileError{Path: path, Err: err}
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
