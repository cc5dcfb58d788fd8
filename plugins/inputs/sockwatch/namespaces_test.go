//go:build linux

package sockwatch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/netnstest"
)

func init() { netnstest.Main() }

// nsSeries returns the metrics of acc tagged netns, and the host's gauge.
func nsSeries(t testing.TB, ms []telegraf.Metric) (perNS []telegraf.Metric, host telegraf.Metric) {
	t.Helper()
	for _, m := range ms {
		switch {
		case m.Name() != measurement:
		case m.HasTag("netns"):
			perNS = append(perNS, m)
		case m.HasField("sockets_used"):
			host = m
		}
	}
	require.NotNil(t, host, "no host series")
	return perNS, host
}

func nsMetric(inode, comm string, fields map[string]any, tp telegraf.ValueType) telegraf.Metric {
	return metric.New(measurement, map[string]string{"netns": inode, "process_name": comm}, fields, time.Unix(0, 0), tp)
}

// nsZeroGauges are the per-namespace gauges of a namespace whose sockets
// are all counted in sockstat's first lines.
func nsZeroGauges(used, tcp, numOther int64) map[string]any {
	return map[string]any{
		"sockets_used": used, "tcp_inuse": tcp, "tcp_tw": int64(0), "udp_inuse": int64(0), "udplite_inuse": int64(0),
		"raw_inuse": int64(0), "frag_inuse": int64(0), "frag_memory_bytes": int64(0),
		"tcp6_inuse": int64(0), "udp6_inuse": int64(0), "udplite6_inuse": int64(0), "raw6_inuse": int64(0),
		"frag6_inuse": int64(0), "frag6_memory_bytes": int64(0), "mptcp_inuse": int64(0), "mptcp6_inuse": int64(0),
		"numothersock": numOther,
	}
}

// testdata/netns-containers: the host (PIDs 1, 2), nginx (300 gone, 301), a
// php-fpm container leaking UNIX sockets (812, 813), and two namespaces
// whose ns/net link cannot be resolved (400, 500).
func TestGatherNamespacesFixture(t *testing.T) {
	root := scenario(t, "netns-containers")
	log := &testutil.CaptureLogger{}
	s := &Sockwatch{ProcRoot: root, Counters: true, Namespaces: true, Log: log}
	require.NoError(t, s.Init())
	acc := gather(t, s)

	var errs []string
	for _, err := range acc.Errors {
		errs = append(errs, strings.TrimPrefix(err.Error(), root+"/"))
	}
	require.ElementsMatch(t, []string{
		`400/ns/net: "mnt:[4026531841]" is not a network namespace link`,
		`600/net/sockstat:1: sockets used: "x" is not a count`,
		`301/net/snmp6:1: want "name value", got 3 fields`,
	}, errs)

	perNS, host := nsSeries(t, acc.GetTelegrafMetrics())
	require.Equal(t, int64(2), host.Fields()["netns_unnamed"])
	require.False(t, host.HasTag("netns"))
	require.Equal(t, int64(4113-3-1-2), must(t, perNS, "4026532301").Fields()["numothersock"])

	fpm := nsZeroGauges(4113, 3, 4113-3-1-2)
	fpm["tcp_tw"], fpm["udp_inuse"], fpm["tcp6_inuse"], fpm["udp6_inuse"], fpm["mptcp_inuse"] =
		int64(17), int64(2), int64(1), int64(1), int64(2)
	fpmCounters := zeroCounters()
	fpmCounters["tcp_abort_on_memory"] = int64(7)
	nginxCounters := zeroCounters()
	for _, f := range []string{"udp6_rcvbuf_errors", "udp6_sndbuf_errors", "udp6_mem_errors"} {
		delete(nginxCounters, f) // its snmp6 is broken: unknown, not 0
	}
	// The global figures (orphans, alloc, memory, limits) are the host
	// series' only; process names are kept as the kernel has them.
	testutil.RequireMetricsEqual(t, []telegraf.Metric{
		nsMetric("4026531840", "systemd", nsZeroGauges(14, 1, 13), telegraf.Gauge),
		nsMetric("4026531840", "systemd", zeroCounters(), telegraf.Counter),
		nsMetric("4026532555", "nginx", nsZeroGauges(9, 2, 7), telegraf.Gauge),
		nsMetric("4026532555", "nginx", nginxCounters, telegraf.Counter),
		nsMetric("4026532301", `php-fpm: "w"=a|b`, fpm, telegraf.Gauge),
		nsMetric("4026532301", `php-fpm: "w"=a|b`, fpmCounters, telegraf.Counter),
	}, perNS, testutil.IgnoreTime(), testutil.SortMetrics())
	for _, m := range perNS {
		require.Equal(t, host.Time(), m.Time(), "one timestamp for the whole gather")
	}

	// The namespaces left out are logged once, not at every gather.
	require.Len(t, log.Warnings(), 1)
	require.Contains(t, log.Warnings()[0], "2 of 5 network namespaces left out")
	require.Contains(t, log.Warnings()[0], "CAP_SYS_PTRACE")
	acc = gather(t, s)
	require.Len(t, acc.Errors, 3)
	require.Len(t, log.Warnings(), 1)

	// Without counters: neither the counter points nor their files' errors.
	s = &Sockwatch{ProcRoot: root, Counters: false, Namespaces: true, Log: testutil.Logger{}}
	require.NoError(t, s.Init())
	acc = gather(t, s)
	require.Len(t, acc.Errors, 2)
	perNS, _ = nsSeries(t, acc.GetTelegrafMetrics())
	require.Len(t, perNS, 3)
	for _, m := range perNS {
		require.Equal(t, telegraf.Gauge, m.Type())
	}
}

// must returns the gauge point of namespace inode among perNS: the one
// with sockets_used, also once line protocol has dropped the value types.
func must(t testing.TB, perNS []telegraf.Metric, inode string) telegraf.Metric {
	t.Helper()
	for _, m := range perNS {
		if tag, _ := m.GetTag("netns"); tag == inode && m.HasField("sockets_used") {
			return m
		}
	}
	require.Failf(t, "no series", "netns=%s is not among %d per-namespace series", inode, len(perNS))
	return nil
}

// comm is the process name of pid, as the kernel has it.
func comm(t testing.TB, pid int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	require.NoError(t, err)
	return strings.TrimSuffix(string(data), "\n")
}

// Two private namespaces with known populations: each series carries its
// own namespace's figures, and nothing global.
func TestGatherNamespacesLive(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates network namespaces and needs root")
	pops := []netnstest.Population{{UnixPairs: 3, UDP: 1, TCPConns: 1}, {UnixPairs: 10, UDP: 4, TCPConns: 3}}
	pids := make([]int, len(pops))
	for i, p := range pops {
		pids[i] = netnstest.Start(t, p)
	}
	s := &Sockwatch{ProcRoot: "/proc", Counters: true, Namespaces: true, Log: testutil.Logger{}}
	require.NoError(t, s.Init())
	acc := gather(t, s)
	require.Empty(t, acc.Errors)
	perNS, host := nsSeries(t, acc.GetTelegrafMetrics())
	require.Equal(t, int64(0), host.Fields()["netns_unnamed"], "root names every namespace")
	require.Equal(t, strconv.FormatUint(netnstest.Inode(t, os.Getpid()), 10), perNS[0].Tags()["netns"],
		"the host's namespace first")

	gauges := map[string]bool{}
	for _, m := range perNS {
		if m.Type() == telegraf.Gauge {
			require.False(t, gauges[m.Tags()["netns"]], "netns=%s twice", m.Tags()["netns"])
			gauges[m.Tags()["netns"]] = true
		}
	}
	for i, p := range pops {
		inode := strconv.FormatUint(netnstest.Inode(t, pids[i]), 10)
		m := must(t, perNS, inode)
		require.Equal(t, comm(t, pids[i]), m.Tags()["process_name"])
		f := m.Fields()
		require.Equal(t, p.SocketsUsed(), f["sockets_used"], "namespace %d", i)
		require.Equal(t, p.TCPInUse(), f["tcp_inuse"], "namespace %d", i)
		require.Equal(t, int64(p.UDP), f["udp_inuse"], "namespace %d", i)
		require.Equal(t, p.NumOtherSock(), f["numothersock"], "namespace %d", i)
		require.Equal(t, int64(2*p.UnixPairs), f["unix_sockets"], "namespace %d", i)
		for _, global := range []string{"tcp_orphan", "tcp_alloc", "tcp_mem_pages", "udp_mem_pages", "tcp_max_orphans",
			"tcp_max_tw_buckets", "files_allocated", "tcp_mem_used_percent"} {
			require.NotContains(t, f, global, "namespace %d", i)
		}
		var counters telegraf.Metric
		for _, c := range perNS {
			if c.Tags()["netns"] == inode && c.Type() == telegraf.Counter {
				counters = c
			}
		}
		require.NotNil(t, counters, "namespace %d has no counters", i)
		require.Equal(t, int64(0), counters.Fields()["tcp_abort_on_memory"], "a new namespace's own counters")
	}
}

// telegraf-sockwatch -once in a container's view (new network, PID and
// mount namespaces, its own /proc, no HOST_PROC): the host series is the
// container's namespace, and the limits only the host's initial namespace
// has are left out, not sent as 0.
func TestBinaryOnceInContainer(t *testing.T) {
	require.Equal(t, 0, os.Geteuid(), "this test creates namespaces and needs root")
	conf := readableConf(t, "[[inputs.sockwatch]]\n  namespaces = true\n")
	p := netnstest.Population{UnixPairs: 6, UDP: 2, TCPConns: 2}
	r := netnstest.RunInContainer(t, p, binary(t), "-config", conf, "-once")
	require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
	require.Empty(t, r.Stderr)

	perNS, host := nsSeries(t, parseLines(t, r.Stdout))
	for name, want := range map[string]int64{
		"sockets_used": p.SocketsUsed(), "tcp_inuse": p.TCPInUse(), "udp_inuse": int64(p.UDP),
		"numothersock": p.NumOtherSock(), "unix_sockets": int64(2 * p.UnixPairs), "netns_unnamed": 0,
	} {
		v, ok := host.GetField(name)
		require.True(t, ok, "host field %s missing:\n%s", name, r.Stdout)
		require.EqualValues(t, want, v, name)
	}
	for _, absent := range []string{"tcp_mem_min_pages", "tcp_mem_pressure_pages", "tcp_mem_max_pages", "tcp_mem_used_percent",
		"udp_mem_max_pages", "udp_mem_used_percent", "tcp_max_orphans", "tcp_orphan_used_percent",
		"tcp_orphan_penalty_used_percent"} {
		require.False(t, host.HasField(absent), "%s is not visible from a container's namespace:\n%s", absent, r.Stdout)
	}
	require.True(t, host.HasField("tcp_max_tw_buckets"), "the container's own")
	require.True(t, host.HasField("tcp_mem_pressure"), "the kernel's flag in protocols is global, and printed in every namespace")

	// The container sees its own namespace only.
	inode := strconv.FormatUint(r.Inode, 10)
	require.Len(t, perNS, 2, "one gauge and one counter point:\n%s", r.Stdout)
	m := must(t, perNS, inode)
	name := filepath.Base(os.Args[0])
	require.Equal(t, name[:min(len(name), 15)], m.Tags()["process_name"], "the helper, PID 1 there")
	for _, f := range []string{"sockets_used", "tcp_inuse", "udp_inuse", "numothersock", "unix_sockets"} {
		require.Equal(t, host.Fields()[f], m.Fields()[f], f)
	}
}

// BenchmarkGatherNamespaces is one Gather with namespaces = true on this
// host with 50 more network namespaces, each held by a helper with a few
// sockets.
func BenchmarkGatherNamespaces(b *testing.B) {
	require.Equal(b, 0, os.Geteuid(), "this benchmark creates network namespaces and needs root")
	const extra = 50
	for range extra {
		netnstest.Start(b, netnstest.Population{UnixPairs: 2, UDP: 1, TCPConns: 1})
	}
	s := &Sockwatch{ProcRoot: "/proc", Counters: true, Namespaces: true, Log: testutil.Logger{}}
	require.NoError(b, s.Init())
	var acc testutil.Accumulator
	require.NoError(b, s.Gather(&acc))
	perNS, _ := nsSeries(b, acc.GetTelegrafMetrics())
	require.GreaterOrEqual(b, len(perNS), 2*(extra+1))
	b.ReportAllocs()
	for b.Loop() {
		acc.ClearMetrics()
		if err := s.Gather(&acc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(perNS)/2), "namespaces")
}
