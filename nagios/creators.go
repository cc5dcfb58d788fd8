package nagios

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// maxTrace bounds --trace: a check is expected to return within seconds.
const maxTrace = 60

// defaultTraceTop is how many creators --trace lists without --top.
const defaultTraceTop = 5

// tracing is a --trace sample: the programs count from its start while the
// rest of the check reads /proc, and finish takes the sample, so that loading
// the programs and reading their maps happen while the check holds its
// capabilities, and neither afterwards.
type tracing struct {
	tracer *sockwatch.CreatorTracer
	end    time.Time
	sample *sockwatch.Creators
	err    error // why tracing could not start
	serr   error // why the sample could not be read
}

// startTrace attaches the eBPF programs for cfg.Trace seconds; the sample
// keeps the --top N busiest (defaultTraceTop without --top).
func startTrace(cfg *config) *tracing {
	n := cfg.Top
	if n == 0 {
		n = defaultTraceTop
	}
	tr, err := sockwatch.TraceCreators(sockwatch.CreatorOptions{Top: n})
	return &tracing{tracer: tr, end: time.Now().Add(time.Duration(cfg.Trace) * time.Second), err: err}
}

// finish waits for the end of the trace, reads the sample and detaches the
// programs.
func (tr *tracing) finish() {
	if tr.err != nil {
		return
	}
	defer tr.tracer.Close()
	time.Sleep(time.Until(tr.end))
	tr.sample, tr.serr = tr.tracer.Sample()
}

// creators adds creation_rate (perfdata sockets_created_per_second), and
// the top creators and memory-limit hits to the long output. Where tracing
// could not run, one line says what is missing and the state is left to the
// other metrics.
func (c *checker) creators() {
	tr := c.trace
	if tr.err != nil {
		c.notes = append(c.notes, "creators: not traced: "+tr.err.Error())
		return
	}
	if tr.serr != nil {
		c.notes = append(c.notes, "creators: "+tr.serr.Error())
		return
	}
	s := tr.sample
	if c.cfg.selected(mCreationRate) {
		it := &item{metric: mCreationRate, label: "sockets_created_per_second", what: "sockets created per second",
			value:  sockwatch.Known(int64(math.Round(s.CreatedPerSecond))),
			advice: "see the top creators below: a process creating sockets at this rate is usually retrying or resolving names in a loop"}
		it.perfdata = true
		it.evaluate(c.cfg.Warn, c.cfg.Crit)
		c.items = append(c.items, it)
	}
	head := fmt.Sprintf("creators: %s/s created in %v", plugin.FormatNumber(math.Round(s.CreatedPerSecond)), s.Interval.Round(time.Millisecond))
	if s.DroppedProcesses > 0 {
		head += fmt.Sprintf("; %s not counted (the eBPF map was full)", plural(int64(s.DroppedProcesses), "process"))
	}
	lines := []string{head}
	for _, err := range s.Errors {
		lines = append(lines, "  "+err.Error())
	}
	for _, w := range s.ByProcess {
		lines = append(lines, "  "+creatorLine(w))
	}
	for _, m := range s.MemoryLimits {
		name := display(m.Name)
		if m.Name == "" {
			name = "(owner unknown)"
		}
		lines = append(lines, fmt.Sprintf("  memory limit hit: %s (%s) %s: %s/s, %d in all",
			name, display(m.User), display(m.Protocol), rate(m.PerSecond), m.Hits))
	}
	if s.DroppedMemory > 0 {
		lines = append(lines, fmt.Sprintf("  memory limit hits: %d entries not counted (the eBPF map was full)", s.DroppedMemory))
	}
	c.notes = append(c.notes, lines...)
}

// creatorLine is "dns-storm (root): 298 sockets/s (298 udp), 290 DNS
// lookups/s".
func creatorLine(w sockwatch.Creator) string {
	var parts []string
	for _, f := range []struct {
		v    float64
		name string
	}{{w.Unix, "unix"}, {w.UDP, "udp"}, {w.TCP, "tcp"}, {w.Other, "other"}} {
		if math.Round(f.v) > 0 {
			parts = append(parts, rate(f.v)+" "+f.name)
		}
	}
	s := fmt.Sprintf("%s (%s): %s sockets/s", display(w.Name), display(w.User), rate(w.PerSecond()))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if math.Round(w.DNS) > 0 {
		s += ", " + rate(w.DNS) + " DNS lookups/s"
	}
	return s
}

// rate is a per-second figure rounded to a whole number, "<1" below 0.5.
func rate(v float64) string {
	if v > 0 && v < 0.5 {
		return "<1"
	}
	return plugin.FormatNumber(math.Round(v))
}
