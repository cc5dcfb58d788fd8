package sockwatch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// unixTable parses data and returns its row count and the count per path.
func unixTable(data []byte) (int64, map[string]int64, error) {
	rows, paths, err := unixRows(data)
	counts := make(map[string]int64)
	for _, p := range paths {
		counts[string(p)]++
	}
	return rows, counts, err
}

func TestUnixPathsHostile(t *testing.T) {
	data, err := os.ReadFile("testdata/unix-hostile/unix")
	require.NoError(t, err)
	rows, counts, err := unixTable(data)
	require.NoError(t, err)
	require.Equal(t, int64(26), rows)
	require.Equal(t, map[string]int64{
		"/run/php/php-fpm.sock":                         4, // a listener and its 3 connections
		"/tmp/a b  c.sock":                              2,
		"/tmp/new\nline.sock":                           2,
		"/tmp/x\n0000: 1 looks like a row but is not\n": 1,
		"/srv/it's \"quoted\" a=1;b=2 | x":              1,
		"/srv/\xff\xfe latin1 \xe9t\xe9.sock":           1,
		"@/org/freedesktop/systemd1/notify":             1,
		"@abs@with@nuls":                                2,
		"  leading spaces":                              1,
		"/" + strings.Repeat("p", 107):                  1,
		"@00012":                                        1,
		"/tmp/32bit.sock":                               1,
		"/run/wide.sock":                                3,
		"\nstarts with a newline":                       1,
		"/tmp/ends with spaces  ":                       1,
	}, counts)
}

func TestUnixPathsCaptured(t *testing.T) {
	data, err := os.ReadFile("testdata/unix-plain/unix")
	require.NoError(t, err)
	rows, counts, err := unixTable(data)
	require.NoError(t, err)
	require.Equal(t, int64(bytes.Count(data, []byte("\n"))-1), rows)
	require.Empty(t, counts, "the captured table holds only unbound sockets")
}

// TestUnixPathsLive parses this host's own table and checks the row count
// against the number of lines: holds as long as no path has a newline.
func TestUnixPathsLive(t *testing.T) {
	data, err := os.ReadFile("/proc/self/net/unix")
	require.NoError(t, err)
	rows, _, err := unixTable(data)
	require.NoError(t, err)
	require.Equal(t, int64(bytes.Count(data, []byte("\n"))-1), rows)
}

func TestUnixPathsNUL(t *testing.T) {
	data := "Num       RefCount Protocol Flags    Type St Inode Path\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03  1001 @a\x00b\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03  1002 @a@b\n"
	_, counts, err := unixTable([]byte(data))
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"@a@b": 2}, counts)
}

func TestUnixPathsNoFinalNewline(t *testing.T) {
	data := "Num       RefCount Protocol Flags    Type St Inode Path\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03  1001 /a\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03  1002 /a"
	rows, counts, err := unixTable([]byte(data))
	require.NoError(t, err)
	require.Equal(t, int64(2), rows)
	require.Equal(t, map[string]int64{"/a": 2}, counts)
}

func TestUnixPathsErrors(t *testing.T) {
	const head = "Num       RefCount Protocol Flags    Type St Inode Path\n"
	const row = "0000000000000000: 00000002 00000000 00000000 0001 03  1001"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "unix: empty"},
		{"no header", row + "\n", "unix:1: no \"Num RefCount ...\" header"},
		{"garbage after an unbound row", head + row + "\ngarbage\n", "unix:3: not a row"},
		{"garbage first", head + "garbage\n", "unix:2: not a row"},
		{"inode too narrow", head + "0000000000000000: 00000002 00000000 00000000 0001 03 1001\n", "unix:2: not a row"},
		{"inode padded too far", head + "0000000000000000: 00000002 00000000 00000000 0001 03   1001\n", "unix:2: not a row"},
		{"short hex", head + "0000000000000000: 0002 00000000 00000000 0001 03  1001\n", "unix:2: not a row"},
		{"empty path", head + row + " \n", "unix:2: empty path"},
		{"path too long", head + row + " /" + strings.Repeat("x", 108) + "\n", "unix:2: path longer than 108 bytes"},
		{"continuation too long", head + row + " /a\n" + strings.Repeat("x", 106) + "\n", "unix:3: not a row of the unix table, and too long"},
		{"line too long", head + strings.Repeat("x", 70<<10) + "\n", "unix:2: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := unixTable([]byte(tc.data))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			var fe *FileError
			require.ErrorAs(t, err, &fe)
		})
	}
}

// FuzzUnixPaths: the parser never panics, errors name the file, and what it
// reads is what the kernel would have printed: rendering the rows and paths
// it found as the kernel does and parsing that again gives the same.
func FuzzUnixPaths(f *testing.F) {
	seeds, err := filepath.Glob("testdata/unix-*/unix")
	require.NoError(f, err)
	require.NotEmpty(f, seeds)
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, paths, err := unixRows(data)
		if err != nil {
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			return
		}
		require.LessOrEqual(t, int64(len(paths)), rows)
		var out bytes.Buffer
		out.WriteString("Num       RefCount Protocol Flags    Type St Inode Path\n")
		for i, p := range paths {
			require.NotContains(t, string(p), "\x00")
			require.NotEmpty(t, p)
			require.LessOrEqual(t, len(p), unixPathMax)
			fmt.Fprintf(&out, "0000000000000000: 00000002 00000000 00000000 0001 03 %5d %s\n", i, p)
		}
		for i := int64(len(paths)); i < rows; i++ {
			fmt.Fprintf(&out, "0000000000000000: 00000002 00000000 00000000 0001 03 %5d\n", i)
		}
		rows2, paths2, err := unixRows(out.Bytes())
		require.NoError(t, err)
		require.Equal(t, rows, rows2)
		require.Equal(t, paths, paths2)
	})
}

// unixRows parses data and returns its row count and the bound paths in
// the order of their rows.
func unixRows(data []byte) (int64, [][]byte, error) {
	var paths [][]byte
	rows, err := countUnixPaths("unix", bytes.NewReader(data), func(p []byte) {
		paths = append(paths, bytes.Clone(p))
	})
	return rows, paths, err
}
