package nagios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/testenv"
)

// TestHostWideCounters: without --namespaces, the counters are summed over
// every network namespace, so that aborts the kernel counted in a
// container make the host's check CRITICAL. A namespace that appeared
// counts whole when its processes started after the last run, and is a
// baseline when they are older.
func TestHostWideCounters(t *testing.T) {
	src := fixture(t, "netns-containers")
	root := testenv.CopyTree(t, src, testenv.Owner)
	state := filepath.Join(t.TempDir(), "state.json")
	boot := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	require.NoError(t, os.WriteFile(filepath.Join(root, "stat"), []byte(fmt.Sprintf("cpu 1 2 3\nbtime %d\n", boot.Unix())), 0o644))
	// newNS makes process pid the only one of a new namespace, started at
	// at, whose TCPAbortOnMemory is aborts.
	newNS := func(pid int, inode string, at time.Time, aborts string) {
		dir := filepath.Join(root, fmt.Sprint(pid))
		require.NoError(t, os.CopyFS(filepath.Join(dir, "net"), os.DirFS(filepath.Join(src, "812", "net"))))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "ns"), 0o755))
		require.NoError(t, os.Symlink("net:["+inode+"]", filepath.Join(dir, "ns", "net")))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "comm"), []byte("worker\n"), 0o644))
		ticks := at.Sub(boot) / (10 * time.Millisecond)
		stat := fmt.Sprintf("%d (worker) S 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, pid, pid, ticks)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		setCounter(t, filepath.Join(dir, "net", "netstat"), "TcpExt", "TCPAbortOnMemory", aborts)
	}
	run := func() output { return check(t, "--proc-root", root, "--state-file", state, "--only", "orphans") }

	o := run()
	require.Equal(t, 0, o.code, o.all)
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=7c", "the php-fpm container's 7 in the host-wide sum")

	setCounter(t, filepath.Join(root, "812", "net", "netstat"), "TcpExt", "TCPAbortOnMemory", "9")
	o = run()
	require.Equal(t, 2, o.code, "growth in a container is the host's\n%s", o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - tcp_abort_on_memory grew by 2, last 0s ago at `, o.first)
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=9c")

	// Held: the next run is still CRITICAL, with nothing new.
	require.Equal(t, 2, run().code)

	// A namespace created since the last run, its 40 aborts all new; and
	// one that existed unseen, its 1000 aborts old.
	newNS(900, "4026539900", time.Now().Add(time.Second), "40")
	newNS(901, "4026539901", time.Now().Add(-time.Hour), "1000")
	o = run()
	require.Equal(t, 2, o.code, o.all)
	require.Contains(t, o.first, "tcp_abort_on_memory grew by 42 since ", "2 held, then 40 more")
	require.Contains(t, o.all, "\nnetns 4026539900 (worker, pid 900) appeared since the last run, its processes started since: its 40 events counted whole\n")
	require.NotContains(t, o.all, "netns 4026539901 (worker, pid 901) appeared")
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=49c")

	// The new namespaces go away: the total stays.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "900")))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "901")))
	o = check(t, "--proc-root", root, "--state-file", state, "--only", "orphans", "-v")
	require.Contains(t, perfItems(o.perf), "tcp_abort_on_memory=49c", o.all)
	require.Contains(t, o.all, "\ncounters: host-wide, summed over 6 network namespaces; 2 gone since the last run\n")

	// -vv lists each namespace's counters.
	o = check(t, "--proc-root", root, "--state-file", state, "--only", "orphans", "-vv")
	require.Contains(t, o.all, "\ncounters: "+fpm+": tcp_abort_on_memory 9 (+0), tcp_memory_pressures 0 (+0)")
	o = check(t, "--proc-root", root, "--state-file", state, "--only", "orphans", "-vvv")
	require.Contains(t, o.all, "\nstate: growth of tcp_abort_on_memory: by 42 from ")
}

// TestRefusedContainerAdvice: a container refused sockets at its barrier
// holds few once its processes gave up (held 12, maxheld 360, barrier 360):
// failcnt's growth is CRITICAL, and the advice is from the barrier and the
// peak, never below them.
func TestRefusedContainerAdvice(t *testing.T) {
	root := copyTree(t, fixture(t, "openvz-refused"))
	state := filepath.Join(t.TempDir(), "state.json")
	o := check(t, "--proc-root", root, "--state-file", state)
	require.Equal(t, 0, o.code, o.all)
	bc := filepath.Join(root, "user_beancounters")
	data, err := os.ReadFile(bc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bc, []byte(strings.Replace(string(data), "1294", "1310", 1)), 0o644))
	o = check(t, "--proc-root", root, "--state-file", state)
	require.Equal(t, 2, o.code, o.all)
	require.Regexp(t, `^SOCKWATCH CRITICAL - container 101 numothersock failcnt grew by 16, last 0s ago at `, o.first)
	require.Contains(t, o.all, "\ncontainer 101 numothersock failcnt: CRITICAL 1310, grew by 16, last 0s ago at ")
	require.Contains(t, o.all, "; the kernel refused sockets to container 101; raise the numothersock barrier of container 101"+
		" (now 360, limit 360) to at least 720 (2x the highest of where it is refused, 360, maxheld 360 and held 12),"+
		" e.g. vzctl set 101 --numothersock 720:720 --save, or find the process leaking UNIX or UDP sockets")
}
