package sockwatch

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/netnstest"
	"github.com/sockwatch/sockwatch/internal/procfile"
)

// The live tests read the real kernel. They need root (to create a network
// namespace) and fail, not skip, without it: CI runs as root.

// helperEnv marks the re-executed test binary that holds sockets in a
// private network namespace for TestLiveNamespaceExact.
const helperEnv = "SOCKWATCH_TEST_NETNS_HELPER"

// ipprotoMPTCP is IPPROTO_MPTCP, which package syscall does not name.
const ipprotoMPTCP = 262

// connHelperEnv marks the re-executed test binary that holds loopback TCP
// connections for BenchmarkReadConnections.
const connHelperEnv = "SOCKWATCH_TEST_CONN_HELPER"

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(helperEnv) != "":
		holdSockets()
	case os.Getenv(connHelperEnv) != "":
		holdConnections(os.Getenv(connHelperEnv))
	default:
		os.Exit(m.Run())
	}
}

// holdSockets opens a known population of sockets, says "ready" and keeps
// them until its stdin closes.
func holdSockets() {
	must := netnstest.Fail // an error ends the helper, said on stdout
	// Wait for the new namespace to be quiet, loopback's netlink socket freed.
	must(netnstest.WaitQuiet())
	var keep []any
	for range 3 { // 6 UNIX sockets
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		must(err)
		keep = append(keep, fds)
	}
	// A UNIX listener with two connections: 5 UNIX sockets.
	ul, err := net.Listen("unix", filepath.Join(os.Getenv(helperEnv), "php fpm.sock"))
	must(err)
	for range 2 {
		c, err := net.Dial("unix", ul.Addr().String())
		must(err)
		a, err := ul.Accept()
		must(err)
		keep = append(keep, c, a)
	}
	// Two UDP sockets, one bound, one connected (which binds it).
	u1, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(err)
	u2, err := net.Dial("udp4", "127.0.0.53:53")
	must(err)
	// A TCP listener with two connections: 5 TCP sockets; one TCPv6
	// listener. Plain TCP, as Go would otherwise pick MPTCP for listeners.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	tl, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
	must(err)
	for range 2 {
		c, err := net.Dial("tcp4", tl.Addr().String())
		must(err)
		a, err := tl.Accept()
		must(err)
		keep = append(keep, c, a)
	}
	t6, err := lc.Listen(context.Background(), "tcp6", "[::1]:0")
	must(err)
	// One MPTCP listener: an MPTCP socket and its TCP subflow.
	mp, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, ipprotoMPTCP)
	must(err)
	must(syscall.Bind(mp, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	must(syscall.Listen(mp, 8))
	keep = append(keep, mp)
	// One netlink and one raw socket.
	nl, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW, syscall.NETLINK_ROUTE)
	must(err)
	raw, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_ICMP)
	must(err)
	keep = append(keep, ul, u1, u2, tl, t6, nl, raw)
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	// The connections close when collected: keep them until stdin closes.
	runtime.KeepAlive(keep)
}

func TestLiveNamespaceExact(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates a network namespace and needs root")
	cmd := exec.Command("unshare", "--net", "sh", "-c", `ip link set lo up && exec "$0" -test.run=^$`, os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	// A proc root whose net is the helper's namespace, and whose sys is the
	// real one (tcp_mem and friends are global).
	root := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "net"), filepath.Join(root, "net")))
	require.NoError(t, os.Symlink("/proc/sys", filepath.Join(root, "sys")))
	s, err := must(NewReader(root)).Read()
	require.NoError(t, err)
	require.Empty(t, s.Errors)

	st := s.Sockstat
	require.Equal(t, n(6+5+2+5+1+2+1+1), st.SocketsUsed)
	require.Equal(t, n(5+1), st.TCPInUse, "the MPTCP listener's subflow is a TCP socket")
	require.Equal(t, n(1), st.MPTCPInUse)
	require.Equal(t, n(0), st.MPTCP6InUse)
	require.Equal(t, n(1), st.TCP6InUse)
	require.Equal(t, n(2), st.UDPInUse)
	require.Equal(t, n(1), st.RawInUse)
	require.Equal(t, n(0), st.TCPTimeWait)
	// Every socket but the TCP and MPTCP ones: 11 UNIX, 2 UDP, netlink, raw.
	require.Equal(t, OtherSockets{Held: n(15)}, s.NumOtherSock())

	unix, err := must(NewReader(root)).UnixSockets()
	require.NoError(t, err)
	require.Equal(t, n(11), unix, "3 socketpairs, a listener with 2 connections")

	// ss as referee, in the helper's namespace: it lists the UNIX, UDP and
	// raw sockets; the unbound netlink socket is the one it cannot see.
	out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/net",
		"ss", "-a", "-H", "-x", "-u", "-w").Output()
	require.NoError(t, err)
	require.Equal(t, int(s.NumOtherSock().Held.Value)-1, strings.Count(string(out), "\n"), "ss says:\n%s", out)

	// The helper's namespace has its own tcp_max_tw_buckets, which the
	// reader cannot see: /proc/sys shows the host's. Unknown, not the host's.
	require.False(t, s.Limits.TCPMaxTWBuckets.Known)
	require.Equal(t, n(readSysctl(t, "net/ipv4/tcp_max_orphans")), s.Limits.TCPMaxOrphans, "global limits stand")
}

// TestLiveHostLimits checks the limits read from this host against the
// sysctl files themselves (the limits do not move during a test run).
func TestLiveHostLimits(t *testing.T) {
	s, err := must(NewReader("/proc")).Read()
	require.NoError(t, err)
	require.Empty(t, s.Errors)
	mem := strings.Fields(string(mustRead(t, "/proc/sys/net/ipv4/tcp_mem")))
	require.Len(t, mem, 3)
	require.Equal(t, mem[2], strconv.FormatInt(s.Limits.TCPMemMaxPages.Value, 10))
	require.Equal(t, n(readSysctl(t, "net/ipv4/tcp_max_orphans")), s.Limits.TCPMaxOrphans)
	require.Equal(t, n(readSysctl(t, "fs/file-max")), s.Limits.FilesMax)
	require.Equal(t, int64(os.Getpagesize()), s.PageSize)
	require.Equal(t, "/proc/1/net", s.NetDir)
	require.True(t, s.Sockstat.SocketsUsed.Known)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

func readSysctl(t *testing.T, name string) int64 {
	t.Helper()
	v, err := procfile.Atoi([]byte(strings.TrimSpace(string(mustRead(t, filepath.Join("/proc/sys", name))))))
	require.NoError(t, err)
	return v
}
