//go:build linux

package sockwatch

import (
	"errors"
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// gatherCgroups emits one sockwatch_cgroup series for each of the
// cgroups_top cgroups holding the most socket buffer memory of their own,
// from the sock line of cgroup v2's memory.stat.
//
// A host whose memory controller is not on cgroup v2 (a v1 or hybrid
// layout) has no such figure: that is said once, in the log, rather than
// as the same error every interval; the cgroups are looked at again at each
// gather, so that a controller moved to v2 later is picked up.
func (s *Sockwatch) gatherCgroups(acc telegraf.Accumulator, now time.Time) {
	top, err := core.ReadCgroupSockets(s.cgroupRoot, s.CgroupsTop)
	if errors.Is(err, core.ErrNoCgroupSock) {
		if !s.warnedNoCgroupSock {
			s.warnedNoCgroupSock = true
			s.Log.Warnf("cgroups = true, but %v: the memory controller is not on cgroup v2 here"+
				" (it is bound to a v1 hierarchy, or not enabled in cgroup.subtree_control),"+
				" so socket memory per cgroup cannot be known and sockwatch_cgroup is not reported (logged once)", err)
		}
		return
	}
	if err != nil {
		acc.AddError(err)
		return
	}
	for _, c := range top {
		acc.AddGauge("sockwatch_cgroup",
			map[string]any{"sock_bytes": c.Bytes, "sock_own_bytes": c.OwnBytes},
			map[string]string{"cgroup": tagValue(c.Path)},
			now)
	}
}
