package nagios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/privilege"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// config is what the command line asks of the check.
type config struct {
	Warn, Crit thresholdsFlag
	// Only lists the metrics to evaluate, in metricNames order; all when empty.
	Only []string
	Top  int
	// ProcRoot is the proc root to read: --proc-root, else HOST_PROC,
	// else /proc; rootOrigin says which, for confine's refusal.
	ProcRoot   string
	rootOrigin string
	StateFile  string // "" for the per-user default
	Timeout    time.Duration
	Verbose    int
	// Hold is how long a counter that grew keeps its alert state after it
	// last grew, so that a core's retries reach a HARD state; 0 alerts on
	// the run that sees the growth only.
	Hold time.Duration
	// Namespaces also evaluates every other network namespace.
	Namespaces bool
	// Trace samples socket creation with eBPF for this many seconds (0:
	// not at all).
	Trace int
}

func (c *config) selected(metric string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, m := range c.Only {
		if m == metric {
			return true
		}
	}
	return false
}

// check reads the proc root once and evaluates every selected metric.
//
// Everything it reads of proc, it reads first, with the capabilities it was
// given raised (see package privilege), then drops them for good: the state
// file and the output are handled with none.
func check(cfg *config) *plugin.Result {
	reader, err := sockwatch.NewReader(cfg.ProcRoot)
	if err != nil {
		return &plugin.Result{State: plugin.Unknown, Summary: "cannot read socket statistics: " + err.Error()}
	}
	c := &checker{cfg: cfg, reader: reader, now: time.Now()}
	c.reader.NamespaceCountersOnly = !cfg.Namespaces
	if perr := privilege.During(privilege.Scan|privilege.BPF, func() { err = c.scan() }); perr != nil {
		return &plugin.Result{State: plugin.Unknown, Summary: perr.Error()}
	}
	if perr := privilege.Drop(); perr != nil {
		return &plugin.Result{State: plugin.Unknown, Summary: perr.Error()}
	}
	if err != nil {
		return &plugin.Result{State: plugin.Unknown, Summary: "cannot read socket statistics: " + err.Error()}
	}
	if c.nsErr != nil {
		c.notes = append(c.notes, fmt.Sprintf("namespaces: cannot list processes (%v): the counters are the host namespace's alone", c.nsErr))
		c.nsScan = &sockwatch.NetNSScan{}
	}
	c.advice = counterAdvice(c.snap)
	c.loadState()
	c.observeCounters()
	c.gauges()
	c.counters()
	if cfg.Namespaces {
		c.namespaces()
	}
	if c.trace != nil {
		c.creators()
	}
	c.saveState()
	return c.result()
}

type checker struct {
	cfg    *config
	reader *sockwatch.Reader
	snap   *sockwatch.Snapshot
	events *sockwatch.EventUpdate // the host-wide counters, summed over nsScan
	now    time.Time
	items  []*item
	notes  []string // long output lines that are not metrics
	// advice is the host's advice of each counter by label.
	advice map[string]string

	state   *plugin.StateFile // locked from loadState to saveState; nil when none can be used
	prev    *stateData        // the last run's baseline; nil without one
	next    *stateData        // this run's counters and growth, the next state
	lastRun time.Time         // this service's last run; zero when not known
	tracker sockwatch.EventTracker

	// What scan found of namespaces (every one, for the host-wide counters
	// and the pre-4.16 numothersock) and owners (--top).
	nsScan          *sockwatch.NetNSScan
	ownerScan       *sockwatch.Owners
	nsErr, ownerErr error
	trace           *tracing // --trace: sampled while the rest is read
}

// scan reads the snapshot, every namespace, and the owners and creators
// when asked for.
func (c *checker) scan() error {
	if c.cfg.Trace > 0 {
		c.trace = startTrace(c.cfg)
		defer c.trace.finish()
	}
	snap, err := c.reader.Read()
	if err != nil {
		return err
	}
	c.snap = snap
	c.nsScan, c.nsErr = c.reader.Namespaces(snap)
	if c.cfg.Top > 0 {
		c.ownerScan, c.ownerErr = c.reader.Owners(sockwatch.OwnerOptions{Top: c.cfg.Top})
	}
	return nil
}

// gauges builds and evaluates the metrics that have a value and a limit.
func (c *checker) gauges() {
	s, l := c.snap, &c.snap.Limits
	add := func(it *item) {
		if !c.cfg.selected(it.metric) {
			return
		}
		if d := parsedDefaults[it.metric]; it.defWarn == nil && d.warn != nil {
			it.defWarn, it.defCrit = d.warn, d.crit
		}
		it.perfdata = true
		it.evaluate(c.cfg.Warn, c.cfg.Crit)
		c.items = append(c.items, it)
	}
	add(&item{metric: mSocketsUsed, label: mSocketsUsed, what: mSocketsUsed, value: s.Sockstat.SocketsUsed,
		advice: "no tunable of its own: sockets are bounded by fs.file-max and each process's RLIMIT_NOFILE; find the owner"})
	c.numOtherSock(add)
	orphans := &item{metric: mOrphans, label: mOrphans, what: mOrphans, value: s.Sockstat.TCPOrphan,
		limitName: "tcp_max_orphans", penalty: true, advice: orphansAdvice(s.Sockstat.TCPOrphan, l.TCPMaxOrphans)}
	orphans.setLimit(l.TCPMaxOrphans)
	add(orphans)
	c.memory(add)
	tw := &item{metric: mTW, label: mTW, what: mTW, value: s.Sockstat.TCPTimeWait, limitName: "tcp_max_tw_buckets",
		advice: doubleAdvice("net.ipv4.tcp_max_tw_buckets", s.Sockstat.TCPTimeWait, l.TCPMaxTWBuckets, "TIME_WAIT sockets",
			"or find who opens so many short connections")}
	tw.setLimit(l.TCPMaxTWBuckets)
	add(tw)
	files := &item{metric: mFiles, label: mFiles, what: mFiles, value: l.FilesAllocated, limitName: "file-max",
		advice: doubleAdvice("fs.file-max", l.FilesAllocated, l.FilesMax, "handles in use",
			"or find the process leaking descriptors (file-max does not stop processes with CAP_SYS_ADMIN)")}
	files.setLimit(l.FilesMax)
	add(files)
}

// memory adds tcp_mem and udp_mem, in bytes. tcp_mem warns while the kernel
// says TCP is in memory pressure (net/protocols), or, where it does not
// say, above the pressure line; udp_mem, which has no pressure mode, warns
// above udp_mem's min line, where the kernel starts refusing UDP sockets
// receive memory.
func (c *checker) memory(add func(*item)) {
	s, l := c.snap, &c.snap.Limits
	for _, m := range []struct {
		metric                        string
		used                          sockwatch.Num
		minPages, maxPages, warnPages sockwatch.Num
		warnName, advice              string
	}{
		{mTCPMem, s.TCPMemBytes(), l.TCPMemMinPages, l.TCPMemMaxPages, l.TCPMemPressurePages, "pressure line", tcpMemAdvice(s)},
		{mUDPMem, s.UDPMemBytes(), l.UDPMemMinPages, l.UDPMemMaxPages, l.UDPMemMinPages, "min line", udpMemAdvice(s)},
	} {
		maxBytes := s.PagesToBytes(m.maxPages)
		it := &item{metric: m.metric, label: m.metric, what: m.metric, uom: plugin.UOMBytes, value: m.used,
			limitName: m.metric + " max",
			advice:    m.advice}
		it.setLimit(maxBytes)
		if w := s.PagesToBytes(m.warnPages); w.Known && it.limit.Known {
			it.defWarn = &plugin.Threshold{Range: plugin.Range{End: float64(w.Value)}, Text: m.warnName + " " + formatBytes(w.Value)}
			it.defCrit = parsedDefaults[m.metric].crit
		}
		if m.metric == mTCPMem {
			it.pressureFlag = s.Sockstat.TCPPressure.Known
			if p, ok := s.TCPMemUnderPressure(); ok {
				it.underPressure = sockwatch.Known(0)
				if p {
					it.underPressure = sockwatch.Known(1)
				}
			}
			if min := s.PagesToBytes(m.minPages); min.Known {
				it.pressureExit = formatBytes(min.Value)
			}
		}
		add(it)
	}
}

// numOtherSock adds numothersock: the host's or this container's, and with
// a host's beancounters, that of every container, so that the one about to
// refuse sockets is named. Only the own one, and the others that are not OK,
// carry performance data. A host's file without a row 0 has no own row: the
// host's figure is computed as without beancounters, and every container
// is judged all the same.
func (c *checker) numOtherSock(add func(*item)) {
	if !c.cfg.selected(mNumOtherSock) {
		return
	}
	own := c.snap.NumOtherSock()
	if !own.FromBeancounters {
		add(&item{metric: mNumOtherSock, label: mNumOtherSock, what: mNumOtherSock, value: own.Held,
			limitName: "a beancounter barrier",
			advice:    "no kernel limit without beancounters: find the processes holding UNIX and UDP sockets"})
	}
	for _, b := range c.snap.Beancounters {
		if b.Resource != mNumOtherSock {
			continue
		}
		mine := own.FromBeancounters && b.ID == own.ID
		it := beancounterItem(b)
		if mine {
			it.label = mNumOtherSock
		}
		add(it)
		if !mine {
			it.perfdata = it.state != plugin.OK
		}
		c.failcnt(b, it)
	}
}

// beancounterItem is the numothersock of one container, judged against
// where the kernel refuses it: the lower of barrier and limit.
func beancounterItem(b sockwatch.Beancounter) *item {
	it := &item{metric: mNumOtherSock, label: mNumOtherSock + "_" + b.ID, value: sockwatch.Known(b.Held),
		what: "container " + b.ID + " numothersock", limitName: "barrier"}
	if b.ID == "0" {
		it.what = "host (container 0) numothersock"
	}
	if hard, name, ok := b.HardLimit(); ok {
		it.limit, it.limitName = sockwatch.Known(hard), name
	} else {
		it.unlimited, it.limitName = true, "barrier and limit"
	}
	it.max = it.limit
	it.advice = beancounterAdvice(b)
	return it
}

// result assembles the plugin output from the evaluated items.
func (c *checker) result() *plugin.Result {
	r := &plugin.Result{}
	var bad []*item
	for _, it := range c.items {
		r.State = plugin.Worst(r.State, it.state)
		if it.state != plugin.OK {
			bad = append(bad, it)
		}
	}
	sort.SliceStable(bad, func(i, j int) bool {
		if bad[i].state != bad[j].state {
			return plugin.Worst(bad[i].state, bad[j].state) == bad[i].state
		}
		return bad[i].rank() > bad[j].rank()
	})
	r.Summary = c.summary(bad)

	for _, it := range c.items {
		if it.perfdata {
			if p, ok := it.perf(); ok {
				r.Perfdata = append(r.Perfdata, p)
			}
		}
		if it.state != plugin.OK || c.cfg.Verbose > 0 || (!it.counter && it.label == it.metric) {
			r.Long = append(r.Long, it.line())
		}
	}
	if c.snap.BeancountersErr != nil {
		r.Long = append(r.Long, fmt.Sprintf("beancounters: unreadable (%v); numothersock computed from sockstat", c.snap.BeancountersErr))
	}
	for _, err := range c.snap.Errors {
		if err != c.snap.BeancountersErr {
			r.Long = append(r.Long, fmt.Sprintf("unreadable: %v; its figures are left out", err))
		}
	}
	if c.cfg.Top > 0 {
		r.Long = append(r.Long, c.owners()...)
	}
	r.Long = append(r.Long, c.notes...)
	if c.cfg.Verbose > 0 {
		r.Long = append(r.Long, fmt.Sprintf("read: %s (page size %d B)", c.snap.NetDir, c.snap.PageSize))
	}
	return r
}

// summary names the worst item, then the other items that are not OK; when
// all are OK, the one nearest to its limit.
func (c *checker) summary(bad []*item) string {
	if len(bad) > 0 {
		s := bad[0].summary()
		if len(bad) > 1 {
			others := make([]string, 0, len(bad)-1)
			for _, it := range bad[1:] {
				others = append(others, it.what+" "+it.state.String())
			}
			s += ", also " + strings.Join(others, ", ")
		}
		return s
	}
	var near *item
	for _, it := range c.items {
		if _, ok := it.percent(); ok && (near == nil || it.rank() > near.rank()) {
			near = it
		}
	}
	n := 0
	for _, it := range c.items {
		if !it.counter && it.label == it.metric {
			n++
		}
	}
	s := fmt.Sprintf("%d metrics OK", n)
	if near != nil {
		s += ", nearest to its limit: " + near.what + " " + near.describe()
	}
	return s
}
