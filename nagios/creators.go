package nagios

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/bpf"
)

// MaxTrace bounds --trace: a check is expected to return within seconds.
const MaxTrace = 60

// defaultTraceTop is how many creators --trace lists without --top.
const defaultTraceTop = 5

// tracing is a --trace sample in progress: the programs count from its start
// while the rest of the check reads /proc.
type tracing struct {
	tracer *sockwatch.CreatorTracer
	end    time.Time
	err    error // why tracing could not start
}

// startTrace attaches the eBPF programs for cfg.Trace seconds.
func startTrace(cfg *Config) *tracing {
	tr, err := sockwatch.TraceCreators(sockwatch.CreatorOptions{Top: cfg.Top})
	return &tracing{tracer: tr, end: time.Now().Add(time.Duration(cfg.Trace) * time.Second), err: err}
}

// creators waits for the end of the trace and adds creation_rate (perfdata
// sockets_created_per_second), and the top creators and memory-limit hits
// to the long output. Where tracing cannot run, one line says what is
// missing and the state is left to the other metrics.
func (c *checker) creators(tr *tracing) {
	if tr.err != nil {
		var missing *bpf.Unavailable
		if errors.As(tr.err, &missing) {
			c.notes = append(c.notes, "creators: not traced: "+missing.Error())
		} else {
			c.notes = append(c.notes, "creators: not traced: "+tr.err.Error())
		}
		return
	}
	defer tr.tracer.Close()
	time.Sleep(time.Until(tr.end))
	s, err := tr.tracer.Sample()
	if err != nil {
		c.notes = append(c.notes, "creators: "+err.Error())
		return
	}
	if c.cfg.selected(mCreationRate) {
		it := &item{metric: mCreationRate, label: "sockets_created_per_second", what: "sockets created per second",
			value:  num(int64(math.Round(s.CreatedPerSecond))),
			advice: "see the top creators below: a process creating sockets at this rate is usually retrying or resolving names in a loop"}
		it.perfdata = true
		it.evaluate(c.cfg.Warn, c.cfg.Crit)
		c.items = append(c.items, it)
	}
	head := fmt.Sprintf("creators: %s/s created in %v", FormatNumber(math.Round(s.CreatedPerSecond)), s.Interval.Round(time.Millisecond))
	if s.DroppedProcesses > 0 {
		head += fmt.Sprintf("; %s not counted (the eBPF map was full)", plural(int64(s.DroppedProcesses), "process"))
	}
	lines := []string{head}
	n := c.cfg.Top
	if n == 0 {
		n = defaultTraceTop
	}
	for _, w := range top(s.ByProcess, n) {
		lines = append(lines, "  "+creatorLine(w))
	}
	for _, m := range top(s.MemoryLimits, n) {
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
	return FormatNumber(math.Round(v))
}

// top returns the first n of s; all of them when n <= 0.
func top[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}
