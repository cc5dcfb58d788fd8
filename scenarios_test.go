package sockwatch

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readScenario reads one proc tree of testdata with a 4 KiB page, the page
// size the scenarios were composed for.
func readScenario(t *testing.T, name string) *Snapshot {
	t.Helper()
	r := must(NewReader(filepath.Join("testdata", name)))
	r.PageSize = 4096
	s, err := r.Read()
	require.NoError(t, err)
	return s
}

func n(v int64) Num { return Known(v) }

// share is a derived percentage and whether it is known.
type share struct {
	v  float64
	ok bool
}

func p(v float64, ok bool) share { return share{v, ok} }

// pct asserts a known percentage.
func pct(t *testing.T, want float64, got share) {
	t.Helper()
	require.True(t, got.ok, "percentage unknown")
	require.InDelta(t, want, got.v, 1e-9)
}

func unknownPct(t *testing.T, got share) {
	t.Helper()
	require.False(t, got.ok, "percentage should be unknown")
}

func TestScenarioOutOfSocketMemory(t *testing.T) {
	s := readScenario(t, "out-of-socket-memory")
	require.Empty(t, s.Errors)
	require.Equal(t, filepath.Join("testdata", "out-of-socket-memory", "net"), s.NetDir)
	require.Equal(t, Sockstat{
		SocketsUsed: n(48476),
		TCPInUse:    n(174950), TCPOrphan: n(126800), TCPTimeWait: n(153787), TCPAlloc: n(174954), TCPMemPages: n(102910),
		UDPInUse: n(34), UDPMemPages: n(3), UDPLiteInUse: n(0), RawInUse: n(1),
		FragInUse: n(3), FragMemoryBytes: n(4968),
		TCP6InUse: n(12), UDP6InUse: n(4), UDPLite6InUse: n(0), Raw6InUse: n(0), Frag6InUse: n(0), Frag6MemoryBytes: n(0),
		TCPPressure: n(0), usedFiles: true,
	}, s.Sockstat, "no MPTCP in a 2014 kernel's protocols: unknown")
	require.Equal(t, Kernel{3, 10}, s.Kernel)
	require.Equal(t, Limits{
		TCPMemMinPages: n(3480768), TCPMemPressurePages: n(4641024), TCPMemMaxPages: n(6961536),
		UDPMemMinPages: n(6961536), UDPMemPressurePages: n(9282048), UDPMemMaxPages: n(13923072),
		TCPMaxOrphans: n(524288), TCPMaxTWBuckets: n(262144),
		FilesAllocated: n(52832), FilesMax: n(3247203),
	}, s.Limits)
	require.Equal(t, Counters{
		TCPAbortOnMemory: n(1842), TCPMemoryPressures: n(3), TCPMemoryPressuresChrono: n(5120), TCPTimeWaitOverflow: n(0),
		UDPRcvbufErrors: n(7), UDPSndbufErrors: n(2), UDPMemErrors: n(1),
		UDP6RcvbufErrors: n(5), UDP6SndbufErrors: n(0), UDP6MemErrors: n(0),
	}, s.Counters)
	require.Nil(t, s.Beancounters)

	require.Equal(t, n(102910*4096), s.TCPMemBytes())
	require.Equal(t, n(3*4096), s.UDPMemBytes())
	// The field article dismissed TCP memory (1.5 % of max) and found the
	// orphans: 24 % of the limit is 97 % of it under the 4x penalty.
	pct(t, 102910*100.0/6961536, p(s.TCPMemUsedPercent()))
	pct(t, 126800*100.0/524288, p(s.TCPOrphanUsedPercent()))
	pct(t, 4*126800*100.0/524288, p(s.TCPOrphanPenaltyPercent()))
	pct(t, 153787*100.0/262144, p(s.TCPTimeWaitUsedPercent()))
	pct(t, 52832*100.0/3247203, p(s.FilesUsedPercent()))
	pressure, ok := s.TCPMemUnderPressure()
	require.True(t, ok)
	require.False(t, pressure)
	// This 2014 kernel (3.10) counted socket files host-wide in "sockets:
	// used", orphans (which have no file) left out: fewer than the TCP
	// sockets it had. numothersock takes off the TCP sockets that have a
	// file, in every namespace: until the namespaces are read, it is not
	// known.
	require.Equal(t, OtherSockets{}, s.NumOtherSock())
	require.False(t, s.Sockstat.NumOtherSock().Known, "no per-namespace figure on such a kernel")
	r := must(NewReader(filepath.Join("testdata", "out-of-socket-memory")))
	s, err := r.Read()
	require.NoError(t, err)
	scan, err := r.Namespaces(s)
	require.NoError(t, err)
	require.Empty(t, scan.Namespaces, "a proc tree without processes")
	require.Equal(t, OtherSockets{Held: n(48476 - (174950 + 12 - 126800))}, s.NumOtherSock())
	require.Equal(t, n(314), s.NumOtherSock().Held)
}

func TestScenarioQuietHost(t *testing.T) {
	// Captured on the development machine: values asserted from the files.
	s := readScenario(t, "quiet-host")
	require.Empty(t, s.Errors)
	require.Equal(t, filepath.Join("testdata", "quiet-host", "1", "net"), s.NetDir)
	require.Equal(t, Sockstat{
		SocketsUsed: n(14),
		TCPInUse:    n(1), TCPOrphan: n(0), TCPTimeWait: n(0), TCPAlloc: n(1), TCPMemPages: n(0),
		UDPInUse: n(0), UDPMemPages: n(0), UDPLiteInUse: n(0), RawInUse: n(0), FragInUse: n(0), FragMemoryBytes: n(0),
		TCP6InUse: n(0), UDP6InUse: n(0), UDPLite6InUse: n(0), Raw6InUse: n(0), Frag6InUse: n(0), Frag6MemoryBytes: n(0),
		MPTCPInUse: n(0), MPTCP6InUse: n(0), TCPPressure: n(0),
	}, s.Sockstat)
	require.Equal(t, Limits{
		TCPMemMinPages: n(287898), TCPMemPressurePages: n(383867), TCPMemMaxPages: n(575796),
		UDPMemMinPages: n(575799), UDPMemPressurePages: n(767734), UDPMemMaxPages: n(1151598),
		TCPMaxOrphans: n(131072), TCPMaxTWBuckets: n(131072),
		FilesAllocated: n(487), FilesMax: n(2466170),
	}, s.Limits)
	require.Equal(t, Counters{
		TCPAbortOnMemory: n(0), TCPMemoryPressures: n(0), TCPMemoryPressuresChrono: n(0), TCPTimeWaitOverflow: n(0),
		UDPRcvbufErrors: n(0), UDPSndbufErrors: n(0), UDPMemErrors: n(0),
		UDP6RcvbufErrors: n(0), UDP6SndbufErrors: n(0), UDP6MemErrors: n(0),
	}, s.Counters)
	require.Equal(t, OtherSockets{Held: n(13)}, s.NumOtherSock())
}

func TestScenarioTCPMemPressure(t *testing.T) {
	s := readScenario(t, "tcp-mem-pressure")
	require.Empty(t, s.Errors)
	require.Equal(t, n(171000), s.Sockstat.TCPMemPages)
	pressure, ok := s.TCPMemUnderPressure()
	require.True(t, ok)
	require.True(t, pressure, "the kernel says so: press yes in protocols")
	pct(t, 171000*100.0/188778, p(s.TCPMemUsedPercent()))
	pct(t, 176000*100.0/180000, p(s.TCPTimeWaitUsedPercent()))
	require.Equal(t, n(17), s.Counters.TCPMemoryPressures)
	require.Equal(t, n(93400), s.Counters.TCPMemoryPressuresChrono)
	require.Equal(t, n(4410), s.Counters.TCPTimeWaitOverflow)
	// Three MPTCP listeners: their sockets are neither TCP nor "other".
	require.Equal(t, n(2), s.Sockstat.MPTCPInUse)
	require.Equal(t, n(1), s.Sockstat.MPTCP6InUse)
	require.Equal(t, OtherSockets{Held: n(2210 - 2101 - 3)}, s.NumOtherSock())
	// file-max at LONG_MAX, as systemd sets it: known, and unlimited: no
	// share of it.
	require.Equal(t, n(9223372036854775807), s.Limits.FilesMax)
	require.True(t, NoLimit(s.Limits.FilesMax))
	unknownPct(t, p(s.FilesUsedPercent()))
}

func TestScenarioNoIPv6(t *testing.T) {
	s := readScenario(t, "no-ipv6")
	require.Empty(t, s.Errors, "a missing sockstat6 or snmp6 is not an error")
	require.Equal(t, n(312), s.Sockstat.SocketsUsed)
	require.Equal(t, n(41), s.Sockstat.TCPInUse)
	for _, v := range []Num{s.Sockstat.TCP6InUse, s.Sockstat.UDP6InUse, s.Sockstat.Raw6InUse,
		s.Sockstat.Frag6InUse, s.Sockstat.Frag6MemoryBytes, s.Counters.UDP6RcvbufErrors} {
		require.False(t, v.Known, "IPv6 figures are unknown, not zero")
	}
	require.Equal(t, n(0), s.Counters.UDPRcvbufErrors)
	require.Equal(t, OtherSockets{Held: n(312 - 41)}, s.NumOtherSock())
}

func TestScenarioOpenVZContainer(t *testing.T) {
	s := readScenario(t, "openvz-container")
	require.Empty(t, s.Errors, "limits a container cannot see are unknown, not errors")
	require.False(t, s.Limits.TCPMemMaxPages.Known)
	require.False(t, s.Limits.TCPMaxOrphans.Known)
	require.False(t, s.Limits.UDPMemMaxPages.Known)
	require.Equal(t, n(4096), s.Limits.TCPMaxTWBuckets)
	require.Equal(t, n(9312), s.Limits.FilesMax)
	unknownPct(t, p(s.TCPMemUsedPercent()))
	unknownPct(t, p(s.TCPOrphanUsedPercent()))
	_, ok := s.TCPMemUnderPressure()
	require.False(t, ok)

	require.Len(t, s.Beancounters, 12, "dummy rows are skipped")
	require.Equal(t, Beancounter{ID: "101", Resource: "kmemsize",
		Held: 2752512, MaxHeld: 2924544, Barrier: 14372700, Limit: 14790164}, s.Beancounters[0])
	o := s.NumOtherSock()
	require.Equal(t, OtherSockets{Held: n(342), FromBeancounters: true, ID: "101",
		Barrier: n(360), Limit: n(360), FailCnt: n(1294)}, o)
	b := s.Beancounters[9]
	require.Equal(t, "numothersock", b.Resource)
	pct(t, 342*100.0/360, p(b.UsedPercent()))
	// physpages has no barrier and an unlimited limit.
	require.Equal(t, "physpages", s.Beancounters[5].Resource)
	require.True(t, Unlimited(s.Beancounters[5].Limit))
}

func TestScenarioOpenVZHost(t *testing.T) {
	s := readScenario(t, "openvz-host")
	require.Empty(t, s.Errors)
	ids := map[string]int{}
	for _, b := range s.Beancounters {
		ids[b.ID]++
	}
	require.Equal(t, map[string]int{"0": 12, "101": 12, "102": 12, "205": 12}, ids)
	// The host's own numothersock is container 0's, whose barrier is unlimited.
	require.Equal(t, OtherSockets{Held: n(118), FromBeancounters: true, ID: "0", FailCnt: n(0)}, s.NumOtherSock())
	var ct205 Beancounter
	for _, b := range s.Beancounters {
		if b.ID == "205" && b.Resource == "numothersock" {
			ct205 = b
		}
	}
	require.Equal(t, Beancounter{ID: "205", Resource: "numothersock", Held: 291, MaxHeld: 300, Barrier: 300, Limit: 300}, ct205)
	pct(t, 97, p(ct205.UsedPercent()))
}

func TestScenarioVirtuozzo7(t *testing.T) {
	s := readScenario(t, "virtuozzo7")
	require.Empty(t, s.Errors)
	require.Len(t, s.Beancounters, 20)
	require.Equal(t, Beancounter{ID: "331", Resource: "kmemsize",
		Held: 2952339, MaxHeld: 3059712, Barrier: 24299200, Limit: 26429120}, s.Beancounters[0])
	o := s.NumOtherSock()
	require.Equal(t, OtherSockets{Held: n(20), FromBeancounters: true, ID: "331", FailCnt: n(0)}, o,
		"LONG_MAX barrier and limit are unlimited: unknown, not 9.2e18")
	for _, b := range s.Beancounters {
		if b.Resource == "numothersock" {
			unknownPct(t, p(b.UsedPercent()))
		}
	}
}

func TestScenarioHostProcInContainer(t *testing.T) {
	s := readScenario(t, "host-proc-in-container")
	require.Equal(t, filepath.Join("testdata", "host-proc-in-container", "1", "net"), s.NetDir)
	require.Equal(t, n(905), s.Sockstat.SocketsUsed, "PID 1's namespace (the host) wins over root/net")
}

func TestScenarioTruncatedSockstat(t *testing.T) {
	r := must(NewReader(filepath.Join("testdata", "truncated-sockstat")))
	_, err := r.Read()
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, filepath.Join("testdata", "truncated-sockstat", "net", "sockstat"), fe.Path)
	require.Equal(t, 2, fe.Line)
	require.Contains(t, err.Error(), "sockstat:2: TCP: want key value pairs, got 3 fields")
}

func TestScenarioBinarySockstat(t *testing.T) {
	_, err := must(NewReader(filepath.Join("testdata", "binary-sockstat"))).Read()
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, 1, fe.Line)
}

func TestScenarioGarbageSources(t *testing.T) {
	s := readScenario(t, "garbage-sources")
	// sockstat itself is sound, so the snapshot stands; each bad source is
	// reported with its file and line, and its figures are unknown.
	require.Equal(t, n(371), s.Sockstat.SocketsUsed)
	var msgs []string
	for _, err := range s.Errors {
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		rel, err := filepath.Rel(filepath.Join("testdata", "garbage-sources"), fe.Path)
		require.NoError(t, err)
		msgs = append(msgs, fmt.Sprintf("%s:%d: %v", rel, fe.Line, fe.Err))
	}
	require.Equal(t, []string{
		`net/sockstat6:2: no "LABEL:" at the start of the line`,
		`sys/net/ipv4/tcp_mem:1: want 3 values, got 2`,
		`sys/net/ipv4/tcp_max_orphans:1: value 1: "-5" is not a non-negative integer`,
		`sys/fs/file-nr:1: value 3: "99999999999999999999" is not a non-negative integer`,
		`net/netstat:2: TcpExt: 2 names but 1 values`,
		`net/snmp6:1: want "name value", got 3 fields`,
		`user_beancounters:3: want resource and 5 values, got 5 fields`,
	}, msgs)
	require.False(t, s.Limits.TCPMemMaxPages.Known)
	require.False(t, s.Limits.TCPMaxOrphans.Known)
	require.False(t, s.Limits.FilesAllocated.Known)
	require.Equal(t, n(262144), s.Limits.TCPMaxTWBuckets, "a trailing space is not an error")
	require.Equal(t, n(3), s.Limits.UDPMemMaxPages)
	require.Equal(t, n(4096), s.Limits.FilesMax)
	require.False(t, s.Counters.TCPAbortOnMemory.Known)
	require.Nil(t, s.Beancounters)
	require.Error(t, s.BeancountersErr)
	// The snapshot was read after the bad beancounters: numothersock falls
	// back to sockstat rather than to a half-read file, and sockstat6, which
	// it subtracts, failed: unknown, not "used - TCP".
	require.Equal(t, OtherSockets{}, s.NumOtherSock())
}

func TestMissingRoot(t *testing.T) {
	_, err := must(NewReader(filepath.Join(t.TempDir(), "nope"))).Read()
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), "nope/net/sockstat")
}
