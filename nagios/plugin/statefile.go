package plugin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A plugin that keeps state between runs (a counter's last value, to alert
// on its growth) is run by a monitoring core as root or as a service user,
// often several at once, and must survive a crash, a full disk and a path
// that another user prepared. StateFile reads and writes such a file
// safely; what it holds is the check's business.

// StateDir is where a plugin named name keeps its state files by default:
// a directory only the user running it can write. Root's is /var/lib/name;
// another user's $XDG_STATE_HOME/name, else ~/.local/state/name (Debian's
// nagios user has its home in /var/lib/nagios). The user is the real one:
// a set-user-ID plugin keeps its state as that user, once it has dropped
// the other.
func StateDir(name string) (string, error) {
	if os.Getuid() == 0 {
		return filepath.Join("/var/lib", name), nil
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, name), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", name), nil
}

// StateFile is a state file whose directory is locked from OpenStateFile
// to Close: two runs at once (two services of one host) read and write it
// one after the other, so neither loses what the other wrote.
type StateFile struct {
	path string
	dir  *os.File // holds the lock; nil when it could not be taken
}

// OpenStateFile makes sure that no other user can swap the file at path,
// or a directory on the way to it, for something else, then locks its
// directory. Otherwise a plugin run as root with its state in a shared
// directory could be made to replace any file named like its state file.
// The directory must belong to this user and be writable by no one else;
// every directory above it, and every link on the way as given, must belong
// to root or to this user, and a directory others can write must be sticky
// (/tmp), where they cannot rename what is not theirs. The path with the
// directory's links resolved is used from then on (Path), so that a link
// changed later changes nothing.
//
// Without the lock (a directory that cannot be opened) the file is used all
// the same: a lost update costs a baseline, not a verdict. The plugin's
// timeout bounds the wait for it.
func OpenStateFile(path string) (*StateFile, error) {
	safe, err := safeStatePath(path)
	if err != nil {
		return nil, err
	}
	s := &StateFile{path: safe}
	if dir, err := os.Open(filepath.Dir(safe)); err == nil {
		for {
			err = syscall.Flock(int(dir.Fd()), syscall.LOCK_EX)
			if err != syscall.EINTR {
				break
			}
		}
		s.dir = dir
	}
	return s, nil
}

// Path is the state file's path, its directory's links resolved.
func (s *StateFile) Path() string { return s.path }

// Close releases the lock.
func (s *StateFile) Close() {
	if s.dir != nil {
		s.dir.Close()
	}
}

func safeStatePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	case int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid():
		return "", fmt.Errorf("%s belongs to uid %d, not to this user", dir, fi.Sys().(*syscall.Stat_t).Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("%s is writable by group or others (want 0700)", dir)
	}
	// The path as given is walked only when links made it differ from dir:
	// otherwise that walk would be dir, which passed the stricter test
	// above, then the same ancestors as the walk from dir's parent.
	if dir != filepath.Dir(abs) {
		if err := safeAncestors(filepath.Dir(abs)); err != nil {
			return "", err
		}
	}
	if err := safeAncestors(filepath.Dir(dir)); err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// safeAncestors checks p and every directory above it as they are, links
// not followed: each must belong to root or to this user, and a directory
// others can write must be sticky.
func safeAncestors(p string) error {
	euid := os.Geteuid()
	for {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		uid := fi.Sys().(*syscall.Stat_t).Uid
		switch {
		case int(uid) != euid && uid != 0:
			return fmt.Errorf("%s, on the way to the state file, belongs to uid %d, neither root nor this user", p, uid)
		case fi.IsDir() && fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0:
			return fmt.Errorf("%s, on the way to the state file, is writable by group or others and not sticky", p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
		p = filepath.Dir(p)
	}
}

// ErrStateUnusable marks a state path that must not be read or replaced: a
// symbolic link or something other than a regular file.
var ErrStateUnusable = errors.New("state file unusable")

type unusableError struct{ msg string }

func (e *unusableError) Error() string        { return e.msg }
func (e *unusableError) Is(target error) bool { return target == ErrStateUnusable }

// Read reads the state file without following a symbolic link, at most
// limit+1 bytes: a file longer than limit is one the plugin did not write,
// which its decoder tells by the length. Errors other than fs.ErrNotExist
// and ErrStateUnusable mean a file to replace (one of another user's, say).
func (s *StateFile) Read(limit int64) ([]byte, error) {
	f, err := os.OpenFile(s.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &unusableError{s.path + " is a symbolic link, not followed"}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &unusableError{s.path + " is not a regular file"}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("belongs to uid %d, not to this user", st.Uid)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// Write replaces the state file atomically: data goes to a new file in the
// same directory (O_EXCL, O_NOFOLLOW, 0600), renamed over the file. Two
// plugins writing at once each rename a complete file; the last one wins.
// A write that fails (a full disk) leaves the old file as it was and no
// temporary one behind.
func (s *StateFile) Write(data []byte) error {
	if fi, err := os.Lstat(s.path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file, not replaced", s.path)
	}
	dir, base := filepath.Split(s.path)
	var f *os.File
	var err error
	for i := 0; ; i++ {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.%d.tmp", base, os.Getpid(), time.Now().UnixNano()))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil || !errors.Is(err, fs.ErrExist) || i == 9 {
			break
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
