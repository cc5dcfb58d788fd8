package sockwatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/procfs"
	"github.com/stretchr/testify/require"
)

// The cases where prometheus/procfs reads a source differently from the
// kernel, and sockwatch keeps its own reader (README.md, "procfs"). Each
// test fails, and the README's table is to be revisited, when procfs
// changes.

// procfs's Proc.Comm trims spaces off a process name; the kernel keeps
// them, and so does the owner scan: " php-fpm " and "php-fpm" are two
// programs.
func TestProcfsCommTrimsSpaces(t *testing.T) {
	name := fmt.Sprintf(" ref%d ", os.Getpid()%100000)
	dir, err := os.MkdirTemp("", "sockwatch-ref-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	startHelper(t, helperExe(t), "unix", name,
		[]string{"HELPER_PATH=" + filepath.Join(dir, "ref.sock"), "HELPER_N=1"}, &syscall.SysProcAttr{})

	o, err := ScanOwners("/proc", OwnerOptions{})
	require.NoError(t, err)
	var ours []string
	for _, w := range o.ByProcess {
		if strings.Contains(w.Name, strings.TrimSpace(name)) {
			ours = append(ours, w.Name)
		}
	}
	require.Equal(t, []string{name}, ours, "the owner scan keeps the kernel's name")

	fs, err := procfs.NewFS("/proc")
	require.NoError(t, err)
	procs, err := fs.AllProcs()
	require.NoError(t, err)
	var theirs []string
	for _, p := range procs {
		if comm, err := p.Comm(); err == nil && strings.Contains(comm, strings.TrimSpace(name)) {
			theirs = append(theirs, comm)
		}
	}
	require.Equal(t, []string{strings.TrimSpace(name)}, theirs, "procfs trims the name")
}

// procfs's NetUNIX splits a row at spaces and stops at a path with a
// newline in it: a bound path with spaces loses its tail, and one newline
// loses the whole table. sockwatch reads both (TestUnixPathsHostile).
func TestProcfsNetUNIXHostilePaths(t *testing.T) {
	const header = "Num       RefCount Protocol Flags    Type St Inode Path\n"
	write := func(rows string) procfs.FS {
		root := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(root, "net"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "net", "unix"), []byte(header+rows), 0o644))
		fs, err := procfs.NewFS(root)
		require.NoError(t, err)
		return fs
	}

	spaces := "0000000000000000: 00000002 00000000 00010000 0001 01  1007 /tmp/a b  c.sock\n"
	u, err := write(spaces).NetUNIX()
	require.NoError(t, err)
	require.Len(t, u.Rows, 1)
	require.NotEqual(t, "/tmp/a b  c.sock", u.Rows[0].Path, "procfs reads a path with spaces whole now")
	paths, rows, err := tallyUnixPaths("unix", strings.NewReader(header+spaces))
	require.NoError(t, err)
	require.Equal(t, int64(1), rows)
	require.Contains(t, paths, "/tmp/a b  c.sock")

	newline := "0000000000000000: 00000002 00000000 00010000 0001 01  1009 /tmp/new\nline.sock\n" +
		"0000000000000000: 00000002 00000000 00000000 0001 03  1010 /run/x.sock\n"
	_, err = write(newline).NetUNIX()
	require.Error(t, err, "procfs reads a path with a newline now")
	paths, rows, err = tallyUnixPaths("unix", strings.NewReader(header+newline))
	require.NoError(t, err)
	require.Equal(t, int64(2), rows)
	require.Contains(t, paths, "/tmp/new\nline.sock")
	require.Contains(t, paths, "/run/x.sock")
}

// procfs's NetProtocols reads net/protocols right: the MPTCP counts agree.
// sockwatch keeps its reader for the cost only (BenchmarkProcfs).
func TestProcfsProtocolsAgree(t *testing.T) {
	checked := 0
	for _, name := range []string{"quiet-host", "out-of-socket-memory", "tcp-mem-pressure", "no-ipv6"} {
		s := readScenario(t, name)
		if !s.Sockstat.MPTCPInUse.Known {
			continue
		}
		fs, err := procfs.NewFS(filepath.Dir(s.NetDir))
		require.NoError(t, err)
		p, err := fs.NetProtocols()
		require.NoError(t, err, name)
		require.Equal(t, s.Sockstat.MPTCPInUse, n(p["MPTCP"].Sockets), name)
		if s.Sockstat.MPTCP6InUse.Known {
			require.Equal(t, s.Sockstat.MPTCP6InUse, n(p["MPTCPv6"].Sockets), name)
		}
		checked++
	}
	require.Positive(t, checked, "no scenario with MPTCP counts")
}
