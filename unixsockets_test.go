package sockwatch

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnixSocketsFixture(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "net"), 0o755))
	data, err := os.ReadFile(filepath.Join("testdata", "unix-hostile", "unix"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "net", "unix"), data, 0o644))
	got, err := must(NewReader(root)).UnixSockets()
	require.NoError(t, err)
	want, err := countUnixPaths("unix", bytes.NewReader(data), func([]byte) {})
	require.NoError(t, err)
	require.Equal(t, Known(want), got)
	require.Positive(t, want)
}
