package sockwatch

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Event is one of the kernel's event counters that say it has already acted
// on a socket limit, judged host-wide: the kernel counts them in the network
// namespace of the socket concerned, while the limits (orphans, tcp_mem,
// udp_mem) are global, so a container that loses connections for memory
// counts nothing in the host's own namespace.
type Event int

// The events, in the order wrappers list them.
const (
	TCPAbortOnMemory    Event = iota // TcpExt TCPAbortOnMemory
	TCPMemoryPressures               // TcpExt TCPMemoryPressures
	TCPTimeWaitOverflow              // TcpExt TCPTimeWaitOverflow
	UDPMemErrors                     // Udp MemErrors plus Udp6 MemErrors
	NumEvents
)

var eventNames = [NumEvents]string{"tcp_abort_on_memory", "tcp_memory_pressures", "tcp_tw_overflow", "udp_mem_errors"}

// String is the event's name as wrappers label it.
func (e Event) String() string { return eventNames[e] }

// Events holds one figure per event.
type Events [NumEvents]Num

// Events are the namespace's event counters. UDPMemErrors adds Udp6's to
// Udp's: a datagram refused memory on an IPv6 socket counts in Udp6 only.
func (c *Counters) Events() Events {
	udp := c.UDPMemErrors
	if c.UDP6MemErrors.Known {
		udp = Known(udp.Value + c.UDP6MemErrors.Value)
	}
	return Events{c.TCPAbortOnMemory, c.TCPMemoryPressures, c.TCPTimeWaitOverflow, udp}
}

// EventTracker follows the events summed over every network namespace from
// one read to the next. Each namespace has its own baseline, by NetNS.Key:
// a counter found below it restarted (the namespace was recreated with the
// same key, or the host rebooted) and counts again from zero; a namespace
// that is gone is dropped, which is never a decrease; a namespace that
// appeared counts all of its value when its oldest process started after
// the last read (it was created since, and every event in it is new), and
// is a baseline otherwise. The zero EventTracker has no baseline: its first
// Update only takes one.
type EventTracker struct {
	// Baselines are the counters of each namespace at the last Update, by
	// NetNS.Key + "/" + the event's name; callers keep them between runs.
	Baselines map[string]int64
	// Totals are the host-wide events as counters that never decrease: the
	// sum at the first Update, plus every growth since.
	Totals [NumEvents]int64
	// Last is when the last Update was; zero before the first.
	Last time.Time
	// HostFallback is a baseline for the host's namespace when Baselines
	// has none for it (state kept before baselines were per namespace).
	HostFallback Events
}

// NSEvents is what one namespace brought to an Update.
type NSEvents struct {
	NS     *NetNS
	Growth [NumEvents]int64
	// Reset marks the events whose counter was below its baseline, which
	// Was holds.
	Reset [NumEvents]bool
	Was   [NumEvents]int64
	// New says the namespace had no baseline; Counted that its value was
	// counted whole, its oldest process having started after the last
	// Update; StartUnknown that the start could not be read, which makes
	// it a baseline.
	New, Counted, StartUnknown bool
}

// EventUpdate is the result of Update.
type EventUpdate struct {
	// Sum is the events summed over the namespaces read now; unknown for
	// an event no namespace gave.
	Sum Events
	// Growth is the host-wide growth since the last Update, summed over
	// namespaces; zero on the first.
	Growth [NumEvents]int64
	// Totals are the tracker's Totals after this Update.
	Totals [NumEvents]int64
	// First says there was no baseline: Growth is not known.
	First bool
	// Namespaces are those read, in the scan's order.
	Namespaces []NSEvents
	// Gone counts the namespaces of the last Update that are not there now.
	Gone int
	// Unread counts, per event, the namespaces read whose counter is
	// unknown: their netstat or snmp could not be read, or the kernel does
	// not have the counter. Their events are not counted, and their
	// baseline is kept.
	Unread [NumEvents]int
}

// Update reads the events of every namespace of scan (and of the host
// snapshot, when the scan did not find its namespace: a proc tree without
// its processes) and compares them with the baselines, which it replaces.
func (t *EventTracker) Update(r *Reader, host *Snapshot, scan *NetNSScan, now time.Time) *EventUpdate {
	u := &EventUpdate{First: t.Last.IsZero()}
	namespaces := withHost(scan.Namespaces, host)
	next := make(map[string]int64, len(namespaces)*int(NumEvents))
	var started func([]int) (time.Time, bool)
	seen := make(map[string]bool, len(namespaces))
	for i := range namespaces {
		ns := &namespaces[i]
		seen[ns.Key] = true
		nu := t.compare(ns, u, next)
		if nu.New {
			if started == nil {
				started = r.startedFunc()
			}
			t.countNew(&nu, started)
		}
		for e := range NumEvents {
			u.Growth[e] += nu.Growth[e]
		}
		u.Namespaces = append(u.Namespaces, nu)
	}
	for key := range t.Baselines {
		if i := strings.LastIndexByte(key, '/'); i >= 0 && !seen[key[:i]] {
			seen[key[:i]] = true
			u.Gone++
		}
	}
	for e := range NumEvents {
		if u.First {
			t.Totals[e] = u.Sum[e].Value
		} else {
			t.Totals[e] += u.Growth[e]
		}
	}
	u.Totals = t.Totals
	t.Baselines, t.Last, t.HostFallback = next, now, Events{}
	return u
}

// withHost is namespaces with the namespace of the snapshot host first
// when none of them is it.
func withHost(namespaces []NetNS, host *Snapshot) []NetNS {
	if host == nil || slices.ContainsFunc(namespaces, func(ns NetNS) bool { return ns.Host }) {
		return namespaces
	}
	ns := NetNS{Host: true, NetDir: host.NetDir, Counters: host.Counters, Key: "sockstat"}
	if ino, err := procfile.SockstatInode(filepath.Join(host.NetDir, "sockstat")); err == nil {
		ns.Key = netNSKey(0, ino)
	}
	return append([]NetNS{ns}, namespaces...)
}

// compare compares the events of ns with their baselines, adding them to
// u's Sum and Unread, and their new baselines to next.
func (t *EventTracker) compare(ns *NetNS, u *EventUpdate, next map[string]int64) NSEvents {
	nu := NSEvents{NS: ns}
	ev := ns.Counters.Events()
	for e := range NumEvents {
		key := ns.Key + "/" + eventNames[e]
		v := ev[e]
		base, ok := t.Baselines[key]
		if !ok && ns.Host && t.HostFallback[e].Known {
			base, ok = t.HostFallback[e].Value, true
		}
		if !v.Known {
			u.Unread[e]++
			if ok {
				next[key] = base
			}
			continue
		}
		next[key] = v.Value
		if !u.Sum[e].Known {
			u.Sum[e] = Known(0)
		}
		u.Sum[e].Value += v.Value
		switch {
		case u.First:
		case ok && v.Value >= base:
			nu.Growth[e] = v.Value - base
		case ok:
			nu.Growth[e], nu.Reset[e], nu.Was[e] = v.Value, true, base
		default:
			nu.New = true
		}
	}
	return nu
}

// countNew counts the events of nu's namespace, which had no baseline,
// whole when its oldest process started after the last Update.
func (t *EventTracker) countNew(nu *NSEvents, started func([]int) (time.Time, bool)) {
	start, ok := started(nu.NS.PIDs)
	switch {
	case !ok:
		nu.StartUnknown = true
	// btime is whole seconds, cut down: the start read from it is up to a
	// second early. A namespace not in the baseline has had none of its
	// events counted, so erring towards "new" counts nothing twice.
	case start.Add(time.Second).After(t.Last):
		nu.Counted = true
		ev := nu.NS.Counters.Events()
		for e := range NumEvents {
			if _, had := t.Baselines[nu.NS.Key+"/"+eventNames[e]]; !had && ev[e].Known {
				nu.Growth[e] = ev[e].Value
			}
		}
	}
}

// userHZ is the unit of a process's start time in PROC/PID/stat: USER_HZ,
// 100 on every architecture Linux runs on but alpha.
const userHZ = 100

// startedFunc returns a function giving when the oldest of pids started,
// from their PROC/PID/stat and the boot time of PROC/stat; false when no
// start time could be read.
func (r *Reader) startedFunc() func([]int) (time.Time, bool) {
	boot, bootOK := r.bootTime()
	return func(pids []int) (time.Time, bool) {
		if !bootOK {
			return time.Time{}, false
		}
		oldest := int64(-1)
		for _, pid := range pids {
			data, err := r.fr.Read(filepath.Join(r.Root, strconv.Itoa(pid), "stat"))
			if err != nil {
				continue
			}
			if ticks, ok := parseStartTime(data); ok && (oldest < 0 || ticks < oldest) {
				oldest = ticks
			}
		}
		if oldest < 0 {
			return time.Time{}, false
		}
		return boot.Add(time.Duration(oldest) * (time.Second / userHZ)), true
	}
}

// bootTime is the btime line of PROC/stat.
func (r *Reader) bootTime() (time.Time, bool) {
	data, err := r.fr.Read(filepath.Join(r.Root, "stat"))
	if err != nil {
		return time.Time{}, false
	}
	var btime int64 = -1
	var buf [4][]byte
	_ = procfile.Lines(data, func(_ int, line []byte) error {
		if f := procfile.Fields(line, buf[:0]); len(f) == 2 && string(f[0]) == "btime" {
			if v, err := procfile.Atoi(f[1]); err == nil && v > 0 {
				btime = v
			}
		}
		return nil
	})
	if btime < 0 {
		return time.Time{}, false
	}
	return time.Unix(btime, 0), true
}

// parseStartTime reads field 22 of PROC/PID/stat, the start time in clock
// ticks after boot. The process name, field 2, is in parentheses and may
// hold spaces and parentheses itself: fields are counted from the last ')'.
func parseStartTime(data []byte) (int64, bool) {
	// The name in parentheses may hold any byte: the fields start after
	// the last ')'.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, false
	}
	var buf [24][]byte
	f := procfile.Fields(data[end+1:], buf[:0])
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return 0, false
	}
	v, err := procfile.Atoi(f[19])
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}
