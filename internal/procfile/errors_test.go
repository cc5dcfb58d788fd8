package procfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A process is gone when its directory is (ENOENT, as the errno or as
// fs.ErrNotExist), or when a file of it opened before it exited reads
// ESRCH; a refusal is not that.
func TestVanished(t *testing.T) {
	var r Reader
	_, err := r.Read(filepath.Join(t.TempDir(), "999999", "comm"))
	require.True(t, Vanished(err), "%v", err)
	require.True(t, Vanished(&FileError{Path: "/proc/1/comm", Err: syscall.ESRCH}))
	require.True(t, Vanished(&FileError{Path: "/proc/1/net/sockstat", Err: os.ErrNotExist}))
	require.False(t, Vanished(&FileError{Path: "/proc/1/comm", Err: syscall.EACCES}))
	require.True(t, Denied(&FileError{Path: "/proc/1/fd", Err: syscall.EACCES}))
	require.False(t, Denied(syscall.ESRCH))
}
