package procfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// FileError says which proc file could not be read or parsed and, for a
// parse error, on which line (1-based; 0 when the error is not about a line).
type FileError struct {
	Path string
	Line int
	Err  error
	// Withheld is set when the message leaves out the file's text, which
	// it would otherwise quote: see LineErr.
	Withheld bool
}

func (e *FileError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Path, e.Err)
	if e.Line > 0 {
		msg = fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	if e.Withheld {
		msg += " (" + withheld + " stands for the file's text, not quoted: the file is neither under proc nor this user's)"
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

// IsNotExist reports whether err means a file is absent: the normal case for
// a source that this kernel or namespace does not have, which makes its
// figures unknown without being a problem worth reporting.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// withheld stands for the text of a file that an error does not quote.
const withheld = "[...]"

// LineErr is a parse error on line of the file at path: format says what
// was expected, and its string arguments are text of the file (a label, a
// field). That text is quoted only from a file under proc or one of the
// real user's own: a proc root of the caller's choosing could be links to
// files of other users, whose lines an error must not print. (A binary
// with raised privileges reads only the real /proc; this holds for any
// run.) A path that is gone, or never was (a parser's tests), has nothing
// left to protect.
func LineErr(path string, line int, format string, args ...any) error {
	e := &FileError{Path: path, Line: line}
	if !quotable(path) {
		for i, a := range args {
			switch a.(type) {
			case string, []byte:
				args[i] = withheld
				e.Withheld = true
			}
		}
	}
	e.Err = fmt.Errorf(format, args...)
	return e
}

// quotable reports whether the text of the file at path may be quoted.
func quotable(path string) bool {
	var st syscall.Stat_t
	err := Stat(path, &st)
	return errors.Is(err, syscall.ENOENT) || err == nil && (int(st.Uid) == os.Getuid() || OnProc(path))
}

// Vanished reports whether err means a process exited while it was read:
// its directory is gone (ENOENT), or a file of it opened before it exited
// no longer leads to a task (ESRCH).
func Vanished(err error) bool {
	return IsNotExist(err) || errors.Is(err, syscall.ESRCH)
}

// Denied reports whether err means a process may not be inspected: the
// mode of its directory, or the kernel's ptrace access check.
func Denied(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}
