//go:build drill

package drills

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sockwatch/sockwatch/internal/drilltest"
)

// TestUnixSocketLeak: a process named like a PHP-FPM worker opens UNIX
// connections to a mysqld-like listener and never closes them, 25 per step;
// each holds two sockets (its end and the listener's). The check, run in the
// drill's namespace with thresholds on numothersock, must follow the leak
// exactly, name the worker and the socket path in --top, and turn WARNING
// then CRITICAL at the steps the thresholds put them.
func TestUnixSocketLeak(t *testing.T) {
	const perStep, warn, crit = 25, 140, 190
	n := startNS(t, "php-fpm", "php-fpm: pool www", "mysqld")
	sock := filepath.Join(n.Dir, "mysqld.sock")
	n.Do("spawn mysqld %s %s", drilltest.RoleUnix, sock)
	args := []string{"--only", "numothersock", "--top", "5", "--state-file", filepath.Join(n.Dir, "check.state"),
		"-w", fmt.Sprintf("numothersock=%d", warn), "-c", fmt.Sprintf("numothersock=%d", crit)}
	worker := regexp.MustCompile(`php-fpm \(root\): (\d+) sockets? \((\d+) unix`)
	path := regexp.MustCompile(`unix path ` + regexp.QuoteMeta(sock) + `: (\d+) sockets?`)

	tab := newStepTable(t, fmt.Sprintf("UNIX socket leak drill: php-fpm leaks %d connections per step; check --only numothersock -w %d -c %d --top 5", perStep, warn, crit),
		"step", "leaked connections", "kernel numothersock", "check numothersock", "check state", "--top php-fpm unix", "--top path sockets")
	for step, state := range []string{"OK", "OK", "OK", "WARNING", "CRITICAL"} {
		leaked := 0
		if step > 0 {
			leaked = n.DoInt("unix-connect %s %d", sock, perStep)
		}
		// The listener, and two sockets per connection: the kernel creates
		// the listener's end when it connects, before accept.
		want := int64(1 + 2*leaked)
		k := n.WaitSockstat(5*time.Second, func(k kernelTable) bool { return otherSockets(k) == want })
		// The path's sockets in --top are the listener's descriptors: those
		// the mysqld has accepted so far. Give it a moment to catch up.
		var r checkResult
		var w, p []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			r = n.Check(inDrillNet, args...)
			// A worker without sockets is not an owner: at step 0 it is absent.
			if w = worker.FindStringSubmatch(r.Output); w == nil {
				w = []string{"", "0", "0"}
			}
			p = path.FindStringSubmatch(r.Output)
			require.NotNil(t, p, "--top does not name the socket path %s:\n%s", sock, r.Output)
			if p[1] == strconv.Itoa(leaked+1) || time.Now().After(deadline) {
				break
			}
		}
		tab.Row(step, leaked, otherSockets(k), r.Value(t, "numothersock"), r.State, w[2], p[1])
		tab.Saw(r.Output)

		require.Equal(t, want, otherSockets(k), "the kernel's count of non-TCP sockets with %d leaked connections", leaked)
		require.Equal(t, want, r.Value(t, "numothersock"), "check numothersock:\n%s", r.Output)
		require.Equal(t, state, r.State, "check state at numothersock %d:\n%s", want, r.Output)
		require.Equal(t, strconv.Itoa(leaked), w[2], "the worker's UNIX sockets in --top:\n%s", r.Output)
		require.Equal(t, strconv.Itoa(leaked+1), p[1], "the sockets on %s in --top: the listener and each accepted connection:\n%s", sock, r.Output)
	}
}

// otherSockets is numothersock as the kernel's sockstat gives it in a
// namespace without beancounters: every socket but TCP ones. The drill opens
// no IPv6 sockets, so sockstat6's TCP6 count is left out.
func otherSockets(k kernelTable) int64 {
	return k["sockets.used"] - k["TCP.inuse"]
}
