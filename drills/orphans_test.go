//go:build drill

package drills

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOrphanFlood: a server accepts and never reads; clients with small
// buffers write more than both sides hold and close, each leaving an orphan
// in FIN_WAIT1. With tcp_max_orphans lowered to 2000 for a few seconds, the
// check must report the kernel's orphan count, go WARNING past 20 % and
// CRITICAL past 25 % of the limit (its defaults), and, once the flood passes
// the limit and the kernel kills orphans, report TCPAbortOnMemory's growth
// as CRITICAL on the next run (state file).
//
// The orphan count is global: other work on the host adds a few transient
// orphans, so each step tops the host's count up to a target, and a reading
// counts only when the kernel's figure did not move during the check's run.
// The check runs in the initial network namespace, the only one that has
// tcp_max_orphans; TCPAbortOnMemory is counted in the drill's namespace,
// which the check reads through the drill's proc root.
func TestOrphanFlood(t *testing.T) {
	const limit = 2000
	n := startNS(t, "drill-orphans", "drill-orphans")
	// Accepted connections inherit the listener's small receive buffer.
	port := n.DoInt("tcp-listen hold 2048")
	args := []string{"--only", "orphans", "--state-file", filepath.Join(n.Dir, "check.state")}
	restore := lowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_max_orphans"}, []string{fmt.Sprint(limit)})

	tab := newStepTable(t, fmt.Sprintf("orphan flood drill: tcp_max_orphans %d (global, for the drill); check --only orphans (defaults: warning 20%%, critical 25%%)", limit),
		"step", "drill orphans made", "kernel orphans", "check orphans", "kernel TCPAbortOnMemory", "check tcp_abort_on_memory", "check state")
	made := 0
	var lastAborts int64
	for step, s := range []struct {
		target int // host-wide orphans to reach; 0: add none
		state  string
	}{
		{0, "OK"},          // baseline of the counters in the state file
		{200, "OK"},        // 10 %
		{450, "WARNING"},   // 22.5 %
		{600, "CRITICAL"},  // 30 %
		{2200, "CRITICAL"}, // past the limit: the kernel kills orphans
	} {
		if add := s.target - int(n.Sockstat()["TCP.orphan"]); s.target > 0 && add > 0 {
			n.Do("orphans %d %d 4096", port, add)
			made += add
		}
		if s.target > limit {
			// The kernel kills orphans on their next timer, judging by a count
			// it refreshes every 100 ms: wait until it is done.
			n.waitStable(3*time.Second, orphans)
		}
		var r checkResult
		k, c := n.stable("orphan count", orphans, func() { r = n.Check(inHostNet, args...) })
		aborts := c["TcpExt.TCPAbortOnMemory"]
		tab.Row(step, made, k["TCP.orphan"], r.Value(t, "orphans"), aborts, r.Value(t, "tcp_abort_on_memory"), r.State)
		tab.Saw(r.Output)

		require.Equal(t, k["TCP.orphan"], r.Value(t, "orphans"), "check orphans:\n%s", r.Output)
		require.Equal(t, aborts, r.Value(t, "tcp_abort_on_memory"), "check tcp_abort_on_memory:\n%s", r.Output)
		require.Equal(t, s.state, r.State, "check state at %d orphans of %d:\n%s", k["TCP.orphan"], limit, r.Output)
		if s.target > limit {
			require.Greater(t, aborts, lastAborts, "the kernel killed no orphan past the limit")
			require.Contains(t, r.Output, "tcp_abort_on_memory: CRITICAL", "TCPAbortOnMemory's growth is critical:\n%s", r.Output)
			require.Contains(t, r.Output, "tcp_max_orphans", "the advice names the tunable:\n%s", r.Output)
		} else {
			require.Equal(t, lastAborts, aborts, "the kernel killed orphans below the limit")
		}
		lastAborts = aborts
	}
	restore()
}

func orphans(k kernelTable) int64 { return k["TCP.orphan"] }

// waitStable polls sockstat until figure holds still for 300 ms, for at
// most timeout.
func (n *drillNS) waitStable(timeout time.Duration, figure func(kernelTable) int64) {
	n.t.Helper()
	last, since := int64(-1), time.Now()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		v := figure(n.Sockstat())
		if v != last {
			last, since = v, time.Now()
		} else if time.Since(since) >= 300*time.Millisecond {
			return
		}
	}
}

// stable runs run until the kernel's figure and the drill's TcpExt
// counters read the same before and after it, so that what run saw is the
// returned kernel table and counters. Global figures move with the host's
// other work; a few tries suffice.
func (n *drillNS) stable(what string, figure func(kernelTable) int64, run func()) (kernelTable, kernelTable) {
	n.t.Helper()
	for try := 0; ; try++ {
		k1, c1 := n.Sockstat(), n.Netstat()
		run()
		k2, c2 := n.Sockstat(), n.Netstat()
		if figure(k1) == figure(k2) && c1["TcpExt.TCPAbortOnMemory"] == c2["TcpExt.TCPAbortOnMemory"] &&
			c1["TcpExt.TCPMemoryPressures"] == c2["TcpExt.TCPMemoryPressures"] {
			return k2, c2
		}
		require.Less(n.t, try, 20, "the kernel's %s never held still while sockwatch ran (%d then %d)", what, figure(k1), figure(k2))
		time.Sleep(50 * time.Millisecond)
	}
}
