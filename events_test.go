package sockwatch

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseKernel(t *testing.T) {
	for in, want := range map[string]Kernel{
		"3.10.0-123.el7.x86_64\n": {3, 10},
		"4.15.0-213-generic":      {4, 15},
		"4.16.0":                  {4, 16},
		"6.18.0-rc1+":             {6, 18},
		"5.4":                     {5, 4},
		"":                        {},
		"garbage":                 {},
		"5.":                      {},
		"-5.4":                    {},
		"+5.4":                    {},
		"5.+4":                    {},
		"99999999999999999999.1":  {},
	} {
		require.Equal(t, want, parseKernel([]byte(in)), "%q", in)
	}
	require.True(t, Kernel{3, 10}.Before(4, 16))
	require.True(t, Kernel{4, 15}.Before(4, 16))
	require.False(t, Kernel{4, 16}.Before(4, 16))
	require.False(t, Kernel{5, 0}.Before(4, 16))
	require.False(t, Kernel{}.Before(4, 16), "unknown is taken as recent")
}

func TestParseProtocolsPressure(t *testing.T) {
	const header = "protocol  size sockets  memory press maxhdr  slab module     cl co\n"
	for line, want := range map[string]Num{
		"TCP       2304      1     357   no     192   yes  kernel      y  y\n":   Known(0),
		"TCP       2304      1  171000   yes    192   yes  kernel      y  y\n":   Known(1),
		"UDP       1344      0       0   NI       0   yes  kernel      y  y\n":   {},
		"UNIX-STREAM 1152    2      -1   NI       0   yes  kernel      y  n\n":   {},
		"TCPv6     2432      0     357   yes    192   yes  kernel      y  y\n":   {},
		"MPTCP     1936      2     357   no       0   yes  kernel      y  y  \n": {},
	} {
		var s Sockstat
		require.NoError(t, parseProtocols("protocols", []byte(header+line), &s), line)
		require.Equal(t, want, s.TCPPressure, line)
	}
	var s Sockstat
	err := parseProtocols("protocols", []byte(header+"TCP 2304 1 357 maybe 192 yes kernel y y\n"), &s)
	require.EqualError(t, err, `protocols:2: TCP press: "maybe" is neither yes nor no`)
	err = parseProtocols("protocols", []byte(header+"TCP 2304 1\n"), &s)
	require.EqualError(t, err, `protocols:2: TCP: no press column`)
	// Without the column (not a kernel sockwatch knows), no flag and no
	// error.
	require.NoError(t, parseProtocols("protocols", []byte("protocol size sockets\nTCP 2304 1\n"), &s))
}

// A negative "sockets: used" leaves it unknown and everything else read.
func TestParseSockstatNegativeUsed(t *testing.T) {
	var s Sockstat
	require.NoError(t, parseSockstat("sockstat", []byte("sockets: used -3\nTCP: inuse 4 orphan 0 tw 1 alloc 5 mem 2\n"), &s))
	require.False(t, s.SocketsUsed.Known)
	require.Equal(t, int64(-3), s.usedNegative)
	require.Equal(t, Known(4), s.TCPInUse)
	require.Error(t, parseSockstat("sockstat", []byte("TCP: inuse -4\n"), &Sockstat{}), "only sockets used may be negative")
}

func TestParseStartTime(t *testing.T) {
	// Field 22 after a name holding spaces and parentheses.
	line := "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10 18446744073709551615\n"
	v, ok := parseStartTime([]byte(line))
	require.True(t, ok)
	require.Equal(t, int64(123456), v)
	for _, bad := range []string{"", "4242 (a S 1", "4242 (a) S 1 2 3", "4242 (a) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x 1"} {
		_, ok := parseStartTime([]byte(bad))
		require.False(t, ok, bad)
	}
}

// nsWith is a namespace of key whose TCPAbortOnMemory is abort.
func nsWith(key string, abort int64, pids ...int) NetNS {
	return NetNS{Key: key, PIDs: pids, Counters: Counters{TCPAbortOnMemory: Known(abort), TCPMemoryPressures: Known(0),
		TCPTimeWaitOverflow: Known(0), UDPMemErrors: Known(1), UDP6MemErrors: Known(2)}}
}

// TestEventTracker follows namespaces across updates: growth summed, a
// counter below its baseline counted from zero, a namespace gone dropped
// without a decrease, a new one counted whole only when its processes
// started after the last update.
func TestEventTracker(t *testing.T) {
	root := t.TempDir()
	boot := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.WriteFile(filepath.Join(root, "stat"), []byte(fmt.Sprintf("cpu 1 2 3\nbtime %d\n", boot.Unix())), 0o644))
	started := func(pid int, at time.Time) {
		dir := filepath.Join(root, fmt.Sprint(pid))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		ticks := at.Sub(boot) / (time.Second / userHZ)
		stat := fmt.Sprintf("%d (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, ticks)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
	}
	r := must(NewReader(root))
	var tr EventTracker
	t0 := time.Now()

	u := tr.Update(r, nil, &NetNSScan{Namespaces: []NetNS{nsWith("ns1", 10), nsWith("ns2", 5)}}, t0)
	require.True(t, u.First)
	require.Equal(t, Known(15), u.Sum[TCPAbortOnMemory])
	require.Equal(t, Known(6), u.Sum[UDPMemErrors], "Udp and Udp6 MemErrors")
	require.Equal(t, [NumEvents]int64{15, 0, 0, 6}, u.Totals)
	require.Equal(t, [NumEvents]int64{}, u.Growth)

	// ns1 grew by 3, ns2 restarted at 2, ns3 appeared with processes
	// started before the last update (a baseline), ns4 after (counted).
	started(40, t0.Add(-time.Minute))
	started(41, t0.Add(-time.Minute))
	started(50, t0.Add(-time.Minute))
	started(51, t0.Add(2*time.Second))
	t1 := t0.Add(time.Minute)
	u = tr.Update(r, nil, &NetNSScan{Namespaces: []NetNS{nsWith("ns1", 13), nsWith("ns2", 2),
		nsWith("ns3", 100, 40, 41), nsWith("ns4", 7, 51, 52)}}, t1)
	require.False(t, u.First)
	require.Equal(t, int64(3+2+7), u.Growth[TCPAbortOnMemory])
	require.Equal(t, int64(3), u.Growth[UDPMemErrors], "ns4's 3 counted whole, the others unchanged")
	require.True(t, u.Namespaces[1].Reset[TCPAbortOnMemory])
	require.Equal(t, int64(5), u.Namespaces[1].Was[TCPAbortOnMemory])
	require.True(t, u.Namespaces[2].New)
	require.False(t, u.Namespaces[2].Counted, "its processes are older than the last update")
	require.True(t, u.Namespaces[3].Counted)
	require.Equal(t, int64(15+12), u.Totals[TCPAbortOnMemory])

	// ns3 goes away: the total does not decrease. A namespace whose start
	// cannot be read is a baseline.
	t2 := t1.Add(time.Minute)
	u = tr.Update(r, nil, &NetNSScan{Namespaces: []NetNS{nsWith("ns1", 13), nsWith("ns2", 2), nsWith("ns4", 7),
		nsWith("ns5", 9, 999)}}, t2)
	require.Equal(t, 1, u.Gone)
	require.Equal(t, [NumEvents]int64{}, u.Growth)
	require.Equal(t, int64(27), u.Totals[TCPAbortOnMemory])
	require.Equal(t, Known(13+2+7+9), u.Sum[TCPAbortOnMemory])
	require.True(t, u.Namespaces[3].StartUnknown)
	require.NotContains(t, tr.Baselines, "ns3/tcp_abort_on_memory")

	// A namespace whose counters cannot be read keeps its baseline and is
	// counted as unread.
	unread := nsWith("ns1", 0)
	unread.Counters.TCPAbortOnMemory = Num{}
	u = tr.Update(r, nil, &NetNSScan{Namespaces: []NetNS{unread, nsWith("ns2", 2), nsWith("ns4", 7), nsWith("ns5", 9)}}, t2.Add(time.Minute))
	require.Equal(t, 1, u.Unread[TCPAbortOnMemory])
	require.Equal(t, int64(13), tr.Baselines["ns1/tcp_abort_on_memory"])
	require.Equal(t, [NumEvents]int64{}, u.Growth)

	// btime is whole seconds: a process started just after the last update
	// can read as up to a second before it. Its namespace is still new.
	t3 := t2.Add(time.Minute)
	started(60, t3.Add(-600*time.Millisecond))
	u = tr.Update(r, nil, &NetNSScan{Namespaces: []NetNS{nsWith("ns2", 2), nsWith("ns4", 7), nsWith("ns5", 9),
		nsWith("ns6", 4, 60)}}, t3.Add(time.Minute))
	require.True(t, u.Namespaces[3].Counted)
	require.Equal(t, int64(4), u.Growth[TCPAbortOnMemory])

	// The host's namespace falls back on the host's old baseline.
	tr2 := EventTracker{Last: t0, HostFallback: Events{Known(10)}}
	host := nsWith("ns9", 12)
	host.Host = true
	u = tr2.Update(r, nil, &NetNSScan{Namespaces: []NetNS{host}}, t1)
	require.Equal(t, int64(2), u.Growth[TCPAbortOnMemory])
}
