//go:build linux

package sockwatch

import (
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// addBeancounters emits one sockwatch_beancounter series per row of
// user_beancounters (OpenVZ, Virtuozzo): every resource of every container
// the file shows, the host's own as ctid "0". Barrier and limit are sent as
// the kernel prints them, LONG_MAX meaning unlimited, so that a dashboard
// shows the file's figures unchanged.
//
// The row goes out whole as a gauge, failcnt included although it only
// grows: splitting each row in two would double the series' lines on a host
// with thousands of containers, and a row is one reading of the kernel's
// table.
func addBeancounters(acc telegraf.Accumulator, rows []core.Beancounter, now time.Time) {
	for _, b := range rows {
		fields := map[string]any{
			"held":    b.Held,
			"maxheld": b.MaxHeld,
			"barrier": b.Barrier,
			"limit":   b.Limit,
			"failcnt": b.FailCnt,
		}
		// Held in percent of where the kernel refuses it: the lower of
		// barrier and limit for numothersock and every UB_HARD resource;
		// left out when both are unlimited.
		if p, ok := b.UsedPercent(); ok {
			fields["used_percent"] = p
		}
		acc.AddGauge("sockwatch_beancounter", fields,
			// IDs are chosen by the host's admin on Virtuozzo 7 (names,
			// UUIDs): kernel text, made safe as the owners' tags are.
			map[string]string{"ctid": tagValue(b.ID), "resource": tagValue(b.Resource)},
			now)
	}
}
