package nagios_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/netnstest"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

func init() { netnstest.Main() }

// fpm is how the check names the php-fpm container of netns-containers,
// whose process name holds quotes, = and |.
const fpm = `netns 4026532301 ("php-fpm: \"w\"=a¦b", pid 812)`

// nsLines are the long output lines about namespaces other than the host's.
func nsLines(o output) []string {
	var lines []string
	for _, l := range o.long {
		if strings.HasPrefix(l, "netns ") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestNamespacesFixture(t *testing.T) {
	root := fixture(t, "netns-containers")
	state := filepath.Join(t.TempDir(), "state.json")
	o := check(t, "--proc-root", root, "--state-file", state, "--namespaces", "-w", "numothersock=100")
	require.Equal(t, 1, o.code, o.all)
	require.Equal(t, "SOCKWATCH WARNING - "+fpm+" numothersock 4107, warning at 100", o.first)
	require.Contains(t, perfItems(o.perf), "numothersock_ns4026532301=4107;100;;0")
	require.Contains(t, perfItems(o.perf), "numothersock=13;100;;0", "the host's own is kept")
	require.NotContains(t, o.perf, "_ns4026532555", "an OK namespace has no performance data")
	require.Equal(t, []string{fpm + " numothersock: WARNING 4107; warning 100; find the processes of the namespace holding" +
		" UNIX and UDP sockets: nsenter --net=/proc/812/ns/net ss -xup"}, nsLines(o), "only the namespace that is not OK")
	require.Contains(t, o.long, "namespaces: 2 network namespaces evaluated besides the host's;"+
		" 2 not evaluated: they cannot be named without root or CAP_SYS_PTRACE (their counters are in the host-wide sums)")
	require.Contains(t, o.all, "\nnamespaces: netns 4026532555 (nginx, pid 301): unreadable: "+filepath.Join(root, "301", "net", "snmp6"))

	// -v lists every namespace, OK ones included.
	o = check(t, "--proc-root", root, "--state-file", state, "--namespaces", "-v")
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, nsLines(o), "netns 4026532555 (nginx, pid 301) numothersock: OK 7")
	require.Contains(t, nsLines(o), fpm+" tw: OK 17")
	require.Len(t, nsLines(o), 2*6, "numothersock, tw and 4 counters of each of 2 namespaces")

	// Absolute tw thresholds apply per namespace; a percent one cannot.
	o = check(t, "--proc-root", root, "--state-file", state, "--namespaces", "--only", "tw", "-c", "tw=10", "-w", "numothersock=80%")
	require.Equal(t, 2, o.code, o.all)
	require.Equal(t, "SOCKWATCH CRITICAL - "+fpm+" tw 17, critical at 10", o.first)
	o = check(t, "--proc-root", root, "--state-file", state, "--namespaces", "--only", "numothersock", "-w", "numothersock=1%", "-v")
	require.Contains(t, o.all, "namespaces: -w numothersock=1% is in percent of a limit a namespace's figures do not come with")
	for _, l := range nsLines(o) {
		require.Contains(t, l, ": OK ", "not applied per namespace, not UNKNOWN")
	}

	// Without --namespaces, none of it.
	o = check(t, "--proc-root", root, "--state-file", state, "-w", "numothersock=100")
	require.Equal(t, 0, o.code, o.all)
	require.Empty(t, nsLines(o))
	require.NotContains(t, o.perf, "_ns")
	require.NotContains(t, o.all, "evaluated besides the host's")
	// Every namespace is still read for the host-wide counters: what could
	// not be read is said.
	require.Contains(t, o.all, "\nnamespaces: "+filepath.Join(root, "400", "ns", "net")+`: "mnt:[4026531841]" is not a network namespace link`)
	require.Contains(t, o.all, "\ntcp_abort_on_memory: not counted in 1 network namespace whose counters could not be read\n",
		"600's namespace has no netstat")
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=7c", "the container's aborts are the host's too")
}

// TCPAbortOnMemory growth inside a container is CRITICAL for that
// namespace and for the host-wide sum; its baseline is kept by inode,
// dropped when the namespace is gone (the host-wide total does not
// decrease), and a namespace that appears whose processes' start cannot be
// read starts with a baseline.
func TestNamespacesCounterGrowth(t *testing.T) {
	src := fixture(t, "netns-containers")
	root := testenv.CopyTree(t, src, testenv.Owner)
	netstat := filepath.Join(root, "812", "net", "netstat")
	state := filepath.Join(t.TempDir(), "state.json")
	run := func() output {
		return check(t, "--proc-root", root, "--state-file", state, "--namespaces", "--only", "tcp_mem", "--hold", "0")
	}

	o := run()
	require.Equal(t, 0, o.code, o.all)
	require.Equal(t, int64(7), stateNamespaces(t, state)["ns4026532301/tcp_abort_on_memory"])
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=7c", "the host-wide sum: the container's 7")

	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "9")
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 2, last 0s ago at [^,]*, also `+
		regexp.QuoteMeta(fpm)+` tcp_abort_on_memory CRITICAL$`, o.first)
	require.Contains(t, o.all, "\n"+fpm+" tcp_abort_on_memory: CRITICAL 9, grew by 2")
	require.Contains(t, o.all, "net.ipv4.tcp_max_orphans", "the limits are the host's")
	items := perfItems(o.perf)
	require.Contains(t, items, "tcp_abort_on_memory_ns4026532301=9c")
	require.Contains(t, items, "tcp_abort_on_memory=9c")
	require.NotContains(t, o.perf, "_ns4026532555")

	o = run()
	require.Equal(t, 0, o.code, "no growth since the last run\n%s", o.all)

	// The container stops: its baseline leaves the state file, and the
	// host-wide total does not go down.
	for _, dir := range []string{"812", "813"} {
		require.NoError(t, os.RemoveAll(filepath.Join(root, dir)))
	}
	o = run()
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=9c")
	baselines := stateNamespaces(t, state)
	require.NotContains(t, baselines, "ns4026532301/tcp_abort_on_memory")
	require.Equal(t, int64(0), baselines["ns4026532555/tcp_abort_on_memory"])

	// A namespace that was not there last time, whose processes' start
	// cannot be read, is a baseline, whatever its counters say; from then
	// on its growth counts.
	for _, dir := range []string{"812", "813"} {
		require.NoError(t, os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(src, dir))))
	}
	require.NoError(t, os.RemoveAll(filepath.Join(root, "813", "net")))
	require.NoError(t, os.Symlink("../812/net", filepath.Join(root, "813", "net")))
	o = run()
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, o.all, "\n"+fpm+" appeared since the last run, its processes' start unreadable: its counters are a baseline\n")
	require.Equal(t, int64(7), stateNamespaces(t, state)["ns4026532301/tcp_abort_on_memory"])
	testenv.SetCounter(t, netstat, "TcpExt", "TCPAbortOnMemory", "8")
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Contains(t, o.first, "tcp_abort_on_memory grew by 1")
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=10c")

	// A check without --namespaces shares the state file, the namespaces'
	// baselines included.
	o = check(t, "--proc-root", root, "--state-file", state, "--only", "tcp_mem", "--hold", "0")
	require.Equal(t, 0, o.code, o.all)
	require.NotContains(t, o.all, "state:")
	require.Equal(t, int64(8), stateNamespaces(t, state)["ns4026532301/tcp_abort_on_memory"])
}

// stateNamespaces are the namespaces' counters a state file keeps.
func stateNamespaces(t *testing.T, path string) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var d struct{ Namespaces map[string]int64 }
	require.NoError(t, json.Unmarshal(data, &d))
	return d.Namespaces
}

// Two private namespaces, one past the threshold: the check names exactly
// that one, with its process, and only it carries performance data.
func TestNamespacesLive(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates network namespaces and needs root")
	small := netnstest.Population{UnixPairs: 20, UDP: 2, TCPConns: 1}
	big := netnstest.Population{UnixPairs: 300, UDP: 5, TCPConns: 1}
	const threshold = 400
	require.Less(t, small.NumOtherSock(), int64(threshold))
	require.Greater(t, big.NumOtherSock(), int64(threshold))
	smallPID, bigPID := netnstest.Start(t, small), netnstest.Start(t, big)
	smallNS := strconv.FormatUint(netnstest.Inode(t, smallPID), 10)
	bigNS := strconv.FormatUint(netnstest.Inode(t, bigPID), 10)
	name := filepath.Base(os.Args[0])
	name = name[:min(len(name), 15)]

	o := check(t, "--state-file", filepath.Join(t.TempDir(), "s.json"), "--namespaces", "--only", "numothersock",
		"-w", "numothersock="+strconv.Itoa(threshold), "-v")
	require.Equal(t, 1, o.code, o.all)
	require.Contains(t, o.first, "netns "+bigNS+" ("+name+", pid "+strconv.Itoa(bigPID)+") numothersock")
	// Other namespaces of the machine (another test's load) may cross it
	// too: only this test's two are judged here.
	var warned []string
	for _, l := range nsLines(o) {
		ours := strings.HasPrefix(l, "netns "+bigNS+" ") || strings.HasPrefix(l, "netns "+smallNS+" ")
		if ours && strings.Contains(l, ": WARNING ") {
			warned = append(warned, l)
		}
	}
	require.Len(t, warned, 1, "exactly one namespace crosses %d:\n%s", threshold, o.all)
	require.True(t, strings.HasPrefix(warned[0], "netns "+bigNS+" ("+name+", pid "+strconv.Itoa(bigPID)+") numothersock: WARNING "+
		strconv.FormatInt(big.NumOtherSock(), 10)+";"), warned[0])
	require.Contains(t, nsLines(o), "netns "+smallNS+" ("+name+", pid "+strconv.Itoa(smallPID)+") numothersock: OK "+
		strconv.FormatInt(small.NumOtherSock(), 10)+"; warning "+strconv.Itoa(threshold))
	require.Contains(t, perfItems(o.perf), "numothersock_ns"+bigNS+"="+strconv.FormatInt(big.NumOtherSock(), 10)+";400;;0")
	require.NotContains(t, o.perf, "_ns"+smallNS)
}

func TestNamespacesHelp(t *testing.T) {
	o := check(t, "-h")
	for _, want := range []string{"--namespaces", "A threshold in percent is not applied to them",
		"tcp_max_tw_buckets is its own but shown only", "CAP_SYS_PTRACE", "numothersock_ns"} {
		require.Contains(t, o.all, want)
	}
}
