package nagios

import "github.com/sockwatch/sockwatch"

// Metric names, as -w, -c and --only take them; each is also the label of
// its performance data.
const (
	mSocketsUsed  = "sockets_used"
	mNumOtherSock = "numothersock"
	mOrphans      = "orphans"
	mTCPMem       = "tcp_mem"
	mUDPMem       = "udp_mem"
	mTW           = "tw"
	mFiles        = "files"
	// mCreationRate is sockets created per second, with --trace; its
	// perfdata label is sockets_created_per_second.
	mCreationRate = "creation_rate"
)

// metricNames is every metric, in output order.
var metricNames = []string{mSocketsUsed, mNumOtherSock, mOrphans, mTCPMem, mUDPMem, mTW, mFiles, mCreationRate}

func isMetric(name string) bool {
	for _, m := range metricNames {
		if m == name {
			return true
		}
	}
	return false
}

// Event counters, each tied to the metrics whose limit it reports on, so
// that --only selects them with those metrics. Growth since the last run is
// an alert: the kernel has already acted.
type counterSpec struct {
	label   string
	metrics []string
	state   State
	why     string
	value   func(*sockwatch.Counters) sockwatch.Num
}

var counterSpecs = []counterSpec{
	{"tcp_abort_on_memory", []string{mOrphans, mTCPMem}, Critical,
		"TCPAbortOnMemory: the kernel reset connections for lack of TCP memory or orphan slots",
		func(c *sockwatch.Counters) sockwatch.Num { return c.TCPAbortOnMemory }},
	{"tcp_memory_pressures", []string{mTCPMem}, Warning,
		"TCPMemoryPressures: TCP entered memory pressure and shrank its buffers",
		func(c *sockwatch.Counters) sockwatch.Num { return c.TCPMemoryPressures }},
	{"tcp_tw_overflow", []string{mTW}, Warning,
		"TCPTimeWaitOverflow: TIME_WAIT sockets were destroyed early, tcp_max_tw_buckets was full",
		func(c *sockwatch.Counters) sockwatch.Num { return c.TCPTimeWaitOverflow }},
}

// pressureLine is the default warning of tcp_mem and udp_mem: their
// pressure line, not a percent.
const pressureLine = "pressure"

// defaults are the thresholds used when -w/-c do not name the metric, each
// with the reason it is what it is; the help text prints them.
var defaults = map[string]struct{ warn, crit, why string }{
	mOrphans: {"20%", "25%",
		"of tcp_max_orphans. The kernel may count each orphan 4 times (it shifts the count by up to 2)," +
			" so orphans can be killed from 25% on: these are 80% and 100% of the limit under that penalty."},
	mTCPMem: {pressureLine, "90%",
		"warning at tcp_mem's pressure line, where the kernel starts shrinking TCP buffers;" +
			" critical at 90% of its max line, past which allocations fail (\"Out of socket memory\")."},
	mUDPMem: {pressureLine, "90%",
		"the same lines of udp_mem: past its max line UDP drops datagrams (Udp MemErrors)."},
	mTW: {"80%", "95%",
		"of tcp_max_tw_buckets: past it TIME_WAIT sockets are destroyed early (TCPTimeWaitOverflow)."},
	mFiles: {"80%", "95%",
		"of fs.file-max: at it every open(), socket() and accept() fails with ENFILE."},
	mNumOtherSock: {"80%", "95%",
		"of the beancounter barrier on OpenVZ/Virtuozzo, past which socket() fails and failcnt grows;" +
			" critical too when failcnt grew since the last run. Without beancounters there is no" +
			" kernel limit: no default, performance data only."},
	mSocketsUsed: {"", "",
		"no default: sockets have no limit of their own (fs.file-max bounds them); performance data only."},
	mCreationRate: {"", "",
		"sockets created per second by every process, sampled with --trace (eBPF); no default:" +
			" a normal rate depends on the host's work."},
}

// defaultThreshold is a metric's defaults parsed: warn is nil for the
// pressure line, which the check sets per run from the limits it reads.
type defaultThreshold struct{ warn, crit *Threshold }

// parsedDefaults is the defaults table parsed once; metrics without a
// default are absent. The items share its thresholds, which nothing
// modifies: resolve copies them.
var parsedDefaults = parseDefaults()

func parseDefaults() map[string]defaultThreshold {
	out := map[string]defaultThreshold{}
	for m, d := range defaults {
		if d.warn == "" {
			continue
		}
		var def defaultThreshold
		if d.warn != pressureLine {
			w := mustParseThreshold(d.warn)
			def.warn = &w
		}
		cr := mustParseThreshold(d.crit)
		def.crit = &cr
		out[m] = def
	}
	return out
}

func mustParseThreshold(s string) Threshold {
	t, err := ParseThreshold(s)
	if err != nil {
		panic("nagios: default threshold: " + err.Error())
	}
	return t
}
