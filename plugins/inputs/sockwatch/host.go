//go:build linux

package sockwatch

import (
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

const measurement = "sockwatch"

// gatherHost emits the host series: measurement sockwatch, without tags of
// its own. Levels and limits go out as a gauge; the kernel's event counters,
// which only grow, as a counter of the same measurement, tags and timestamp,
// so that the line protocol (and InfluxDB) shows one series while outputs
// that care about value types (prometheus_client) see counters as counters.
//
// events, with counters on, adds the host-wide events: each summed over
// every network namespace (the kernel counts them in the namespace of the
// socket), as a counter that never decreases when a namespace goes away.
func (s *Sockwatch) gatherHost(acc telegraf.Accumulator, gauges map[string]any, counters *core.Counters, events *core.EventUpdate, now time.Time) {
	if events != nil {
		gauges["hostwide_netns"] = int64(len(events.Namespaces))
	}
	acc.AddGauge(measurement, gauges, nil, now)
	if !s.Counters {
		return
	}
	c := hostCounters(counters)
	if events != nil {
		for e := range core.NumEvents {
			if events.Sum[e].Known {
				c["hostwide_"+e.String()] = events.Totals[e]
			}
		}
	}
	if len(c) > 0 {
		acc.AddCounter(measurement, c, nil, now)
	}
}

// hostGauges are the sockstat counts, the limits and the shares derived
// from them. A figure the kernel did not give is left out, never sent as 0.
func hostGauges(snap *core.Snapshot) map[string]any {
	f := make(map[string]any, 48)
	st, lim := &snap.Sockstat, &snap.Limits

	putPerNamespace(f, st)
	putNum(f, "tcp_orphan", st.TCPOrphan)
	putNum(f, "tcp_alloc", st.TCPAlloc)
	putNum(f, "tcp_mem_pages", st.TCPMemPages)
	putNum(f, "tcp_mem_bytes", snap.TCPMemBytes())
	putNum(f, "udp_mem_pages", st.UDPMemPages)
	putNum(f, "udp_mem_bytes", snap.UDPMemBytes())
	putNum(f, "numothersock", snap.NumOtherSock().Held)

	putNum(f, "tcp_mem_min_pages", lim.TCPMemMinPages)
	putNum(f, "tcp_mem_pressure_pages", lim.TCPMemPressurePages)
	putNum(f, "tcp_mem_max_pages", lim.TCPMemMaxPages)
	putNum(f, "udp_mem_min_pages", lim.UDPMemMinPages)
	putNum(f, "udp_mem_pressure_pages", lim.UDPMemPressurePages)
	putNum(f, "udp_mem_max_pages", lim.UDPMemMaxPages)
	putNum(f, "tcp_max_orphans", lim.TCPMaxOrphans)
	putNum(f, "tcp_max_tw_buckets", lim.TCPMaxTWBuckets)
	putNum(f, "files_allocated", lim.FilesAllocated)
	putNum(f, "files_max", lim.FilesMax)

	putPercent(f, "tcp_mem_used_percent", snap.TCPMemUsedPercent)
	putPercent(f, "udp_mem_used_percent", snap.UDPMemUsedPercent)
	putPercent(f, "tcp_orphan_used_percent", snap.TCPOrphanUsedPercent)
	putPercent(f, "tcp_orphan_penalty_used_percent", snap.TCPOrphanPenaltyPercent)
	putPercent(f, "tcp_tw_used_percent", snap.TCPTimeWaitUsedPercent)
	putPercent(f, "files_used_percent", snap.FilesUsedPercent)
	if pressure, ok := snap.TCPMemUnderPressure(); ok {
		// 0 or 1 rather than a boolean: it can be averaged into the share
		// of time spent under pressure, and every output takes integers.
		var v int64
		if pressure {
			v = 1
		}
		f["tcp_mem_pressure"] = v
	}
	return f
}

// hostCounters are the kernel's event counters; empty when none is known.
func hostCounters(c *core.Counters) map[string]any {
	f := make(map[string]any, 10)
	for name, n := range c.All() {
		putNum(f, name, n)
	}
	return f
}

// putPerNamespace adds the figures sockstat keeps per network namespace,
// which the host series and the per-namespace series share.
func putPerNamespace(f map[string]any, st *core.Sockstat) {
	putNum(f, "sockets_used", st.SocketsUsed)
	putNum(f, "tcp_inuse", st.TCPInUse)
	putNum(f, "tcp_tw", st.TCPTimeWait)
	putNum(f, "udp_inuse", st.UDPInUse)
	putNum(f, "udplite_inuse", st.UDPLiteInUse)
	putNum(f, "raw_inuse", st.RawInUse)
	putNum(f, "frag_inuse", st.FragInUse)
	putNum(f, "frag_memory_bytes", st.FragMemoryBytes)
	putNum(f, "tcp6_inuse", st.TCP6InUse)
	putNum(f, "udp6_inuse", st.UDP6InUse)
	putNum(f, "udplite6_inuse", st.UDPLite6InUse)
	putNum(f, "raw6_inuse", st.Raw6InUse)
	putNum(f, "frag6_inuse", st.Frag6InUse)
	putNum(f, "frag6_memory_bytes", st.Frag6MemoryBytes)
	putNum(f, "mptcp_inuse", st.MPTCPInUse)
	putNum(f, "mptcp6_inuse", st.MPTCP6InUse)
}

func putNum(f map[string]any, name string, n core.Num) {
	if n.Known {
		f[name] = n.Value
	}
}

func putPercent(f map[string]any, name string, share func() (float64, bool)) {
	if v, ok := share(); ok {
		f[name] = v
	}
}
