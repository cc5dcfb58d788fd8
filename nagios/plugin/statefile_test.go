package plugin

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A state file is written whole, readable only by its user, with nothing
// left beside it, and read back; its directory's links are resolved once.
func TestStateFileWriteRead(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.Symlink(dir, link))
	s, err := OpenStateFile(filepath.Join(link, "s.json"))
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, filepath.Join(dir, "s.json"), s.Path())

	_, err = s.Read(100)
	require.ErrorIs(t, err, fs.ErrNotExist)
	for _, content := range []string{"first\n", "second, longer\n"} {
		require.NoError(t, s.Write([]byte(content)))
		data, err := s.Read(100)
		require.NoError(t, err)
		require.Equal(t, content, string(data))
	}
	fi, err := os.Stat(s.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	// What is read is bounded: one byte past the limit tells a file too
	// large.
	require.NoError(t, s.Write([]byte(strings.Repeat("x", 50))))
	data, err := s.Read(10)
	require.NoError(t, err)
	require.Len(t, data, 11)
}

// A link or a FIFO at the state file's name is neither read (a FIFO would
// block) nor replaced.
func TestStateFileUnusable(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	for name, msg := range map[string]string{"link": "is a symbolic link, not followed", "fifo": "is not a regular file"} {
		s, err := OpenStateFile(filepath.Join(dir, name))
		require.NoError(t, err)
		_, err = s.Read(100)
		require.ErrorIs(t, err, ErrStateUnusable)
		require.ErrorContains(t, err, msg)
		require.ErrorContains(t, s.Write([]byte("x")), "is not a regular file, not replaced")
		s.Close()
	}
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep", string(data))
}

// A directory others can write, or a path through one that is not sticky,
// is refused: someone else could put a link in the state file's place.
func TestStateFileUnsafeDirectory(t *testing.T) {
	open := t.TempDir()
	require.NoError(t, os.Chmod(open, 0o777))
	_, err := OpenStateFile(filepath.Join(open, "s.json"))
	require.ErrorContains(t, err, "is writable by group or others (want 0700)")

	inside := filepath.Join(open, "mine")
	require.NoError(t, os.Mkdir(inside, 0o700))
	_, err = OpenStateFile(filepath.Join(inside, "s.json"))
	require.ErrorContains(t, err, open+", on the way to the state file, is writable by group or others and not sticky")

	require.NoError(t, os.Chmod(open, 0o777|os.ModeSticky))
	s, err := OpenStateFile(filepath.Join(inside, "s.json"))
	require.NoError(t, err, "a sticky directory on the way is fine")
	s.Close()
}

// The directory stays locked from OpenStateFile to Close: a second run
// waits for the first.
func TestStateFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	first, err := OpenStateFile(path)
	require.NoError(t, err)
	opened := make(chan *StateFile)
	go func() {
		s, err := OpenStateFile(path)
		if err != nil {
			panic(err)
		}
		opened <- s
	}()
	select {
	case <-opened:
		t.Fatal("opened while the first holds the lock")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	select {
	case s := <-opened:
		s.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting once the lock was released")
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/srv/state")
	dir, err := StateDir("check_x")
	require.NoError(t, err)
	want := "/srv/state/check_x"
	if os.Getuid() == 0 {
		want = "/var/lib/check_x"
	}
	require.Equal(t, want, dir)
}
