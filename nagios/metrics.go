package nagios

import (
	"github.com/sockwatch/sockwatch"

	"github.com/sockwatch/sockwatch/nagios/plugin"
)

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
// that --only selects them with those metrics. Growth is an alert: the
// kernel has already acted. Each is judged host-wide, summed over every
// network namespace (see sockwatch.Event).
type counterSpec struct {
	event   sockwatch.Event
	metrics []string
	state   plugin.State
	why     string
}

func (s counterSpec) label() string { return s.event.String() }

var counterSpecs = []counterSpec{
	{sockwatch.TCPAbortOnMemory, []string{mOrphans, mTCPMem}, plugin.Critical,
		"TCPAbortOnMemory: the kernel reset connections for lack of TCP memory or orphan slots"},
	{sockwatch.TCPMemoryPressures, []string{mTCPMem}, plugin.Warning,
		"TCPMemoryPressures: TCP entered memory pressure and shrank its buffers"},
	{sockwatch.TCPTimeWaitOverflow, []string{mTW}, plugin.Warning,
		"TCPTimeWaitOverflow: TIME_WAIT sockets were destroyed early, tcp_max_tw_buckets was full"},
	{sockwatch.UDPMemErrors, []string{mUDPMem}, plugin.Warning,
		"Udp and Udp6 MemErrors: the kernel refused UDP sockets receive memory (above udp_mem's min line) and dropped datagrams"},
}

// The default warnings of tcp_mem and udp_mem: a line of theirs, not a
// percent.
const (
	pressureLine = "pressure"
	minLine      = "min"
)

// defaults are the thresholds used when -w/-c do not name the metric, each
// with the reason it is what it is; the help text prints them.
var defaults = map[string]struct{ warn, crit, why string }{
	mOrphans: {"20%", "25%",
		"of tcp_max_orphans. The kernel may count each orphan 4 times (it shifts the count by up to 2)," +
			" so orphans can be killed from 25% on: these are 80% and 100% of the limit under that penalty."},
	mTCPMem: {pressureLine, "90%",
		"warning while the kernel says TCP is in memory pressure (net/protocols), shrinking buffers: it" +
			" enters above tcp_mem's pressure line and leaves at its min line (where the kernel does not" +
			" say, above the pressure line); critical at 90% of its max line, past which allocations fail" +
			" (\"Out of socket memory\")."},
	mUDPMem: {minLine, "90%",
		"warning at udp_mem's min line: UDP has no pressure mode, and above it the kernel refuses receive" +
			" memory to UDP sockets holding more than udp_rmem_min (Udp MemErrors); critical at 90% of its max line."},
	mTW: {"80%", "95%",
		"of tcp_max_tw_buckets: past it TIME_WAIT sockets are destroyed early (TCPTimeWaitOverflow)."},
	mFiles: {"80%", "95%",
		"of fs.file-max: at it every open(), socket() and accept() fails with ENFILE (but in processes" +
			" with CAP_SYS_ADMIN). No threshold when it is unlimited (LONG_MAX)."},
	mNumOtherSock: {"80%", "95%",
		"of the lower of the beancounter barrier and limit on OpenVZ/Virtuozzo (numothersock is charged" +
			" with UB_HARD: socket() fails at either, and failcnt grows);" +
			" critical too while failcnt's growth is held (--hold). Without beancounters there is no" +
			" kernel limit: no default, performance data only."},
	mSocketsUsed: {"", "",
		"no default: sockets have no limit of their own (fs.file-max bounds them); performance data only."},
	mCreationRate: {"", "",
		"sockets created per second by every process, sampled with --trace (eBPF); no default:" +
			" a normal rate depends on the host's work."},
}

// defaultThreshold is a metric's defaults parsed: warn is nil for the
// pressure line, which the check sets per run from the limits it reads.
type defaultThreshold struct{ warn, crit *plugin.Threshold }

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
		if d.warn != pressureLine && d.warn != minLine {
			w := mustParseThreshold(d.warn)
			def.warn = &w
		}
		cr := mustParseThreshold(d.crit)
		def.crit = &cr
		out[m] = def
	}
	return out
}

func mustParseThreshold(s string) plugin.Threshold {
	t, err := plugin.ParseThreshold(s)
	if err != nil {
		panic("nagios: default threshold: " + err.Error())
	}
	return t
}
