package sockwatch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseErrorQuotes: a parse error quotes the text of the file (here
// the first word of a line of /etc/shadow's form) only when the file is the
// user's own; of another user's file, readable or not, it says where and
// what was expected, and that the text is left out.
func TestParseErrorQuotes(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test gives a file to nobody, which needs root (CI runs as root)")
	root := t.TempDir()
	path := filepath.Join(root, "net", "sockstat")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("sockets: used 3\nsaltsecret:$6$hunter2word:19000::\n"), 0o644))

	_, err := must(NewReader(root)).Read()
	require.EqualError(t, err, path+":2: saltsecret: want key value pairs, got 1 fields")

	require.NoError(t, os.Chown(path, 65534, 65534))
	_, err = must(NewReader(root)).Read()
	require.EqualError(t, err, path+":2: [...]: want key value pairs, got 1 fields"+
		" ([...] stands for the file's text, not quoted: the file is neither under proc nor this user's)")
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	require.True(t, fe.Withheld)
	require.Equal(t, 2, fe.Line)
}
