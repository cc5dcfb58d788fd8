package nagios

import (
	"fmt"
	"time"

	"github.com/sockwatch/sockwatch"
)

// counters adds the event counters of the selected metrics. Each alerts
// when it grew since the last run, which needs the state file's baseline; a
// counter that went down (a reboot) only starts a new baseline.
func (c *checker) counters() {
	for _, spec := range counterSpecs {
		if !c.cfg.counterSelected(spec) {
			continue
		}
		it := &item{metric: spec.metrics[0], label: spec.label, what: spec.label, uom: UOMCounter,
			value: spec.value(&c.snap.Counters), counter: true, perfdata: true, advice: spec.why + "; " + c.advice[spec.label]}
		c.growth(it, spec.label, spec.state)
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
	c.growth(it, "failcnt_numothersock_"+b.ID, Critical)
	c.items = append(c.items, it)
}

// growth compares a counter with its baseline and records it for the next
// run.
func (c *checker) growth(it *item, key string, alert State) {
	if !it.value.Known {
		return
	}
	cur := it.value.Value
	c.next[key] = cur
	if c.prev == nil {
		return
	}
	prev, ok := c.prev.Counters[key]
	switch {
	case !ok:
	case cur < prev:
		c.notes = append(c.notes, fmt.Sprintf("%s went down from %d to %d (a reboot or a reset): new baseline", it.what, prev, cur))
	case cur > prev:
		it.delta = cur - prev
		it.since = c.now.Sub(c.prev.Saved).Round(time.Second)
		it.state = alert
	}
}
