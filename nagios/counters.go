package nagios

import (
	"fmt"

	"github.com/sockwatch/sockwatch"
)

// observeCounters records the growth of every event counter of the host
// and of its beancounters, whatever the metrics selected: the state file is
// shared by every service of the host, and each must see the same growth.
func (c *checker) observeCounters() {
	for _, spec := range counterSpecs {
		c.observe(spec.label, spec.label, spec.value(&c.snap.Counters))
	}
	for _, b := range c.snap.Beancounters {
		if b.Resource == mNumOtherSock {
			c.observe(failcntKey(b), "container "+b.ID+" numothersock failcnt", num(b.FailCnt))
		}
	}
}

func failcntKey(b sockwatch.Beancounter) string { return "failcnt_numothersock_" + b.ID }

// counters adds the event counters of the selected metrics. Each alerts
// while its growth is held (see held), which needs the state file's
// baseline.
func (c *checker) counters() {
	for _, spec := range counterSpecs {
		if !c.cfg.counterSelected(spec) {
			continue
		}
		it := &item{metric: spec.metrics[0], label: spec.label, what: spec.label, uom: UOMCounter,
			value: spec.value(&c.snap.Counters), counter: true, perfdata: true, advice: spec.why + "; " + c.advice[spec.label]}
		c.alertGrowth(it, spec.label, spec.state)
		c.items = append(c.items, it)
	}
}

// counterSelected reports whether a metric the counter is tied to is.
func (c *Config) counterSelected(spec counterSpec) bool {
	for _, m := range spec.metrics {
		if c.selected(m) {
			return true
		}
	}
	return false
}

// counterAdvice is the advice of each counter by label: the host's limits.
func counterAdvice(s *sockwatch.Snapshot) map[string]string {
	mem := memAdvice(s, mTCPMem, s.TCPMemBytes(), s.Limits.TCPMemMinPages, s.Limits.TCPMemPressurePages, s.Limits.TCPMemMaxPages)
	return map[string]string{
		"tcp_abort_on_memory":  orphansAdvice(s.Sockstat.TCPOrphan) + "; and " + mem,
		"tcp_memory_pressures": mem,
		"tcp_tw_overflow":      twOverflowAdvice(s.Limits.TCPMaxTWBuckets),
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
		uom: UOMCounter, value: num(b.FailCnt), counter: true, perfdata: bc.label == mNumOtherSock,
		advice: "the kernel refused sockets to container " + b.ID + "; " + bc.advice}
	c.alertGrowth(it, failcntKey(b), Critical)
	c.items = append(c.items, it)
}

// alertGrowth gives a counter's item the alert state while its growth is
// held.
func (c *checker) alertGrowth(it *item, key string, alert State) {
	if g := c.held(key); g != nil {
		it.state = alert
		it.grew = c.grewText(g)
		it.heldFor = c.heldText(g)
	}
}
