package sockwatch

import (
	"errors"
	"fmt"
	"io/fs"
)

// FileError says which proc file could not be read or parsed and, for a
// parse error, on which line (1-based; 0 when the error is not about a line).
type FileError struct {
	Path string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// IsNotExist reports whether err means a file is absent: the normal case for
// a source that this kernel or namespace does not have, which makes its
// figures unknown without being a problem worth reporting.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func lineErr(path string, line int, format string, args ...any) error {
	return &FileError{Path: path, Line: line, Err: fmt.Errorf(format, args...)}
}
