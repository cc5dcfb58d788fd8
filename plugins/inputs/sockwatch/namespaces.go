//go:build linux

package sockwatch

import (
	"strconv"
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// gatherNamespaces emits one sockwatch series per network namespace under
// the proc root, tagged netns (its inode, as lsns and ip netns identify show
// it) and process_name (its lowest PID's name). Only per-namespace figures
// go in them: the global ones (orphans, TCP and UDP memory, the limits) are
// the host series' alone.
//
// A namespace whose ns/net link the agent may not resolve (another user's
// processes, without CAP_SYS_PTRACE) has no name that would stay the same
// from one gather to the next: it is left out, counted in the host field
// netns_unnamed, and logged once.
//
// scan is the namespaces read with the snapshot the host series is made of,
// and host that series' gauge fields, to which netns_unnamed is added: the
// host's namespace takes its unix_sockets from host when that has them. now
// is the timestamp of every point.
func (s *Sockwatch) gatherNamespaces(acc telegraf.Accumulator, host map[string]any, scan *core.NetNSScan, now time.Time) {
	var unnamed int64
	for i := range scan.Namespaces {
		ns := &scan.Namespaces[i]
		if ns.Inode == 0 {
			unnamed++
			continue
		}
		for _, err := range ns.Errors {
			acc.AddError(err)
		}
		tags := map[string]string{
			"netns":        strconv.FormatUint(ns.Inode, 10),
			"process_name": tagValue(ns.Comm),
		}
		fields := namespaceGauges(ns)
		if v, ok := host["unix_sockets"]; ok && ns.Host {
			fields["unix_sockets"] = v
		} else {
			putUnixSockets(acc, fields, ns.UnixSockets)
		}
		acc.AddGauge(measurement, fields, tags, now)
		if s.Counters {
			if c := hostCounters(&ns.Counters); len(c) > 0 {
				acc.AddCounter(measurement, c, tags, now)
			}
		}
	}
	host["netns_unnamed"] = unnamed
	if unnamed > 0 && !s.warnedUnnamed {
		s.warnedUnnamed = true
		s.Log.Warnf("%d of %d network namespaces left out: the agent may not read the ns/net link of any of their processes,"+
			" which takes root or CAP_SYS_PTRACE; netns_unnamed counts them at each gather (logged once)",
			unnamed, len(scan.Namespaces))
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
