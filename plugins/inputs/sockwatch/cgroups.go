//go:build linux

package sockwatch

import (
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// addCgroups emits one sockwatch_cgroup series for each cgroup read: the
// cgroups_top holding the most socket buffer memory of their own.
func addCgroups(acc telegraf.Accumulator, top []core.CgroupSock, now time.Time) {
	for _, c := range top {
		acc.AddGauge("sockwatch_cgroup",
			map[string]any{"sock_bytes": c.Bytes, "sock_own_bytes": c.OwnBytes},
			map[string]string{"cgroup": tagValue(c.Path)},
			now)
	}
}
