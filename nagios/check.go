package nagios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch"
)

// Config is what the command line asks of the check.
type Config struct {
	Warn, Crit thresholdsFlag
	// Only lists the metrics to evaluate, in metricNames order; all when empty.
	Only      []string
	Top       int
	ProcRoot  string
	StateFile string // "" for the per-user default
	Timeout   time.Duration
	Verbose   int
	// Namespaces also evaluates every other network namespace.
	Namespaces bool
	// Trace samples socket creation with eBPF for this many seconds (0:
	// not at all).
	Trace int
}

func (c *Config) selected(metric string) bool {
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

// Check reads the proc root once and evaluates every selected metric.
func Check(cfg *Config) *Result {
	var trace *tracing
	if cfg.Trace > 0 {
		trace = startTrace(cfg)
	}
	reader := sockwatch.NewReader(cfg.ProcRoot)
	snap, err := reader.Read()
	if err != nil {
		return &Result{State: Unknown, Summary: "cannot read socket statistics: " + err.Error()}
	}
	c := &checker{cfg: cfg, reader: reader, snap: snap, now: time.Now()}
	c.advice = counterAdvice(snap)
	c.loadState()
	c.gauges()
	c.counters()
	if cfg.Namespaces {
		c.namespaces()
	}
	if trace != nil {
		c.creators(trace)
	}
	c.saveState()
	return c.result()
}

type checker struct {
	cfg    *Config
	reader *sockwatch.Reader
	snap   *sockwatch.Snapshot
	now    time.Time
	items  []*item
	notes  []string // long output lines that are not metrics
	// advice is the host's advice of each counter by label.
	advice map[string]string

	statePath string           // "" when no state file can be used
	prev      *stateData       // the last run's baseline; nil without one
	next      map[string]int64 // this run's counters, the next baseline
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
	add(&item{metric: mOrphans, label: mOrphans, what: mOrphans, value: s.Sockstat.TCPOrphan,
		limit: l.TCPMaxOrphans, limitName: "tcp_max_orphans", max: l.TCPMaxOrphans, penalty: true,
		advice: orphansAdvice(s.Sockstat.TCPOrphan)})
	for _, m := range []struct {
		metric                         string
		used                           sockwatch.Num
		minPages, pressPages, maxPages sockwatch.Num
	}{
		{mTCPMem, s.TCPMemBytes(), l.TCPMemMinPages, l.TCPMemPressurePages, l.TCPMemMaxPages},
		{mUDPMem, s.UDPMemBytes(), l.UDPMemMinPages, l.UDPMemPressurePages, l.UDPMemMaxPages},
	} {
		maxBytes := s.PagesToBytes(m.maxPages)
		it := &item{metric: m.metric, label: m.metric, what: m.metric, uom: UOMBytes, value: m.used,
			limit: maxBytes, limitName: m.metric + " max", max: maxBytes,
			advice: memAdvice(s, m.metric, m.used, m.minPages, m.pressPages, m.maxPages)}
		if press := s.PagesToBytes(m.pressPages); press.Known && maxBytes.Known {
			it.defWarn = &Threshold{Range: Range{End: float64(press.Value)}, text: "pressure line " + formatBytes(press.Value)}
			it.defCrit = parsedDefaults[m.metric].crit
		}
		add(it)
	}
	add(&item{metric: mTW, label: mTW, what: mTW, value: s.Sockstat.TCPTimeWait,
		limit: l.TCPMaxTWBuckets, limitName: "tcp_max_tw_buckets", max: l.TCPMaxTWBuckets,
		advice: doubleAdvice("net.ipv4.tcp_max_tw_buckets", s.Sockstat.TCPTimeWait, l.TCPMaxTWBuckets, "TIME_WAIT sockets",
			"or find who opens so many short connections")})
	add(&item{metric: mFiles, label: mFiles, what: mFiles, value: l.FilesAllocated,
		limit: l.FilesMax, limitName: "file-max", max: l.FilesMax,
		advice: doubleAdvice("fs.file-max", l.FilesAllocated, l.FilesMax, "handles in use", "or find the process leaking descriptors")})
}

// numOtherSock adds numothersock: the host's or this container's, and with
// a host's beancounters, that of every container, so that the one about to
// refuse sockets is named. Only the own one, and the others that are not OK,
// carry performance data.
func (c *checker) numOtherSock(add func(*item)) {
	if !c.cfg.selected(mNumOtherSock) {
		return
	}
	own := c.snap.NumOtherSock()
	if !own.FromBeancounters {
		add(&item{metric: mNumOtherSock, label: mNumOtherSock, what: mNumOtherSock, value: own.Held,
			limitName: "a beancounter barrier",
			advice:    "no kernel limit without beancounters: find the processes holding UNIX and UDP sockets"})
		return
	}
	for _, b := range c.snap.Beancounters {
		if b.Resource != mNumOtherSock {
			continue
		}
		it := beancounterItem(b)
		if b.ID == own.ID {
			it.label = mNumOtherSock
		}
		add(it)
		if b.ID != own.ID {
			it.perfdata = it.state != OK
		}
		c.failcnt(b, it)
	}
}

func beancounterItem(b sockwatch.Beancounter) *item {
	it := &item{metric: mNumOtherSock, label: mNumOtherSock + "_" + b.ID, value: num(b.Held),
		what: "container " + b.ID + " numothersock", limitName: "barrier"}
	if b.ID == "0" {
		it.what = "host (container 0) numothersock"
	}
	if sockwatch.Unlimited(b.Barrier) {
		it.unlimited = true
	} else {
		it.limit = num(b.Barrier)
	}
	if !sockwatch.Unlimited(b.Limit) {
		it.max = num(b.Limit)
	}
	it.advice = beancounterAdvice(b)
	return it
}

func num(v int64) sockwatch.Num { return sockwatch.Num{Value: v, Known: true} }

// result assembles the plugin output from the evaluated items.
func (c *checker) result() *Result {
	r := &Result{}
	var bad []*item
	for _, it := range c.items {
		r.State = Worst(r.State, it.state)
		if it.state != OK {
			bad = append(bad, it)
		}
	}
	sort.SliceStable(bad, func(i, j int) bool {
		if bad[i].state != bad[j].state {
			return bad[i].state.severity() > bad[j].state.severity()
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
		if it.state != OK || c.cfg.Verbose > 0 || (!it.counter && it.label == it.metric) {
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
			s += "; also " + strings.Join(others, ", ")
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
		s += "; nearest to its limit: " + near.what + " " + near.describe()
	}
	return s
}
