//go:build linux

package sockwatch

import (
	"strconv"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// addNamespaces emits one sockwatch series per network namespace under
// the proc root, tagged netns (its inode, as lsns and ip netns identify show
// it) and process_name (its lowest PID's name). Only per-namespace figures
// go in them: the global ones (orphans, TCP and UDP memory, the limits) are
// the host series' alone.
//
// A namespace whose ns/net link the agent may not resolve (another user's
// processes, without CAP_SYS_PTRACE) has no name that would stay the same
// from one gather to the next: it is left out, counted in the host field
// netns_unnamed (unnamed), and logged once (warnUnnamed).
func (s *Sockwatch) addNamespaces(acc telegraf.Accumulator, r *reading) {
	for i := range r.scan.Namespaces {
		ns := &r.scan.Namespaces[i]
		if ns.Inode == 0 {
			continue
		}
		tags := map[string]string{
			"netns":        strconv.FormatUint(ns.Inode, 10),
			"process_name": tagValue(ns.Comm),
		}
		fields := namespaceGauges(ns)
		putNum(fields, "unix_sockets", r.nsUnixSockets[i])
		acc.AddGauge(measurement, fields, tags, r.now)
		if s.Counters {
			if c := hostCounters(&ns.Counters); len(c) > 0 {
				acc.AddCounter(measurement, c, tags, r.now)
			}
		}
	}
}

// unnamed counts the namespaces of scan that have no series.
func unnamed(scan *core.NetNSScan) int64 {
	var n int64
	for i := range scan.Namespaces {
		if scan.Namespaces[i].Inode == 0 {
			n++
		}
	}
	return n
}

// warnUnnamed logs once that namespaces are left out for want of a name.
func (s *Sockwatch) warnUnnamed(scan *core.NetNSScan) {
	if n := unnamed(scan); n > 0 && !s.warnedUnnamed {
		s.warnedUnnamed = true
		s.Log.Warnf("%d of %d network namespaces left out: the agent may not read the ns/net link of any of their processes,"+
			" which takes root or CAP_SYS_PTRACE; netns_unnamed counts them at each gather (logged once)",
			n, len(scan.Namespaces))
	}
}

// warnUnreadable logs once that processes could not be looked at: the
// namespaces only they are in are missing from the per-namespace series
// and from the host-wide sums.
func (s *Sockwatch) warnUnreadable(scan *core.NetNSScan) {
	if scan.Unreadable > 0 && !s.warnedUnreadable {
		s.warnedUnreadable = true
		s.Log.Warnf("the net directory of %d processes could not be looked at (proc mounted with hidepid?):"+
			" namespaces only they are in are missing, from the host-wide sums too (logged once)", scan.Unreadable)
	}
}

// namespaceGauges are the per-namespace figures of sockstat: the core
// leaves the global ones unknown in a namespace's.
func namespaceGauges(ns *core.NetNS) map[string]any {
	f := make(map[string]any, 20)
	st := &ns.Sockstat
	putPerNamespace(f, st)
	putNum(f, "numothersock", st.NumOtherSock())
	return f
}
