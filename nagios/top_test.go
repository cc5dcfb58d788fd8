package nagios_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// topHelperEnv marks the re-executed test binary that holds UNIX sockets
// under a hostile process name for TestTopHostileOwner.
const topHelperEnv = "SOCKWATCH_CHECK_TOP_HELPER"

// hostileName is a process name made to break a plugin's output: a quote,
// an equals sign, a semicolon and the "|" that starts performance data.
const hostileName = "x'=1;2 |"

func init() {
	path := os.Getenv(topHelperEnv)
	if path == "" {
		return
	}
	// Package init runs on the main thread, whose name is the process's.
	name, err := unix.BytePtrFromString(hostileName)
	if err == nil {
		err = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	var l net.Listener
	if err == nil {
		l, err = net.Listen("unix", path)
	}
	var keep []net.Conn
	for i := 0; err == nil && i < 3; i++ {
		var c, a net.Conn
		if c, err = net.Dial("unix", path); err == nil {
			a, err = l.Accept()
			keep = append(keep, c, a)
		}
	}
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	// The connections close when collected: keep them until stdin closes.
	runtime.KeepAlive(keep)
	os.Exit(0)
}

// TestTopHostileOwner runs the check with --top while a process named
// "x'=1;2 |" holds a listener on a path with a newline and a "|" and three
// connections to it: 7 UNIX sockets, 4 of them bound to the path. The owner
// and the path are named, and neither breaks the first line or the
// performance data.
func TestTopHostileOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a\n|b.sock")
	testenv.StartHelper(t, topHelperEnv+"="+path)

	o := check(t, "-v", "--top", "1000", "--state-file", filepath.Join(t.TempDir(), "s.json"))
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.long, "owners: read through the bpf task_file iterator", "root loads the iterator: %s", o.all)
	require.Equal(t, 1, strings.Count(strings.SplitN(o.all, "\n", 2)[0], "|"), "one | on the first line:\n%s", o.all)
	require.Contains(t, o.long, `  "x'=1;2 ¦" (root): 7 sockets (7 unix) in 1 process`, o.all)
	shown := strings.ReplaceAll(strconv.Quote(path), "|", "¦")
	// The listener and the 3 connections it accepted, bound to the path;
	// the 3 clients, connected to it.
	require.Contains(t, o.long, "  unix path "+shown+": 4 sockets; held by \"x'=1;2 ¦\" (root) 7", o.all)
	for _, item := range perfItems(o.perf) {
		require.NotContains(t, item, "x'", "a process name leaked into the performance data")
	}
}
