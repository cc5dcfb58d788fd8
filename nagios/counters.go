package nagios

import (
	"fmt"
	"strings"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// observeCounters records the growth of every event counter, host-wide
// (summed over the network namespaces) and per namespace, and of every
// container's failcnt, whatever the metrics selected: the state file is
// shared by every service of the host, and each must see the same growth.
func (c *checker) observeCounters() {
	c.events = c.tracker.Update(c.reader, c.snap, c.nsScan, c.now)
	u := c.events
	for _, spec := range counterSpecs {
		reset := false
		for _, nu := range u.Namespaces {
			reset = reset || nu.Reset[spec.event]
		}
		c.record(spec.label(), u.Growth[spec.event], reset)
	}
	keys := map[string]bool{}
	for _, nu := range u.Namespaces {
		keys[nu.NS.Key] = true
		counted := int64(0)
		for _, spec := range counterSpecs {
			e := spec.event
			if nu.Reset[e] {
				c.notes = append(c.notes, fmt.Sprintf("%s of %s went down from %d to %d: it restarted (a reboot, a container restarted),"+
					" counted again from zero", spec.label(), nsName(nu.NS), nu.Was[e], nu.Growth[e]))
			}
			if nu.Counted {
				counted += nu.Growth[e]
			}
			c.record(nsKey(nu.NS, spec.label()), nu.Growth[e], nu.Reset[e])
		}
		switch {
		case counted > 0:
			c.notes = append(c.notes, fmt.Sprintf("%s appeared since the last run, its processes started since: its %s counted whole",
				nsName(nu.NS), plural(counted, "event")))
		case nu.StartUnknown:
			c.notes = append(c.notes, fmt.Sprintf("%s appeared since the last run, its processes' start unreadable: its counters are a baseline",
				nsName(nu.NS)))
		}
	}
	for k := range c.next.Growth {
		if key, ok := nsKeyOf(k); ok && !keys[key] {
			delete(c.next.Growth, k)
		}
	}
	for _, b := range c.snap.Beancounters {
		if b.Resource == mNumOtherSock {
			c.observe(failcntKey(b), "container "+b.ID+" numothersock failcnt", sockwatch.Known(b.FailCnt))
		}
	}
}

// nsKey is the state key of a namespace's counter: its growth is recorded
// under it for the services that list namespaces.
func nsKey(ns *sockwatch.NetNS, label string) string { return "netns_" + ns.Key + "_" + label }

// nsKeyOf is the namespace key of a state key made by nsKey.
func nsKeyOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "netns_")
	if !ok {
		return "", false
	}
	k, _, ok := strings.Cut(rest, "_")
	return k, ok
}

// nsName names a namespace in the long output: by inode and process, the
// inode being what lsns, ip netns identify and nsenter show.
func nsName(ns *sockwatch.NetNS) string {
	switch {
	case ns.Host:
		return "the host's network namespace"
	case ns.Inode != 0:
		return fmt.Sprintf("netns %d (%s, pid %d)", ns.Inode, display(ns.Comm), ns.PID)
	}
	return fmt.Sprintf("an unnamed netns (%s, pid %d)", display(ns.Comm), ns.PID)
}

func failcntKey(b sockwatch.Beancounter) string { return "failcnt_numothersock_" + b.ID }

// counters adds the host-wide event counters of the selected metrics. Each
// alerts while its growth is held (see held), which needs the state file's
// baseline. The value is the host-wide total, a counter that never
// decreases when a namespace goes away.
func (c *checker) counters() {
	u := c.events
	for _, spec := range counterSpecs {
		if !c.cfg.counterSelected(spec) {
			continue
		}
		e := spec.event
		it := &item{metric: spec.metrics[0], label: spec.label(), what: spec.label(), uom: plugin.UOMCounter,
			counter: true, perfdata: true, advice: spec.why + "; " + c.advice[spec.label()]}
		if u.Sum[e].Known {
			it.value = sockwatch.Known(u.Totals[e])
		}
		c.alertGrowth(it, spec.label(), spec.state)
		c.items = append(c.items, it)
		// Every namespace counts the same events: a host whose own
		// namespace has the counter has it in the others too, and
		// those that lack it could not be read.
		if host := c.snap.Counters.Events()[e]; host.Known && u.Unread[e] > 0 {
			c.notes = append(c.notes, fmt.Sprintf("%s: not counted in %s whose counters could not be read",
				spec.label(), plural(int64(u.Unread[e]), "network namespace")))
		}
	}
	if c.nsScan.Unreadable > 0 {
		c.notes = append(c.notes, fmt.Sprintf("counters: %s whose net directory could not be looked at (hidepid?):"+
			" namespaces only they are in are not counted", plural(int64(c.nsScan.Unreadable), "process")))
	}
	for _, err := range c.nsScan.Errors {
		c.notes = append(c.notes, fmt.Sprintf("namespaces: %v", err))
	}
	if c.cfg.Verbose > 0 {
		c.notes = append(c.notes, fmt.Sprintf("counters: host-wide, summed over %s; %d gone since the last run",
			plural(int64(len(u.Namespaces)), "network namespace"), u.Gone))
	}
	if c.cfg.Verbose > 1 {
		for _, nu := range u.Namespaces {
			ev := nu.NS.Counters.Events()
			parts := make([]string, 0, len(counterSpecs))
			for _, spec := range counterSpecs {
				v := "unknown"
				if ev[spec.event].Known {
					v = fmt.Sprint(ev[spec.event].Value)
				}
				parts = append(parts, fmt.Sprintf("%s %s (+%d)", spec.label(), v, nu.Growth[spec.event]))
			}
			c.notes = append(c.notes, fmt.Sprintf("counters: %s: %s", nsName(nu.NS), strings.Join(parts, ", ")))
		}
	}
}

// counterSelected reports whether a metric the counter is tied to is.
func (c *config) counterSelected(spec counterSpec) bool {
	for _, m := range spec.metrics {
		if c.selected(m) {
			return true
		}
	}
	return false
}

// counterAdvice is the advice of each counter by label: the host's limits.
func counterAdvice(s *sockwatch.Snapshot) map[string]string {
	l := &s.Limits
	mem := tcpMemAdvice(s)
	return map[string]string{
		sockwatch.TCPAbortOnMemory.String():    orphansAdvice(s.Sockstat.TCPOrphan, l.TCPMaxOrphans) + "; and " + mem,
		sockwatch.TCPMemoryPressures.String():  mem,
		sockwatch.TCPTimeWaitOverflow.String(): twOverflowAdvice(l.TCPMaxTWBuckets),
		sockwatch.UDPMemErrors.String():        udpMemAdvice(s) + "; or raise net.ipv4.udp_rmem_min, what each UDP socket keeps above the min line",
	}
}

func twOverflowAdvice(limit sockwatch.Num) string {
	if !limit.Known {
		return "see net.ipv4.tcp_max_tw_buckets"
	}
	return fmt.Sprintf("raise net.ipv4.tcp_max_tw_buckets (now %d, full at times) to at least %d", limit.Value, 2*limit.Value)
}

// failcnt adds the failcnt of a container's numothersock, whose item bc
// gives its label and advice: it grows each time the kernel refused that
// container a socket.
func (c *checker) failcnt(b sockwatch.Beancounter, bc *item) {
	it := &item{metric: mNumOtherSock, label: bc.label + "_failcnt", what: "container " + b.ID + " numothersock failcnt",
		uom: plugin.UOMCounter, value: sockwatch.Known(b.FailCnt), counter: true, perfdata: bc.label == mNumOtherSock,
		advice: "the kernel refused sockets to container " + b.ID + "; " + bc.advice}
	c.alertGrowth(it, failcntKey(b), plugin.Critical)
	if it.state != plugin.OK {
		it.perfdata = true
	}
	c.items = append(c.items, it)
}

// alertGrowth gives a counter's item the alert state while its growth is
// held.
func (c *checker) alertGrowth(it *item, key string, alert plugin.State) {
	if g := c.held(key); g != nil {
		it.state = alert
		it.grew = c.grewText(g)
		it.heldFor = c.heldText(g)
	}
}
