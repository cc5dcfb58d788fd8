package sockwatch

import (
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// quietHostCounters are the counters of the captured quiet host, every one zero.
var quietHostCounters = Counters{
	TCPAbortOnMemory: n(0), TCPMemoryPressures: n(0), TCPMemoryPressuresChrono: n(0), TCPTimeWaitOverflow: n(0),
	UDPRcvbufErrors: n(0), UDPSndbufErrors: n(0), UDPMemErrors: n(0),
	UDP6RcvbufErrors: n(0), UDP6SndbufErrors: n(0), UDP6MemErrors: n(0),
}

// withZero6 are the sockstat6 figures of a namespace without IPv6 sockets.
func withZero6(st Sockstat) Sockstat {
	st.TCP6InUse, st.UDP6InUse, st.UDPLite6InUse, st.Raw6InUse = n(0), n(0), n(0), n(0)
	st.Frag6InUse, st.Frag6MemoryBytes = n(0), n(0)
	return st
}

func TestNamespacesFixture(t *testing.T) {
	root := filepath.Join("testdata", "netns-containers")
	scan, err := must(NewReader(root)).Namespaces(nil)
	require.NoError(t, err)
	require.Zero(t, scan.Unreadable)

	var msgs []string
	for _, err := range scan.Errors {
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		rel, err := filepath.Rel(root, fe.Path)
		require.NoError(t, err)
		msgs = append(msgs, fmt.Sprintf("%s:%d: %v", rel, fe.Line, fe.Err))
	}
	require.Equal(t, []string{
		`400/ns/net:0: "mnt:[4026531841]" is not a network namespace link`,
		`600/net/sockstat:1: sockets used: "x" is not a count`,
	}, msgs, "a non-PID entry (self, 0700) and a process without net are not errors")

	// 1 and 2 share a namespace, as do 300, 301 and 812, 813 (their net
	// directories are links, so that their sockstat has one inode, as in
	// proc). 400 and 500 are alone in theirs, which cannot be named.
	var pids []int
	for _, ns := range scan.Namespaces {
		pids = append(pids, ns.PID)
	}
	require.Equal(t, []int{1, 301, 400, 500, 812}, pids)
	for i, ns := range scan.Namespaces[2:4] {
		require.Zero(t, ns.Inode, "unresolvable ns/net of PID %d", ns.PID)
		require.Equal(t, []string{"bash", "cron"}[i], ns.Comm)
		require.Equal(t, n(13), ns.Sockstat.NumOtherSock())
	}

	// The global figures of sockstat (orphan, alloc, TCP and UDP mem) are
	// unknown per namespace: 812's sockstat prints an orphan count that is
	// the host's, not its own.
	host := scan.Namespaces[0]
	require.Equal(t, uint64(4026531840), host.Inode)
	require.Equal(t, 1, host.PID)
	require.Equal(t, "systemd", host.Comm)
	require.Equal(t, filepath.Join(root, "1", "net"), host.NetDir)
	require.Equal(t, withZero6(Sockstat{
		SocketsUsed: n(14), TCPInUse: n(1), TCPTimeWait: n(0),
		UDPInUse: n(0), UDPLiteInUse: n(0), RawInUse: n(0), FragInUse: n(0), FragMemoryBytes: n(0),
		MPTCPInUse: n(0), MPTCP6InUse: n(0),
	}), host.Sockstat)
	require.Equal(t, quietHostCounters, host.Counters)
	require.Empty(t, host.Errors)
	require.Equal(t, n(13), host.Sockstat.NumOtherSock())

	// PID 300 was in the namespace but left before it could be read: the
	// namespace is read and named through 301, whose bad snmp6 is reported.
	nginx := scan.Namespaces[1]
	require.Equal(t, uint64(4026532555), nginx.Inode)
	require.Equal(t, 301, nginx.PID)
	require.Equal(t, "nginx", nginx.Comm)
	require.Equal(t, filepath.Join(root, "301", "net"), nginx.NetDir)
	require.Equal(t, withZero6(Sockstat{
		SocketsUsed: n(9), TCPInUse: n(2), TCPTimeWait: n(0),
		UDPInUse: n(0), UDPLiteInUse: n(0), RawInUse: n(0), FragInUse: n(0), FragMemoryBytes: n(0),
		MPTCPInUse: n(0), MPTCP6InUse: n(0),
	}), nginx.Sockstat)
	require.Len(t, nginx.Errors, 1)
	require.EqualError(t, nginx.Errors[0], filepath.Join(root, "301", "net", "snmp6")+`:1: want "name value", got 3 fields`)
	require.False(t, nginx.Counters.UDP6RcvbufErrors.Known)
	require.Equal(t, n(0), nginx.Counters.UDPRcvbufErrors)
	require.Equal(t, n(7), nginx.Sockstat.NumOtherSock())

	// A php-fpm container leaking UNIX sockets, with two MPTCP listeners
	// and an abort for memory of its own; the process name is kept as the
	// kernel has it, quotes, = and | included.
	fpm := scan.Namespaces[4]
	require.Equal(t, uint64(4026532301), fpm.Inode)
	require.Equal(t, 812, fpm.PID)
	require.Equal(t, `php-fpm: "w"=a|b`, fpm.Comm)
	require.Equal(t, Sockstat{
		SocketsUsed: n(4113), TCPInUse: n(3), TCPTimeWait: n(17),
		UDPInUse: n(2), UDPLiteInUse: n(0), RawInUse: n(0), FragInUse: n(0), FragMemoryBytes: n(0),
		TCP6InUse: n(1), UDP6InUse: n(1), UDPLite6InUse: n(0), Raw6InUse: n(0), Frag6InUse: n(0), Frag6MemoryBytes: n(0),
		MPTCPInUse: n(2), MPTCP6InUse: n(0),
	}, fpm.Sockstat)
	want := quietHostCounters
	want.TCPAbortOnMemory = n(7)
	require.Equal(t, want, fpm.Counters)
	require.Empty(t, fpm.Errors)
	require.Equal(t, n(4113-3-1-2), fpm.Sockstat.NumOtherSock())
}

// With the snapshot just taken, the host's namespace is not read again: it
// takes the snapshot's figures, less the host-wide ones, and is marked.
func TestNamespacesReuseHostSnapshot(t *testing.T) {
	r := must(NewReader(filepath.Join("testdata", "netns-containers")))
	snap, err := r.Read()
	require.NoError(t, err)
	scan, err := r.Namespaces(snap)
	require.NoError(t, err)
	fresh, err := must(NewReader(r.Root)).Namespaces(nil)
	require.NoError(t, err)
	require.Equal(t, len(fresh.Namespaces), len(scan.Namespaces))
	hosts := 0
	for i, ns := range scan.Namespaces {
		want := fresh.Namespaces[i]
		if ns.Host {
			hosts++
			require.Equal(t, snap.NetDir, ns.NetDir)
			require.Equal(t, perNamespace(snap.Sockstat), ns.Sockstat)
			require.Equal(t, snap.Counters, ns.Counters)
			require.False(t, ns.Sockstat.TCPMemPages.Known, "host-wide figures stay the host series'")
			want.NetDir, want.Host, want.Errors = ns.NetDir, true, ns.Errors
		}
		require.Equal(t, want, ns, "namespace of pid %d", ns.PID)
	}
	require.Equal(t, 1, hosts)
}

func TestNamespacesNoRoot(t *testing.T) {
	_, err := must(NewReader(filepath.Join("testdata", "no-such-root"))).Namespaces(nil)
	require.True(t, IsNotExist(err), "%v", err)
}

// The live tests below hold known socket populations in private network
// namespaces, in helper processes: this test binary re-executed under
// unshare (package netnstest). The helpers are dispatched from init, before
// TestMain, so that they need no hook in it.

const (
	// containerHelperEnv holds the JSON population a helper opens before
	// reading sockwatch as an agent in a container would, printing what it
	// read as one JSON line.
	containerHelperEnv = "SOCKWATCH_TEST_CONTAINER_VIEW"
	// hostProcEnv is where the container helper finds the host's /proc.
	hostProcEnv = "SOCKWATCH_TEST_HOST_PROC"
	// scanHelperEnv holds the proc root a helper, run as another user,
	// scans for namespaces, printing the scan as one JSON line.
	scanHelperEnv = "SOCKWATCH_TEST_NETNS_SCAN"
)

func init() {
	netnstest.Main()
	if spec := os.Getenv(containerHelperEnv); spec != "" {
		containerView(spec)
		os.Exit(0)
	}
	if root := os.Getenv(scanHelperEnv); root != "" {
		scan, err := must(NewReader(root)).Namespaces(nil)
		netnstest.Fail(err)
		netnstest.Fail(json.NewEncoder(os.Stdout).Encode(jsonScan(scan)))
		os.Exit(0)
	}
}

// jsonScan drops what JSON cannot carry, the errors of each namespace,
// after checking there are none.
func jsonScan(scan *NetNSScan) *NetNSScan {
	for i, ns := range scan.Namespaces {
		if len(ns.Errors) > 0 {
			netnstest.Fail(fmt.Errorf("PID %d: %v", ns.PID, ns.Errors))
		}
		scan.Namespaces[i].Errors = nil
	}
	if len(scan.Errors) > 0 {
		netnstest.Fail(fmt.Errorf("%v", scan.Errors))
	}
	return scan
}

// findNetNS returns the namespace of inode in scan.
func findNetNS(tb testing.TB, scan *NetNSScan, inode uint64) NetNS {
	tb.Helper()
	for _, ns := range scan.Namespaces {
		if ns.Inode == inode {
			return ns
		}
	}
	require.Failf(tb, "namespace not found", "net:[%d] is not among %d namespaces", inode, len(scan.Namespaces))
	return NetNS{}
}

func TestLiveNamespaces(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates network namespaces and needs root")
	pops := []netnstest.Population{
		{UnixPairs: 2, UDP: 1, TCPConns: 1},
		{UnixPairs: 5, UDP: 3, TCPConns: 3, TCP6: 1, TimeWait: 2, UDPDrops: true},
	}
	pids := make([]int, len(pops))
	for i, pop := range pops {
		pids[i] = netnstest.Start(t, pop)
	}

	scan, err := must(NewReader("/proc")).Namespaces(nil)
	require.NoError(t, err)
	require.Zero(t, scan.Unreadable, "root reads every ns/net link")
	require.Empty(t, scan.Errors)
	require.Equal(t, 1, scan.Namespaces[0].PID, "the initial namespace comes first")
	require.Equal(t, netnstest.Inode(t, os.Getpid()), scan.Namespaces[0].Inode)
	seen := make(map[uint64]bool)
	for _, ns := range scan.Namespaces {
		require.False(t, seen[ns.Inode], "net:[%d] listed twice", ns.Inode)
		seen[ns.Inode] = true
	}

	for i, pop := range pops {
		pid := strconv.Itoa(pids[i])
		ns := findNetNS(t, scan, netnstest.Inode(t, pids[i]))
		require.Equal(t, pids[i], ns.PID, "the helper is alone in its namespace")
		comm := mustRead(t, filepath.Join("/proc", pid, "comm"))
		require.Equal(t, strings.TrimSuffix(string(comm), "\n"), ns.Comm)
		require.Empty(t, ns.Errors)

		st := ns.Sockstat
		require.Equal(t, n(pop.SocketsUsed()), st.SocketsUsed, "namespace %d", i)
		require.Equal(t, n(pop.TCPInUse()), st.TCPInUse, "namespace %d", i)
		require.Equal(t, n(int64(pop.TCP6)), st.TCP6InUse, "namespace %d", i)
		require.Equal(t, n(int64(pop.UDP)), st.UDPInUse, "namespace %d", i)
		require.Equal(t, n(int64(pop.TimeWait)), st.TCPTimeWait, "namespace %d", i)
		require.Equal(t, n(0), st.MPTCPInUse, "namespace %d", i)
		require.Equal(t, n(pop.NumOtherSock()), st.NumOtherSock(), "namespace %d", i)
		for _, global := range []Num{st.TCPOrphan, st.TCPAlloc, st.TCPMemPages, st.UDPMemPages} {
			require.False(t, global.Known, "a host-wide figure in a namespace's figures")
		}
		// Counters are the namespace's own: a new namespace starts at 0, and
		// only the flooded one counts receive buffer drops.
		require.Equal(t, n(0), ns.Counters.TCPAbortOnMemory)
		if pop.UDPDrops {
			require.Greater(t, ns.Counters.UDPRcvbufErrors.Value, int64(50))
		} else {
			require.Equal(t, n(0), ns.Counters.UDPRcvbufErrors)
		}

		// ss as referee, inside the namespace.
		out, err := exec.Command("nsenter", "--net=/proc/"+pid+"/ns/net", "ss", "-H", "-a", "-x", "-u", "-t").Output()
		require.NoError(t, err)
		var unix, udp, tcp, tw int64
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			switch {
			case f[1] == "TIME-WAIT":
				tw++
			case f[0] == "u_str":
				unix++
			case f[0] == "udp":
				udp++
			case f[0] == "tcp":
				tcp++
			}
		}
		require.Equal(t, [4]int64{2 * int64(pop.UnixPairs), int64(pop.UDP), pop.TCPInUse() + int64(pop.TCP6), int64(pop.TimeWait)},
			[4]int64{unix, udp, tcp, tw}, "ss says:\n%s", out)
	}
}

// containerReport is what the container helper read, as it printed it.
type containerReport struct {
	Own, Host         snapshotReport
	OwnScan, HostScan *NetNSScan
}

type snapshotReport struct {
	NetDir       string
	Sockstat     Sockstat
	Limits       Limits
	NumOtherSock OtherSockets
	Errors       []string
}

func reportSnapshot(s *Snapshot) snapshotReport {
	r := snapshotReport{NetDir: s.NetDir, Sockstat: s.Sockstat, Limits: s.Limits, NumOtherSock: s.NumOtherSock()}
	for _, err := range s.Errors {
		r.Errors = append(r.Errors, err.Error())
	}
	return r
}

// containerView runs as PID 1 of new PID, mount and network namespaces
// with a proc of its own on /proc: an agent in a container. It opens the
// population of spec, then reads as such an agent does, first without
// HOST_PROC, then with HOST_PROC pointing at the host's /proc, and prints
// what it read as one JSON line. It exits when its stdin closes.
func containerView(spec string) {
	var pop netnstest.Population
	netnstest.Fail(json.Unmarshal([]byte(spec), &pop))
	keep := netnstest.Open(pop)
	var rep containerReport
	netnstest.Fail(os.Unsetenv("HOST_PROC"))
	r := must(NewReader(""))
	s, err := r.Read()
	netnstest.Fail(err)
	rep.Own = reportSnapshot(s)
	rep.OwnScan, err = r.Namespaces(nil)
	netnstest.Fail(err)
	rep.OwnScan = jsonScan(rep.OwnScan)

	netnstest.Fail(os.Setenv("HOST_PROC", os.Getenv(hostProcEnv)))
	r = must(NewReader(""))
	s, err = r.Read()
	netnstest.Fail(err)
	rep.Host = reportSnapshot(s)
	rep.HostScan, err = r.Namespaces(nil)
	netnstest.Fail(err)
	rep.HostScan = jsonScan(rep.HostScan)

	line, err := json.Marshal(rep)
	netnstest.Fail(err)
	os.Stdout.Write(append(line, '\n'))
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(keep)
}

func TestLiveContainerView(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates namespaces and needs root")
	pop := netnstest.Population{UnixPairs: 3, UDP: 2, TCPConns: 2, TimeWait: 1}
	spec, err := json.Marshal(pop)
	require.NoError(t, err)
	hostProc := t.TempDir()
	// In a private mount namespace, so that nothing leaks to the host: the
	// host's /proc is bound where HOST_PROC will point, then /proc becomes
	// the container's own, as unshare --mount-proc does it.
	cmd := exec.Command("unshare", "--net", "--pid", "--fork", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind /proc "$`+hostProcEnv+`" && mount -t proc proc /proc && ip link set lo up && exec "$0" -test.run=^$`,
		os.Args[0])
	cmd.Env = append(os.Environ(), containerHelperEnv+"="+string(spec), hostProcEnv+"="+hostProc)
	cmd.Stderr = os.Stderr
	line := testenv.Start(t, cmd)
	var rep containerReport
	require.NoError(t, json.Unmarshal([]byte(line), &rep), "the helper said: %s", line)
	// unshare itself enters the new network namespace before it forks the
	// helper: it names the container's namespace from here.
	inode := netnstest.Inode(t, cmd.Process.Pid)

	// Without HOST_PROC: the container's own namespace, through its PID 1.
	own := rep.Own
	require.Empty(t, own.Errors, "limits a container cannot see are unknown, not errors")
	require.Equal(t, "/proc/1/net", own.NetDir)
	require.Equal(t, n(pop.SocketsUsed()), own.Sockstat.SocketsUsed)
	require.Equal(t, n(pop.TCPInUse()), own.Sockstat.TCPInUse)
	require.Equal(t, n(int64(pop.UDP)), own.Sockstat.UDPInUse)
	require.Equal(t, n(int64(pop.TimeWait)), own.Sockstat.TCPTimeWait)
	require.Equal(t, OtherSockets{Held: n(pop.NumOtherSock())}, own.NumOtherSock)
	// tcp_mem, udp_mem and tcp_max_orphans exist in the initial namespace
	// only: unknown here, not zero. file-max is global, and
	// tcp_max_tw_buckets the container's own.
	for name, l := range map[string]Num{
		"tcp_mem": own.Limits.TCPMemMaxPages, "udp_mem": own.Limits.UDPMemMaxPages,
		"tcp_max_orphans": own.Limits.TCPMaxOrphans,
	} {
		require.False(t, l.Known, name)
	}
	require.Equal(t, n(readSysctl(t, "fs/file-max")), own.Limits.FilesMax)
	require.True(t, own.Limits.TCPMaxTWBuckets.Known)

	require.Len(t, rep.OwnScan.Namespaces, 1, "a container sees its own namespace only")
	ns := rep.OwnScan.Namespaces[0]
	require.Equal(t, inode, ns.Inode)
	require.Equal(t, 1, ns.PID)
	require.Equal(t, "sockwatch.test", ns.Comm)
	require.Equal(t, n(pop.SocketsUsed()), ns.Sockstat.SocketsUsed)
	require.Equal(t, n(pop.NumOtherSock()), ns.Sockstat.NumOtherSock())

	// With HOST_PROC: the host's figures, from the namespace of the host's
	// PID 1. The sysctls under HOST_PROC/sys/net still show the reader's own
	// namespace (the kernel picks it by the reading process, not by the
	// proc mount), so the initial-namespace limits stay unknown unless the
	// agent shares the host's network namespace.
	host := rep.Host
	require.Empty(t, host.Errors)
	require.Equal(t, filepath.Join(hostProc, "1", "net"), host.NetDir)
	require.True(t, host.Sockstat.SocketsUsed.Known)
	require.False(t, host.Limits.TCPMemMaxPages.Known, "tcp_mem is not visible from the container's namespace")
	require.Equal(t, netnstest.Inode(t, os.Getpid()), rep.HostScan.Namespaces[0].Inode)
	require.Equal(t, 1, rep.HostScan.Namespaces[0].PID)
	ns = findNetNS(t, rep.HostScan, inode)
	require.NotEqual(t, 1, ns.PID, "the container's PID 1 under its host PID")
	require.Equal(t, n(pop.SocketsUsed()), ns.Sockstat.SocketsUsed)
	require.Equal(t, n(pop.TCPInUse()), ns.Sockstat.TCPInUse)
	require.Equal(t, n(int64(pop.UDP)), ns.Sockstat.UDPInUse)
	require.Equal(t, n(pop.NumOtherSock()), ns.Sockstat.NumOtherSock())
}

// TestLiveNamespacesUnprivileged scans as nobody, as an agent that is not
// root does: it may not resolve the ns/net link of root's processes, yet
// finds and reads their namespaces.
func TestLiveNamespacesUnprivileged(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates a network namespace and needs root")
	pop := netnstest.Population{UnixPairs: 4, UDP: 1, TCPConns: 1}
	pid := netnstest.Start(t, pop)

	cmd := exec.Command(helperExe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), scanHelperEnv+"=/proc")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var scan NetNSScan
	require.NoError(t, json.Unmarshal(out, &scan), "%s", out)

	require.Zero(t, scan.Unreadable, "net/sockstat of any process may be looked at")
	require.Equal(t, 1, scan.Namespaces[0].PID)
	require.Equal(t, netnstest.Inode(t, os.Getpid()), scan.Namespaces[0].Inode,
		"the initial namespace is named through the scanning process itself")
	var found *NetNS
	for i, ns := range scan.Namespaces {
		if ns.PID == pid {
			found = &scan.Namespaces[i]
		}
	}
	require.NotNil(t, found, "the helper's namespace, found by nobody")
	require.Zero(t, found.Inode, "nobody may not resolve the ns/net link of root's process")
	require.Equal(t, n(pop.SocketsUsed()), found.Sockstat.SocketsUsed)
	require.Equal(t, n(pop.TCPInUse()), found.Sockstat.TCPInUse)
	require.Equal(t, n(pop.NumOtherSock()), found.Sockstat.NumOtherSock())
}

// BenchmarkNamespaces is one Namespaces call on this host with 50 more
// network namespaces, each held by a helper process with a few sockets: the
// cost of one gather of the Telegraf input with namespaces = true.
func BenchmarkNamespaces(b *testing.B) {
	require.Equal(b, 0, os.Geteuid(), "this benchmark creates network namespaces and needs root")
	const extra = 50
	pop := netnstest.Population{UnixPairs: 2, UDP: 1, TCPConns: 1}
	for range extra {
		netnstest.Start(b, pop)
	}
	r := must(NewReader("/proc"))
	scan, err := r.Namespaces(nil)
	require.NoError(b, err)
	require.GreaterOrEqual(b, len(scan.Namespaces), extra+1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Namespaces(nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(scan.Namespaces)), "namespaces")
}
