package drilltest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// NS is one drill's private network, PID and mount namespace, held by a
// holder process that runs the load on the test's commands.
type NS struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	// Pid is the holder's PID on the host.
	Pid int
	// Root is a proc root whose PID 1 is the holder: through it sockwatch
	// reads the drill's namespace (net/sockstat, netstat, the processes of
	// the drill and their sockets). Its sys/ shows the namespace of the
	// process that reads it, as /proc/sys always does.
	Root string
	// Dir holds the links naming the drill's processes and its UNIX sockets.
	Dir string
}

// RequireDrillable fails the drill when this machine cannot run it, with
// the reason: drills are never silently skipped.
func RequireDrillable(t *testing.T) {
	t.Helper()
	require.Zero(t, os.Geteuid(), "the drills need root: they create namespaces and change sysctls")
	for _, ns := range []string{"net", "pid", "mnt"} {
		_, err := os.Stat("/proc/self/ns/" + ns)
		require.NoError(t, err, "the kernel has no %s namespaces", ns)
	}
}

// Start starts a holder in new namespaces, named name (its comm) with
// argv0 as its command line, and stops it, with every process and socket of
// the namespace, when the test ends. children are the names the holder may
// give the processes it spawns. The test binary must call Main first.
func Start(t *testing.T, name, argv0 string, children ...string) *NS {
	t.Helper()
	RequireDrillable(t)
	// The host must not be left changed by an earlier drill: every drill's
	// figures depend on its limits.
	RequireGlobalSysctlsRestored(t)
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	for _, n := range append([]string{name}, children...) {
		require.NoError(t, os.Symlink(self, filepath.Join(dir, n)))
	}
	cmd := exec.Command(filepath.Join(dir, name))
	cmd.Args[0] = argv0
	cmd.Env = append(os.Environ(), roleEnv+"="+roleHolder, binDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
		// A test binary killed hard takes its drill with it.
		Pdeathsig: syscall.SIGKILL,
	}
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "cannot create the drill's network, PID and mount namespaces")
	n := &NS{t: t, cmd: cmd, in: in, out: bufio.NewReader(stdout), Pid: cmd.Process.Pid, Dir: dir}
	n.Root = fmt.Sprintf("/proc/%d/root/proc", n.Pid)
	t.Cleanup(n.Stop)
	line, err := n.out.ReadString('\n')
	require.NoError(t, err, "the drill's namespace holder did not start (see its stderr above)")
	require.Equal(t, "ready\n", line)
	return n
}

// Stop kills the holder, PID 1 of the drill's PID namespace: the kernel
// kills every other process in it, and the network namespace and its
// sockets go with the last of them. The test's end calls it too; a second
// call does nothing.
func (n *NS) Stop() {
	n.in.Close()
	n.cmd.Process.Kill()
	n.cmd.Wait()
}

// Do runs one holder command and returns the fields of its "ok" reply.
func (n *NS) Do(format string, args ...any) []string {
	n.t.Helper()
	cmd := fmt.Sprintf(format, args...)
	_, err := fmt.Fprintln(n.in, cmd)
	require.NoError(n.t, err, "holder: %s", cmd)
	line, err := n.out.ReadString('\n')
	require.NoError(n.t, err, "holder: %s", cmd)
	f := strings.Fields(line)
	require.True(n.t, len(f) > 0 && f[0] == "ok", "holder: %s: %s", cmd, line)
	return f[1:]
}

// DoInt runs a holder command whose reply is one number.
func (n *NS) DoInt(format string, args ...any) int {
	n.t.Helper()
	f := n.Do(format, args...)
	require.Len(n.t, f, 1)
	v, err := strconv.Atoi(f[0])
	require.NoError(n.t, err)
	return v
}

// Sockstat reads the drill namespace's net/sockstat directly, as the referee.
func (n *NS) Sockstat() KernelTable {
	n.t.Helper()
	k, err := ReadSockstat(fmt.Sprintf("/proc/%d/net/sockstat", n.Pid))
	require.NoError(n.t, err)
	return k
}

// Netstat reads the drill namespace's TcpExt counters directly.
func (n *NS) Netstat() KernelTable {
	n.t.Helper()
	k, err := ReadNetstat(fmt.Sprintf("/proc/%d/net/netstat", n.Pid))
	require.NoError(n.t, err)
	return k
}

// WaitSockstat polls sockstat until ok holds for it, for at most timeout,
// and returns the last reading.
func (n *NS) WaitSockstat(timeout time.Duration, ok func(KernelTable) bool) KernelTable {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		k := n.Sockstat()
		if ok(k) || time.Now().After(deadline) {
			return k
		}
		time.Sleep(20 * time.Millisecond)
	}
}
