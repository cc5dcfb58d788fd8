//go:build drill

package drills

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTCPMemoryExhaustion: receivers that never read let senders fill their
// buffers, with tcp_mem lowered for a few seconds to lines 1000, 2000 and
// 4000 pages above the host's TCP memory at the start. The check must go
// WARNING past the pressure line and CRITICAL past 90 % of the max line,
// report TCPMemoryPressures' growth when the kernel enters pressure, and the
// Telegraf plugin must report the same figures.
//
// TCP memory is global and moves with the host's other work, in steps of up
// to net.core.mem_pcpu_rsv pages (per-CPU reserves), so each step fills
// until the host's figure passes its line by a margin, and a reading counts
// only when the kernel's figure held still while sockwatch ran. Both run in
// the initial network namespace, the only one that has tcp_mem;
// TCPMemoryPressures is counted in the drill's namespace, whose sockets
// entered pressure, and read through the drill's proc root.
func TestTCPMemoryExhaustion(t *testing.T) {
	n := startNS(t, "drill-tcpmem", "drill-tcpmem")
	port := n.DoInt("tcp-listen hold 0")
	args := []string{"--only", "tcp_mem", "--state-file", filepath.Join(n.Dir, "check.state")}
	page := int64(os.Getpagesize())
	base := mem(n.Sockstat())
	lines := [3]int64{base + 1000, base + 2000, base + 4000}
	critical := lines[2] * 9 / 10
	restore := lowerGlobal(t, 30*time.Second, []string{"net/ipv4/tcp_mem"},
		[]string{fmt.Sprintf("%d %d %d", lines[0], lines[1], lines[2])})

	tab := newStepTable(t, fmt.Sprintf("TCP memory drill: tcp_mem %d %d %d pages (global, for the drill; host at %d); check --only tcp_mem (defaults: warning at the pressure line, critical 90%% of max = %d pages)",
		lines[0], lines[1], lines[2], base, critical),
		"step", "drill connections", "kernel mem pages", "check tcp_mem pages", "plugin tcp_mem_pages",
		"kernel TCPMemoryPressures", "check tcp_memory_pressures", "plugin tcp_memory_pressures", "check state")
	conns := 0
	var lastPressures int64
	for step, s := range []struct {
		fill  func() bool // whether to open more connections
		batch int
		state string
	}{
		{func() bool { return false }, 0, "OK"}, // baseline of the counters in the state file
		{func() bool { return conns < 16 }, 16, "OK"},
		{func() bool { return mem(n.Sockstat()) <= lines[1]+300 }, 4, "WARNING"},
		{func() bool { return mem(n.Sockstat()) <= critical+300 }, 10, "CRITICAL"},
	} {
		for s.fill() {
			require.Less(t, conns, 400, "TCP memory did not reach its line with 400 connections")
			// Senders' buffers of 64 KiB: about 50 pages a connection.
			n.Do("fill %d %d 65536", port, s.batch)
			conns += s.batch
			time.Sleep(20 * time.Millisecond)
		}
		var r checkResult
		var plugin map[string]any
		k, c := n.stable("TCP memory", mem, func() {
			r = n.Check(inHostNet, args...)
			plugin = n.Plugin(inHostNet)
		})
		pressures := c["TcpExt.TCPMemoryPressures"]
		tab.Row(step, conns, mem(k), r.Value(t, "tcp_mem")/page, plugin["tcp_mem_pages"],
			pressures, r.Value(t, "tcp_memory_pressures"), plugin["tcp_memory_pressures"], r.State)
		tab.Saw(r.Output)

		require.Equal(t, mem(k)*page, r.Value(t, "tcp_mem"), "check tcp_mem (bytes):\n%s", r.Output)
		require.Equal(t, pressures, r.Value(t, "tcp_memory_pressures"), "check tcp_memory_pressures:\n%s", r.Output)
		require.Equal(t, s.state, r.State, "check state at %d pages (lines %v):\n%s", mem(k), lines, r.Output)
		require.Equal(t, mem(k), plugin["tcp_mem_pages"], "plugin tcp_mem_pages")
		require.Equal(t, mem(k)*page, plugin["tcp_mem_bytes"], "plugin tcp_mem_bytes")
		require.Equal(t, pressures, plugin["tcp_memory_pressures"], "plugin tcp_memory_pressures")
		require.Equal(t, lines[1], plugin["tcp_mem_pressure_pages"], "plugin tcp_mem_pressure_pages")
		require.Equal(t, lines[2], plugin["tcp_mem_max_pages"], "plugin tcp_mem_max_pages")
		if s.state == "WARNING" {
			require.Greater(t, pressures, lastPressures, "the kernel did not enter memory pressure past the pressure line")
			require.Contains(t, r.Output, "tcp_memory_pressures: WARNING", "TCPMemoryPressures' growth is reported:\n%s", r.Output)
		}
		if s.state != "OK" {
			require.Equal(t, int64(1), plugin["tcp_mem_pressure"], "plugin tcp_mem_pressure past the pressure line")
			require.Contains(t, r.Output, "net.ipv4.tcp_mem", "the advice names the tunable:\n%s", r.Output)
		}
		lastPressures = pressures
	}
	restore()
}

func mem(k kernelTable) int64 { return k["TCP.mem"] }
