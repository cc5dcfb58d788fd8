//go:build drill

package drills

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTimeWaitOverflow: many short connections, the client closing first,
// fill the TIME_WAIT buckets of a namespace whose tcp_max_tw_buckets is
// lowered. The check, run in that namespace, must report tw as the kernel
// counts it, go WARNING at 80 % and CRITICAL at 95 % of the buckets, and
// report the growth of TCPTimeWaitOverflow once the kernel refuses buckets.
// TIME_WAIT lasts 60 s, longer than the drill: nothing expires meanwhile.
func TestTimeWaitOverflow(t *testing.T) {
	const buckets = 200
	n := startNS(t, "drill-timewait", "drill-timewait")
	n.Do("sysctl net/ipv4/tcp_max_tw_buckets %d", buckets)
	// By default (2) connect() on loopback takes over the port of a
	// TIME_WAIT socket older than a second, which would end it early.
	n.Do("sysctl net/ipv4/tcp_tw_reuse 0")
	// When the server's delayed ACK and its FIN race on two CPUs, the
	// client's TIME_WAIT answers the stale ACK, the closed server answers
	// that with a RST, and by default (RFC 1337 unprotected) the RST ends the
	// TIME_WAIT: a few per hundred on this machine. Keep them all.
	n.Do("sysctl net/ipv4/tcp_rfc1337 1")
	port := n.DoInt("tcp-listen eof 0")
	state := filepath.Join(n.Dir, "check.state")
	overflow0 := n.Netstat()["TcpExt.TCPTimeWaitOverflow"]
	require.Zero(t, overflow0, "a fresh namespace starts with no TIME_WAIT overflow")

	tab := newStepTable(t, fmt.Sprintf("TIME_WAIT drill: tcp_max_tw_buckets %d in the drill's namespace; check --only tw", buckets),
		"step", "connections", "kernel tw", "check tw", "kernel TCPTimeWaitOverflow", "check tcp_tw_overflow", "check state")
	total := 0
	for step, s := range []struct {
		conns int
		state string
	}{
		{0, "OK"},         // baseline of the counters in the state file
		{100, "OK"},       // 50 %
		{70, "WARNING"},   // 85 %
		{22, "CRITICAL"},  // 96 %
		{100, "CRITICAL"}, // full: 92 refused, TCPTimeWaitOverflow grows
	} {
		if s.conns > 0 {
			n.Do("short %d %d", port, s.conns)
		}
		total += s.conns
		wantTW, wantOverflow := int64(min(total, buckets)), int64(max(total-buckets, 0))
		k := n.WaitSockstat(5*time.Second, func(k kernelTable) bool {
			return k["TCP.tw"] == wantTW && n.Netstat()["TcpExt.TCPTimeWaitOverflow"] == wantOverflow
		})
		overflow := n.Netstat()["TcpExt.TCPTimeWaitOverflow"]
		r := n.Check(inDrillNet, "--only", "tw", "--state-file", state)
		tab.Row(step, total, k["TCP.tw"], r.Value(t, "tw"), overflow, r.Value(t, "tcp_tw_overflow"), r.State)
		tab.Saw(r.Output)

		require.Equal(t, wantTW, k["TCP.tw"], "the kernel's TIME_WAIT count after %d connections", total)
		require.Equal(t, wantOverflow, overflow, "the kernel's TCPTimeWaitOverflow after %d connections", total)
		require.Equal(t, k["TCP.tw"], r.Value(t, "tw"), "check tw:\n%s", r.Output)
		require.Equal(t, overflow, r.Value(t, "tcp_tw_overflow"), "check tcp_tw_overflow:\n%s", r.Output)
		require.Equal(t, s.state, r.State, "check state at tw %d of %d:\n%s", k["TCP.tw"], buckets, r.Output)
		if wantOverflow > 0 {
			require.Contains(t, r.Output, "tcp_tw_overflow: WARNING", "the overflow's growth is an alert of its own:\n%s", r.Output)
			require.Contains(t, r.Output, "tcp_max_tw_buckets", "the advice names the tunable:\n%s", r.Output)
		}
	}
}
