//go:build linux

package sockwatch

import (
	"github.com/influxdata/telegraf"
)

// addMetrics makes every series of one gather's reading, all stamped with
// its time, in the order the plugin has always sent them (owners,
// namespaces, creators, the host, beancounters, cgroups), which is what
// -once prints.
func (s *Sockwatch) addMetrics(acc telegraf.Accumulator, r *reading) {
	if r.owners != nil {
		addOwners(acc, r.owners, r.now)
	}
	if s.Namespaces {
		s.addNamespaces(acc, r)
	}
	if r.creators != nil {
		addCreators(acc, r.creators, r.now)
	}
	s.addHost(acc, r)
	addBeancounters(acc, r.snap.Beancounters, r.now)
	addCgroups(acc, r.cgroups, r.now)
}
