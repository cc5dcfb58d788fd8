//go:build linux

package sockwatch

import (
	"errors"
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
)

// reading is everything one gather read, before any series is made of it.
// What an option leaves off, or what failed, is nil (or unknown); its
// error has been added to the accumulator already.
type reading struct {
	now  time.Time // the timestamp of every series
	snap *core.Snapshot
	// scan is every network namespace, read for the host-wide counters,
	// the per-namespace series, and numothersock on kernels before 4.16.
	scan *core.NetNSScan
	// unixSockets is the host's: the rows of net/unix, counted by the
	// owner scan in the same pass when owners are on.
	unixSockets core.Num
	// nsUnixSockets is that of each named namespace of scan, by index.
	nsUnixSockets []core.Num
	owners        *core.Owners
	creators      *core.Creators
	events        *core.EventUpdate
	cgroups       []core.CgroupSock
}

// readProc reads everything under the proc root, and the creators' maps,
// into r; false when the snapshot could not be taken at all.
func (s *Sockwatch) readProc(acc telegraf.Accumulator, r *reading) bool {
	snap, err := s.reader.Read()
	if err != nil {
		acc.AddError(err)
		return false
	}
	r.snap = snap
	addErrors(acc, snap.Errors)
	// The namespaces are read for the host-wide counters, the
	// per-namespace series, and, on kernels before 4.16, whatever the
	// options: there the host's numothersock takes the other namespaces'
	// TCP sockets off, which Namespaces leaves in snap.
	if s.Counters || s.Namespaces || snap.Kernel.Before(4, 16) {
		r.scan = s.readNamespaces(acc, snap)
	}
	if s.Owners {
		s.readOwners(acc, r)
	} else {
		r.unixSockets = countUnixSockets(acc, s.reader.UnixSockets)
	}
	if s.Namespaces {
		r.nsUnixSockets = readNamespaceSockets(acc, r.scan, r.unixSockets)
		s.warnUnnamed(r.scan)
	}
	if s.creators != nil {
		c, err := s.creators.Sample()
		if err != nil {
			acc.AddError(err)
		} else {
			addErrors(acc, c.Errors)
			r.creators = c
		}
	}
	if s.Counters {
		r.events = s.events.Update(s.reader, snap, r.scan, r.now)
	}
	return true
}

// readNamespaces reads every network namespace; a proc root that cannot
// be listed leaves none.
func (s *Sockwatch) readNamespaces(acc telegraf.Accumulator, snap *core.Snapshot) *core.NetNSScan {
	scan, err := s.reader.Namespaces(snap)
	if err != nil {
		acc.AddError(err)
		scan = &core.NetNSScan{}
	}
	addErrors(acc, scan.Errors)
	s.warnUnreadable(scan)
	return scan
}

// readNamespaceSockets counts the UNIX sockets of each namespace that has
// a series (a named one); the host's namespace takes host, the host's
// count, when that is known. The namespaces' read errors are reported
// here, with the series they belong to.
func readNamespaceSockets(acc telegraf.Accumulator, scan *core.NetNSScan, host core.Num) []core.Num {
	counts := make([]core.Num, len(scan.Namespaces))
	for i := range scan.Namespaces {
		ns := &scan.Namespaces[i]
		if ns.Inode == 0 {
			continue
		}
		addErrors(acc, ns.Errors)
		if ns.Host && host.Known {
			counts[i] = host
		} else {
			counts[i] = countUnixSockets(acc, ns.UnixSockets)
		}
	}
	return counts
}

// readOwners scans every process's descriptors; the scan also counts the
// host's UNIX sockets.
func (s *Sockwatch) readOwners(acc telegraf.Accumulator, r *reading) {
	o, err := s.reader.Owners(core.OwnerOptions{Top: s.OwnersTop})
	if err != nil {
		acc.AddError(err)
		return
	}
	addErrors(acc, o.Errors)
	// Logged at the first gather and when it changes (the iterator failed,
	// or works again), not at every gather.
	via := "owners " + o.How()
	if via != s.ownersVia {
		s.Log.Debug(via)
		s.ownersVia = via
	}
	r.owners = o
	r.unixSockets = o.UnixSockets
}

// countUnixSockets returns count's figure. A net/unix that does not exist
// (the process a namespace was read through has exited since) leaves it
// unknown without an error.
func countUnixSockets(acc telegraf.Accumulator, count func() (core.Num, error)) core.Num {
	n, err := count()
	if err != nil && !core.IsNotExist(err) {
		acc.AddError(err)
	}
	return n
}

// readCgroups reads the cgroups_top cgroups holding the most socket buffer
// memory of their own, from the sock line of cgroup v2's memory.stat.
//
// A host whose memory controller is not on cgroup v2 (a v1 or hybrid
// layout) has no such figure: that is said once, in the log, rather than
// as the same error every interval; the cgroups are looked at again at each
// gather, so that a controller moved to v2 later is picked up.
func (s *Sockwatch) readCgroups(acc telegraf.Accumulator, r *reading) {
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
	r.cgroups = top
}

func addErrors(acc telegraf.Accumulator, errs []error) {
	for _, err := range errs {
		acc.AddError(err)
	}
}
