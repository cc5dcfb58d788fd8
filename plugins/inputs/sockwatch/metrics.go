//go:build linux

package sockwatch

import (
	"github.com/influxdata/telegraf"
)

// addMetrics makes every series of one gather's reading, all stamped with
// its time.
func (s *Sockwatch) addMetrics(acc telegraf.Accumulator, r *reading) {
	s.addHost(acc, r)
	if s.Namespaces {
		s.addNamespaces(acc, r)
	}
	addBeancounters(acc, r.snap.Beancounters, r.now)
	if r.owners != nil {
		addOwners(acc, r.owners, r.now)
	}
	if r.creators != nil {
		addCreators(acc, r.creators, r.now)
	}
	addCgroups(acc, r.cgroups, r.now)
}
