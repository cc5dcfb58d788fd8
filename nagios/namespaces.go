package nagios

import (
	"fmt"
	"strconv"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// namespaces evaluates, with --namespaces, every network namespace under
// the proc root but the host's own (whose figures the host items are):
// numothersock and tw against the absolute -w/-c thresholds, and the
// growth of the counters, so that a container leaking sockets or losing
// connections for memory is named with its inode and process.
//
// Only namespaces that are not OK carry performance data, so that a host
// with hundreds of containers keeps a bounded output. The counters' growth
// is that observeCounters recorded per namespace.
func (c *checker) namespaces() {
	warn, crit := c.nsThresholds(c.cfg.Warn, "-w"), c.nsThresholds(c.cfg.Crit, "-c")
	evaluated, unnamed := 0, 0
	for i := range c.events.Namespaces {
		ns := c.events.Namespaces[i].NS
		if ns.Host {
			continue
		}
		if ns.Inode == 0 {
			unnamed++
			continue
		}
		evaluated++
		c.namespace(ns, warn, crit)
	}

	line := fmt.Sprintf("namespaces: %s evaluated besides the host's", plural(int64(evaluated), "network namespace"))
	if unnamed > 0 {
		line += fmt.Sprintf("; %d not evaluated: they cannot be named without root or CAP_SYS_PTRACE (their counters are in the host-wide sums)", unnamed)
	}
	c.notes = append(c.notes, line)
}

// namespace evaluates one network namespace: numothersock and tw against
// the thresholds that apply per namespace, and its counters' growth.
func (c *checker) namespace(ns *sockwatch.NetNS, warn, crit thresholdsFlag) {
	id := strconv.FormatUint(ns.Inode, 10)
	name := nsName(ns)
	enter := fmt.Sprintf("nsenter --net=/proc/%d/ns/net", ns.PID)
	for _, it := range []*item{
		{metric: mNumOtherSock, value: ns.Sockstat.NumOtherSock(),
			advice: "find the processes of the namespace holding UNIX and UDP sockets: " + enter + " ss -xup"},
		{metric: mTW, value: ns.Sockstat.TCPTimeWait,
			advice: "read or raise the namespace's own net.ipv4.tcp_max_tw_buckets from inside it: " + enter + " sysctl net.ipv4.tcp_max_tw_buckets"},
	} {
		if !c.cfg.selected(it.metric) {
			continue
		}
		it.label, it.what = it.metric+"_ns"+id, name+" "+it.metric
		it.evaluate(warn, crit)
		it.perfdata = it.state != plugin.OK
		c.items = append(c.items, it)
	}
	twAdvice := "raise the namespace's own net.ipv4.tcp_max_tw_buckets, from inside it: " +
		enter + " sysctl net.ipv4.tcp_max_tw_buckets"
	ev := ns.Counters.Events()
	for _, spec := range counterSpecs {
		if !c.cfg.counterSelected(spec) {
			continue
		}
		// tcp_max_tw_buckets is the namespace's own; the other
		// counters keep the host's advice.
		advice := c.advice[spec.label()]
		if spec.event == sockwatch.TCPTimeWaitOverflow {
			advice = twAdvice
		}
		it := &item{metric: spec.metrics[0], label: spec.label() + "_ns" + id, what: name + " " + spec.label(),
			uom: plugin.UOMCounter, value: ev[spec.event], counter: true, advice: spec.why + "; " + advice}
		c.alertGrowth(it, nsKey(ns, spec.label()), spec.state)
		it.perfdata = it.state != plugin.OK
		c.items = append(c.items, it)
	}
	for _, err := range ns.Errors {
		c.notes = append(c.notes, fmt.Sprintf("namespaces: %s: unreadable: %v; its figures are left out", name, err))
	}
}

// nsThresholds are the thresholds of flag that apply per namespace: the
// absolute ones. A percent one is of a limit the check cannot read for a
// namespace: a beancounter barrier is per container, not per namespace, and
// tcp_max_tw_buckets, though each namespace has its own, is shown only to
// its own processes. Such a threshold still applies to the host; each one
// left out of the namespaces gets a note.
func (c *checker) nsThresholds(given thresholdsFlag, flag string) thresholdsFlag {
	out := thresholdsFlag{}
	for _, m := range []string{mNumOtherSock, mTW} {
		t, ok := given[m]
		switch {
		case !ok || !c.cfg.selected(m):
		case t.Percent:
			c.notes = append(c.notes, fmt.Sprintf("namespaces: %s %s=%s is in percent of a limit a namespace's figures do not come with"+
				" (see -h): not applied per namespace; give a count to apply one", flag, m, t))
		default:
			out[m] = t
		}
	}
	return out
}
