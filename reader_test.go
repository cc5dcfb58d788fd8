package sockwatch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// must is v, or a panic for err: for the tests' readers of roots that exist.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// NewReader, as procfs's NewFS, refuses a root that is not a directory; it
// accepts a directory without proc's files, which each read reports.
func TestNewReaderRoot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := NewReader(file)
	require.EqualError(t, err, file+": proc root is not a directory")
	var fe *FileError
	require.ErrorAs(t, err, &fe)

	empty := t.TempDir()
	r, err := NewReader(empty + "/")
	require.NoError(t, err)
	require.Equal(t, empty, r.Root)
	_, err = r.Read()
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, err.Error(), filepath.Join(empty, "net", "sockstat"))
}
