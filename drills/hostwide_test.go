//go:build drill

package drills

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// TestHostWideAborts: a container (the drill's network namespace) leaves
// orphans under a lowered tcp_max_orphans, and the kernel kills them. It
// counts TCPAbortOnMemory in the container's namespace only: the host's
// own namespace counts nothing. The host's check, run as an operator runs
// it (the host's /proc, no --namespaces, its own state file), sums the
// counter over every namespace while the container's process keeps
// running: CRITICAL on its next run, and still CRITICAL on the run after,
// the growth held for --hold so that a core's retries reach a HARD state.
func TestHostWideAborts(t *testing.T) {
	const limit = 300
	n := startNS(t, "drill-hostwide", "drill-hostwide")
	port := n.DoInt("tcp-listen hold 2048")
	bin := testenv.Build(t, "./cmd/check_sockwatch")
	args := []string{"--proc-root", "/proc", "--only", "orphans", "--state-file", filepath.Join(n.Dir, "host.state")}
	hostCheck := func() checkResult { return runCheck(t, exec.Command(bin, args...)) }
	hostAborts := func() int64 {
		k, err := readNetstat("/proc/1/net/netstat")
		require.NoError(t, err)
		return k["TcpExt.TCPAbortOnMemory"]
	}

	tab := newStepTable(t, fmt.Sprintf("host-wide counters drill: a container leaves orphans under tcp_max_orphans %d (global, for the drill);"+
		" the host's check: --proc-root /proc --only orphans, no --namespaces", limit),
		"step", "drill orphans made", "drill netns TCPAbortOnMemory", "host netns TCPAbortOnMemory",
		"check tcp_abort_on_memory (host-wide)", "check state")
	row := func(step string, made int, r checkResult) {
		tab.Row(step, made, n.Netstat()["TcpExt.TCPAbortOnMemory"], hostAborts(), r.Value(t, "tcp_abort_on_memory"), r.State)
		tab.Saw(r.Output)
	}

	r := hostCheck()
	row("baseline", 0, r)
	require.Contains(t, r.Output, "state: no baseline yet", "the first run takes the baseline:\n%s", r.Output)
	drillBefore, hostBefore, sumBefore := n.Netstat()["TcpExt.TCPAbortOnMemory"], hostAborts(), r.Value(t, "tcp_abort_on_memory")

	restore := lowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_max_orphans"}, []string{fmt.Sprint(limit)})
	made := 0
	for try := 0; n.Netstat()["TcpExt.TCPAbortOnMemory"] == drillBefore; try++ {
		require.Less(t, try, 10, "the kernel killed no orphan past tcp_max_orphans %d", limit)
		add := 2*limit - int(n.Sockstat()["TCP.orphan"])
		if add > 0 {
			n.Do("orphans %d %d 4096", port, add)
			made += add
		}
		n.waitStable(3*time.Second, orphans)
	}
	restore()
	drillGrew := n.Netstat()["TcpExt.TCPAbortOnMemory"] - drillBefore

	r = hostCheck()
	row("orphans killed", made, r)
	require.Equal(t, hostBefore, hostAborts(), "the host's own namespace counted no abort: a check of it alone stays OK")
	require.Equal(t, "CRITICAL", r.State, "the container's aborts are the host's:\n%s", r.Output)
	require.GreaterOrEqual(t, r.Value(t, "tcp_abort_on_memory")-sumBefore, drillGrew, "the host-wide sum has the container's aborts:\n%s", r.Output)
	require.Regexp(t, `^SOCKWATCH CRITICAL - tcp_abort_on_memory grew by \d+, last 0s ago at `, r.Output)
	require.Contains(t, r.Output, "tcp_max_orphans", "the advice names the tunable:\n%s", r.Output)

	time.Sleep(time.Second)
	r = hostCheck()
	row("next run, nothing new", made, r)
	require.Equal(t, "CRITICAL", r.State, "held for --hold:\n%s", r.Output)
	require.Regexp(t, `; held until 15m0s without growth \(`, r.Output)
}
