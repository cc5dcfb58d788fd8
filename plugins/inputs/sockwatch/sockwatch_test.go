//go:build linux

package sockwatch

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	core "github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/testenv"
)

// scenario is the path of one of the module's proc trees.
func scenario(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(testenv.ModuleRoot(t), "testdata", name)
	fi, err := os.Stat(dir)
	require.NoError(t, err, "fixture proc tree %s is missing", name)
	require.True(t, fi.IsDir())
	return dir
}

// newPlugin returns an initialized plugin over root with a 4 KiB page, the
// page size the scenarios were composed for.
func newPlugin(t testing.TB, root string) *Sockwatch {
	t.Helper()
	s := &Sockwatch{ProcRoot: root, Counters: true, Log: testutil.Logger{}}
	require.NoError(t, s.Init())
	s.reader.PageSize = 4096
	return s
}

func gather(t testing.TB, s *Sockwatch) *testutil.Accumulator {
	t.Helper()
	var acc testutil.Accumulator
	require.NoError(t, s.Gather(&acc))
	return &acc
}

// compare checks whole metrics, time aside; percentages are compared to
// 1e-9 so that the expectations can be written as the fractions they are.
func compare(t testing.TB, want []telegraf.Metric, acc *testutil.Accumulator) {
	t.Helper()
	testutil.RequireMetricsEqual(t, want, acc.GetTelegrafMetrics(),
		testutil.IgnoreTime(), testutil.SortMetrics(), cmpopts.EquateApprox(0, 1e-9))
}

func gauges(fields map[string]any) telegraf.Metric {
	return metric.New("sockwatch", map[string]string{}, fields, time.Unix(0, 0), telegraf.Gauge)
}

func counters(fields map[string]any) telegraf.Metric {
	return metric.New("sockwatch", map[string]string{}, fields, time.Unix(0, 0), telegraf.Counter)
}

// beancounter is one row; used_percent, of the lower of barrier and limit
// where either is limited, is given as it is computed by hand.
func beancounter(ctid, resource string, held, maxheld, barrier, limit, failcnt int64, usedPercent ...float64) telegraf.Metric {
	fields := map[string]any{"held": held, "maxheld": maxheld, "barrier": barrier, "limit": limit, "failcnt": failcnt}
	if len(usedPercent) > 0 {
		fields["used_percent"] = usedPercent[0]
	}
	return metric.New("sockwatch_beancounter", map[string]string{"ctid": ctid, "resource": resource}, fields,
		time.Unix(0, 0), telegraf.Gauge)
}

// numOtherSock adds numothersock as the core computes it for a proc tree
// without beancounters (its namespaces read, as the plugin reads them), when
// it is known. The plugin reports the core's figure as it is; how it is
// computed is tested with the core.
func numOtherSock(t testing.TB, tree string, fields map[string]any) map[string]any {
	t.Helper()
	r, err := core.NewReader(scenario(t, tree))
	require.NoError(t, err)
	snap, err := r.Read()
	require.NoError(t, err)
	_, err = r.Namespaces(snap)
	require.NoError(t, err)
	if o := snap.NumOtherSock(); o.Held.Known {
		fields["numothersock"] = o.Held.Value
	}
	return fields
}

// hostwide adds the host-wide events to a host series' counters, as a
// first gather gives them: their sums now (UDP: Udp and Udp6 MemErrors).
func hostwide(fields map[string]any, abort, pressures, twOverflow, udpMemErrors int64) map[string]any {
	fields["hostwide_tcp_abort_on_memory"] = abort
	fields["hostwide_tcp_memory_pressures"] = pressures
	fields["hostwide_tcp_tw_overflow"] = twOverflow
	fields["hostwide_udp_mem_errors"] = udpMemErrors
	return fields
}

// zeroCounters is every event counter at 0, as on a quiet host.
func zeroCounters() map[string]any {
	return map[string]any{
		"tcp_abort_on_memory": int64(0), "tcp_memory_pressures": int64(0),
		"tcp_memory_pressures_chrono_ms": int64(0), "tcp_tw_overflow": int64(0),
		"udp_rcvbuf_errors": int64(0), "udp_sndbuf_errors": int64(0), "udp_mem_errors": int64(0),
		"udp6_rcvbuf_errors": int64(0), "udp6_sndbuf_errors": int64(0), "udp6_mem_errors": int64(0),
	}
}

// quietHost is testdata/quiet-host: a host read through <proc>/1/net, with
// every source present.
func quietHost(t testing.TB) []telegraf.Metric {
	return []telegraf.Metric{
		gauges(numOtherSock(t, "quiet-host", map[string]any{
			"sockets_used": int64(14), "unix_sockets": int64(2), "mptcp_inuse": int64(0), "mptcp6_inuse": int64(0),
			"tcp_inuse": int64(1), "tcp_orphan": int64(0), "tcp_tw": int64(0), "tcp_alloc": int64(1),
			"tcp_mem_pages": int64(0), "tcp_mem_bytes": int64(0),
			"udp_inuse": int64(0), "udp_mem_pages": int64(0), "udp_mem_bytes": int64(0),
			"udplite_inuse": int64(0), "raw_inuse": int64(0),
			"frag_inuse": int64(0), "frag_memory_bytes": int64(0),
			"tcp6_inuse": int64(0), "udp6_inuse": int64(0), "udplite6_inuse": int64(0), "raw6_inuse": int64(0),
			"frag6_inuse": int64(0), "frag6_memory_bytes": int64(0),
			"tcp_mem_min_pages": int64(287898), "tcp_mem_pressure_pages": int64(383867), "tcp_mem_max_pages": int64(575796),
			"udp_mem_min_pages": int64(575799), "udp_mem_pressure_pages": int64(767734), "udp_mem_max_pages": int64(1151598),
			"tcp_max_orphans": int64(131072), "tcp_max_tw_buckets": int64(131072),
			"files_allocated": int64(487), "files_max": int64(2466170),
			"tcp_mem_used_percent": 0.0, "udp_mem_used_percent": 0.0,
			"tcp_orphan_used_percent": 0.0, "tcp_orphan_penalty_used_percent": 0.0,
			"tcp_tw_used_percent": 0.0, "files_used_percent": 100.0 * 487 / 2466170,
			"tcp_mem_pressure": int64(0), "hostwide_netns": int64(1),
		})),
		counters(hostwide(zeroCounters(), 0, 0, 0, 0)),
	}
}

// outOfSocketMemory is testdata/out-of-socket-memory: orphans at 96.7 % of
// the limit under the 4x penalty, connections already killed. Its "sockets:
// used" is below the TCP count (a pre-4.16 kernel, whose socket files
// leave the orphans out): numothersock 314.
func outOfSocketMemory(t testing.TB) []telegraf.Metric {
	return []telegraf.Metric{
		gauges(numOtherSock(t, "out-of-socket-memory", map[string]any{
			"sockets_used": int64(48476), "unix_sockets": int64(41),
			"tcp_inuse": int64(174950), "tcp_orphan": int64(126800), "tcp_tw": int64(153787), "tcp_alloc": int64(174954),
			"tcp_mem_pages": int64(102910), "tcp_mem_bytes": int64(102910 * 4096),
			"udp_inuse": int64(34), "udp_mem_pages": int64(3), "udp_mem_bytes": int64(3 * 4096),
			"udplite_inuse": int64(0), "raw_inuse": int64(1),
			"frag_inuse": int64(3), "frag_memory_bytes": int64(4968),
			"tcp6_inuse": int64(12), "udp6_inuse": int64(4), "udplite6_inuse": int64(0), "raw6_inuse": int64(0),
			"frag6_inuse": int64(0), "frag6_memory_bytes": int64(0),
			"tcp_mem_min_pages": int64(3480768), "tcp_mem_pressure_pages": int64(4641024), "tcp_mem_max_pages": int64(6961536),
			"udp_mem_min_pages": int64(6961536), "udp_mem_pressure_pages": int64(9282048), "udp_mem_max_pages": int64(13923072),
			"tcp_max_orphans": int64(524288), "tcp_max_tw_buckets": int64(262144),
			"files_allocated": int64(52832), "files_max": int64(3247203),
			"tcp_mem_used_percent":            100.0 * 102910 / 6961536,
			"udp_mem_used_percent":            100.0 * 3 / 13923072,
			"tcp_orphan_used_percent":         100.0 * 126800 / 524288,
			"tcp_orphan_penalty_used_percent": 4 * 100.0 * 126800 / 524288,
			"tcp_tw_used_percent":             100.0 * 153787 / 262144,
			"files_used_percent":              100.0 * 52832 / 3247203,
			"tcp_mem_pressure":                int64(0),
			"numothersock":                    int64(314),
			"hostwide_netns":                  int64(1),
		})),
		counters(hostwide(map[string]any{
			"tcp_abort_on_memory": int64(1842), "tcp_memory_pressures": int64(3),
			"tcp_memory_pressures_chrono_ms": int64(5120), "tcp_tw_overflow": int64(0),
			"udp_rcvbuf_errors": int64(7), "udp_sndbuf_errors": int64(2), "udp_mem_errors": int64(1),
			"udp6_rcvbuf_errors": int64(5), "udp6_sndbuf_errors": int64(0), "udp6_mem_errors": int64(0),
		}, 1842, 3, 0, 1)),
	}
}

func TestGatherQuietHost(t *testing.T) {
	acc := gather(t, newPlugin(t, scenario(t, "quiet-host")))
	require.Empty(t, acc.Errors)
	compare(t, quietHost(t), acc)
}

func TestGatherOutOfSocketMemory(t *testing.T) {
	acc := gather(t, newPlugin(t, scenario(t, "out-of-socket-memory")))
	require.Empty(t, acc.Errors)
	compare(t, outOfSocketMemory(t), acc)
}

// TCP memory above tcp_mem's pressure line, the kernel in pressure; file-max
// is LONG_MAX, as systemd sets it, and is reported as such, without a share.
func TestGatherTCPMemPressure(t *testing.T) {
	acc := gather(t, newPlugin(t, scenario(t, "tcp-mem-pressure")))
	require.Empty(t, acc.Errors)
	compare(t, []telegraf.Metric{
		gauges(numOtherSock(t, "tcp-mem-pressure", map[string]any{
			"sockets_used": int64(2210), "unix_sockets": int64(12), "mptcp_inuse": int64(2), "mptcp6_inuse": int64(1),
			"tcp_inuse": int64(2101), "tcp_orphan": int64(40), "tcp_tw": int64(176000), "tcp_alloc": int64(2104),
			"tcp_mem_pages": int64(171000), "tcp_mem_bytes": int64(171000 * 4096),
			"udp_inuse": int64(9), "udp_mem_pages": int64(12), "udp_mem_bytes": int64(12 * 4096),
			"udplite_inuse": int64(0), "raw_inuse": int64(0),
			"frag_inuse": int64(0), "frag_memory_bytes": int64(0),
			"tcp6_inuse": int64(0), "udp6_inuse": int64(0), "udplite6_inuse": int64(0), "raw6_inuse": int64(0),
			"frag6_inuse": int64(0), "frag6_memory_bytes": int64(0),
			"tcp_mem_min_pages": int64(94389), "tcp_mem_pressure_pages": int64(125854), "tcp_mem_max_pages": int64(188778),
			"udp_mem_min_pages": int64(188778), "udp_mem_pressure_pages": int64(251708), "udp_mem_max_pages": int64(377556),
			"tcp_max_orphans": int64(32768), "tcp_max_tw_buckets": int64(180000),
			"files_allocated": int64(6240), "files_max": int64(math.MaxInt64),
			"tcp_mem_used_percent":            100.0 * 171000 / 188778,
			"udp_mem_used_percent":            100.0 * 12 / 377556,
			"tcp_orphan_used_percent":         100.0 * 40 / 32768,
			"tcp_orphan_penalty_used_percent": 4 * 100.0 * 40 / 32768,
			"tcp_tw_used_percent":             100.0 * 176000 / 180000,
			"tcp_mem_pressure":                int64(1),
			"hostwide_netns":                  int64(1),
		})),
		counters(hostwide(map[string]any{
			"tcp_abort_on_memory": int64(0), "tcp_memory_pressures": int64(17),
			"tcp_memory_pressures_chrono_ms": int64(93400), "tcp_tw_overflow": int64(4410),
			"udp_rcvbuf_errors": int64(0), "udp_sndbuf_errors": int64(0), "udp_mem_errors": int64(0),
			"udp6_rcvbuf_errors": int64(0), "udp6_sndbuf_errors": int64(0), "udp6_mem_errors": int64(0),
		}, 0, 17, 4410, 0)),
	}, acc)
}

// Inside an OpenVZ container: no sockstat6, snmp6, tcp_mem, udp_mem or
// tcp_max_orphans, so neither their fields nor the shares and the pressure
// flag built on them; numothersock comes from the container's beancounter,
// and every beancounter row is a series.
func TestGatherOpenVZContainer(t *testing.T) {
	acc := gather(t, newPlugin(t, scenario(t, "openvz-container")))
	require.Empty(t, acc.Errors)
	c := zeroCounters()
	delete(c, "udp6_rcvbuf_errors")
	delete(c, "udp6_sndbuf_errors")
	delete(c, "udp6_mem_errors")
	const max = math.MaxInt64
	compare(t, []telegraf.Metric{
		gauges(map[string]any{
			"sockets_used": int64(371), "unix_sockets": int64(301),
			"tcp_inuse": int64(29), "tcp_orphan": int64(0), "tcp_tw": int64(3), "tcp_alloc": int64(31),
			"tcp_mem_pages": int64(2), "tcp_mem_bytes": int64(2 * 4096),
			"udp_inuse": int64(14), "udp_mem_pages": int64(1), "udp_mem_bytes": int64(4096),
			"udplite_inuse": int64(0), "raw_inuse": int64(0),
			"frag_inuse": int64(0), "frag_memory_bytes": int64(0),
			"numothersock":       int64(342),
			"tcp_max_tw_buckets": int64(4096),
			"files_allocated":    int64(1184), "files_max": int64(9312),
			"tcp_tw_used_percent": 100.0 * 3 / 4096,
			"files_used_percent":  100.0 * 1184 / 9312,
			"hostwide_netns":      int64(1),
		}),
		counters(hostwide(c, 0, 0, 0, 0)),
		beancounter("101", "kmemsize", 2752512, 2924544, 14372700, 14790164, 0, 100.0*2752512/14372700),
		beancounter("101", "lockedpages", 0, 0, 256, 256, 0, 0),
		beancounter("101", "privvmpages", 49152, 53575, 65536, 69632, 0, 100.0*49152/65536),
		beancounter("101", "shmpages", 39, 39, 8192, 8192, 0, 100.0*39/8192),
		beancounter("101", "numproc", 20, 26, 240, 240, 0, 100.0*20/240),
		// A barrier of 0 has no share.
		beancounter("101", "physpages", 2267, 2399, 0, max, 0),
		beancounter("101", "numtcpsock", 40, 45, 360, 360, 0, 100.0*40/360),
		beancounter("101", "othersockbuf", 6684, 7888, 1126080, 2097152, 0, 100.0*6684/1126080),
		beancounter("101", "dgramrcvbuf", 0, 8372, 262144, 262144, 0, 0),
		beancounter("101", "numothersock", 342, 360, 360, 360, 1294, 95),
		beancounter("101", "numfile", 238, 306, 9312, 9312, 0, 100.0*238/9312),
		beancounter("101", "numiptent", 10, 16, 128, 128, 0, 100.0*10/128),
	}, acc)
}

// On an OpenVZ host the file lists every container; numothersock is the
// host's own row (ctid 0).
func TestGatherOpenVZHost(t *testing.T) {
	acc := gather(t, newPlugin(t, scenario(t, "openvz-host")))
	require.Empty(t, acc.Errors)
	host, ok := acc.Get("sockwatch")
	require.True(t, ok)
	require.Equal(t, int64(118), host.Fields["numothersock"])
	rows := map[string]int{}
	for _, m := range acc.GetTelegrafMetrics() {
		if m.Name() == "sockwatch_beancounter" {
			ctid, _ := m.GetTag("ctid")
			rows[ctid]++
		}
	}
	require.Equal(t, map[string]int{"0": 12, "101": 12, "102": 12, "205": 12}, rows)
	require.True(t, acc.HasPoint("sockwatch_beancounter",
		map[string]string{"ctid": "205", "resource": "numothersock"}, "held", int64(291)))
}

// With counters = false the host series is the gauge alone, and a broken
// counter source is not worth an error.
func TestGatherCountersOff(t *testing.T) {
	countersOff := func(root string) *Sockwatch {
		s := &Sockwatch{ProcRoot: root, Log: testutil.Logger{}}
		require.NoError(t, s.Init())
		s.reader.PageSize = 4096
		return s
	}
	acc := gather(t, countersOff(scenario(t, "out-of-socket-memory")))
	require.Empty(t, acc.Errors)
	want := outOfSocketMemory(t)[:1]
	want[0].RemoveField("hostwide_netns")
	compare(t, want, acc)

	acc = gather(t, countersOff(scenario(t, "garbage-sources")))
	for _, err := range acc.Errors {
		require.NotRegexp(t, `/(netstat|snmp6?):`, err.Error())
	}
	require.Len(t, acc.Errors, 6)
}

// Every source but sockstat is broken in its own way: each is one error
// naming its file, and only the fields it feeds are missing.
func TestGatherGarbageSources(t *testing.T) {
	root := scenario(t, "garbage-sources")
	acc := gather(t, newPlugin(t, root))
	var msgs []string
	for _, err := range acc.Errors {
		msgs = append(msgs, err.Error())
	}
	for _, file := range []string{
		"net/sockstat6:2:", "sys/net/ipv4/tcp_mem:1:", "sys/net/ipv4/tcp_max_orphans:1:", "sys/fs/file-nr:1:",
		"net/netstat:2:", "net/snmp6:1:", "user_beancounters:3:", "net/unix:3:",
	} {
		require.Contains(t, msgs, findPrefixed(msgs, filepath.Join(root, file)), "no error names %s", file)
	}
	require.Len(t, msgs, 8)

	host, ok := acc.Get("sockwatch")
	require.True(t, ok)
	require.Equal(t, int64(371), host.Fields["sockets_used"])
	for _, missing := range []string{
		"tcp6_inuse", "udp6_inuse", "tcp_mem_max_pages", "tcp_mem_used_percent", "tcp_mem_pressure",
		"tcp_max_orphans", "tcp_orphan_used_percent", "files_allocated", "files_used_percent", "unix_sockets",
	} {
		require.NotContains(t, host.Fields, missing)
	}
	require.Equal(t, int64(4096), host.Fields["files_max"])
	for _, m := range acc.GetTelegrafMetrics() {
		require.NotEqual(t, "sockwatch_beancounter", m.Name())
		if m.Type() == telegraf.Counter {
			require.NotContains(t, m.Fields(), "tcp_abort_on_memory")
			require.NotContains(t, m.Fields(), "udp6_rcvbuf_errors")
		}
	}
}

func findPrefixed(msgs []string, prefix string) string {
	for _, m := range msgs {
		if len(m) >= len(prefix) && m[:len(prefix)] == prefix {
			return m
		}
	}
	return prefix + " (not found)"
}

// A sockstat that cannot be parsed is one error and no metrics at all.
func TestGatherUnreadableSockstat(t *testing.T) {
	root := scenario(t, "truncated-sockstat")
	acc := gather(t, newPlugin(t, root))
	require.Empty(t, acc.GetTelegrafMetrics())
	require.Len(t, acc.Errors, 1)
	require.Contains(t, acc.Errors[0].Error(), filepath.Join(root, "net", "sockstat")+":2:")

	acc = gather(t, newPlugin(t, t.TempDir()))
	require.Empty(t, acc.GetTelegrafMetrics())
	require.Len(t, acc.Errors, 1)
	require.ErrorIs(t, acc.Errors[0], os.ErrNotExist)
}

func TestInitProcRoot(t *testing.T) {
	t.Setenv("HOST_PROC", "")
	missing := filepath.Join(t.TempDir(), "nope")
	err := (&Sockwatch{ProcRoot: missing}).Init()
	require.ErrorContains(t, err, "proc root "+missing+" (option proc_root)")
	require.ErrorIs(t, err, os.ErrNotExist)

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	require.EqualError(t, (&Sockwatch{ProcRoot: file}).Init(),
		"proc root "+file+" (option proc_root) is not a directory")

	t.Setenv("HOST_PROC", missing)
	require.ErrorContains(t, (&Sockwatch{}).Init(), "proc root "+missing+" (environment variable HOST_PROC)")
}

// HOST_PROC is the proc root when proc_root is not set, and proc_root wins
// over it.
func TestHostProc(t *testing.T) {
	t.Setenv("HOST_PROC", scenario(t, "quiet-host"))
	s := &Sockwatch{Counters: true}
	require.NoError(t, s.Init())
	acc := gather(t, s)
	require.True(t, acc.HasPoint("sockwatch", map[string]string{}, "sockets_used", int64(14)))

	s = &Sockwatch{ProcRoot: scenario(t, "tcp-mem-pressure"), Counters: true}
	require.NoError(t, s.Init())
	acc = gather(t, s)
	require.True(t, acc.HasPoint("sockwatch", map[string]string{}, "sockets_used", int64(2210)))
}

// The live host: /proc always has sockstat, and the host series has at least
// the figures every Linux since 4.16 gives.
func TestGatherLive(t *testing.T) {
	t.Setenv("HOST_PROC", "")
	s := &Sockwatch{Counters: true}
	require.NoError(t, s.Init())
	acc := gather(t, s)
	require.Empty(t, acc.Errors)
	host, ok := acc.Get("sockwatch")
	require.True(t, ok)
	for _, f := range []string{"sockets_used", "tcp_inuse", "tcp_mem_bytes", "numothersock", "files_used_percent"} {
		require.Contains(t, host.Fields, f)
	}
	require.Equal(t, int64(os.Getpagesize())*host.Fields["tcp_mem_pages"].(int64), host.Fields["tcp_mem_bytes"])
}

// BenchmarkGather is one Gather over the live /proc, metrics included.
func BenchmarkGather(b *testing.B) {
	b.Setenv("HOST_PROC", "")
	s := &Sockwatch{Counters: true}
	require.NoError(b, s.Init())
	var acc testutil.Accumulator
	b.ReportAllocs()
	for b.Loop() {
		acc.ClearMetrics()
		if err := s.Gather(&acc); err != nil || len(acc.Errors) > 0 {
			b.Fatal(err, acc.Errors)
		}
	}
}
