package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/agent"

	"github.com/sockwatch/sockwatch/internal/privilege"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// boundedInput bounds each Gather of the input it wraps. A proc root on a
// hung mount (a FUSE or NFS HOST_PROC, a stuck kernel) blocks a read
// forever, and the shim gathers in the goroutine that also stops it: one
// hung read would leave Telegraf without metrics or errors, and the process
// deaf to stdin closing and SIGTERM. Past the timeout the gather is reported
// as an error and abandoned; its goroutine stays blocked in the kernel, and
// until it returns every further gather is refused with an error rather
// than started, so that a hang costs one goroutine, not one per interval
// (the input's reader is not to be shared between two gathers anyway).
//
// The timeout is plugin.WithTimeout, the one the check uses too: the
// Monitoring Plugins library is where the project keeps it because that
// package imports the standard library only (nothing of sockwatch, nothing
// of Nagios), so this binary takes no more than the helper from it, and a
// hung read is abandoned the same way by both.
type boundedInput struct {
	telegraf.Input
	maker   agent.MetricMaker
	log     telegraf.Logger // for the debug line of each gather
	timeout time.Duration
	what    string // what a gather does, for messages: "reading /proc"

	// running is when the gather in progress started, nil when none is:
	// set when a gather starts, cleared when it returns. Gathers are
	// called one at a time, so one found running at the start of the next
	// was abandoned.
	running atomic.Pointer[time.Time]
}

// gathered is what one gather produced, handed over once it is done.
type gathered struct {
	metrics []telegraf.Metric
	errs    []error
}

// errorAccumulator keeps the errors of a gather for the caller.
type errorAccumulator struct {
	telegraf.Accumulator
	errs []error
}

func (a *errorAccumulator) AddError(err error) {
	if err != nil {
		a.errs = append(a.errs, err)
	}
}

// collect runs one Gather of in on an accumulator of its own (Telegraf's,
// as the shim uses it) and returns what the gather produced: its metrics,
// and its errors, the one Gather returned included.
func collect(maker agent.MetricMaker, in telegraf.Input) gathered {
	ch := make(chan telegraf.Metric, 64)
	var g gathered
	collected := make(chan struct{})
	go func() {
		for m := range ch {
			g.metrics = append(g.metrics, m)
		}
		close(collected)
	}()
	own := &errorAccumulator{Accumulator: agent.NewAccumulator(maker, ch)}
	if err := in.Gather(own); err != nil {
		own.AddError(err)
	}
	close(ch)
	<-collected
	g.errs = own.errs
	return g
}

func (b *boundedInput) Gather(acc telegraf.Accumulator) error {
	if start := b.running.Load(); start != nil {
		acc.AddError(fmt.Errorf("gather not started: the one started %v ago is still blocked %s (a hung mount?)",
			time.Since(*start).Round(time.Second), b.what))
		return nil
	}
	start := time.Now()
	b.running.Store(&start)
	// The gather writes to an accumulator of its own, so that one that
	// returns after being abandoned has no one to write to.
	g, ok := plugin.WithTimeout(b.timeout, func() gathered {
		g := collect(b.maker, b.Input)
		b.running.Store(nil)
		return g
	})
	if !ok {
		acc.AddError(fmt.Errorf("gather timed out after %v %s (a hung mount?): abandoned", b.timeout, b.what))
		// The abandoned gather would hold its capabilities as long as it
		// hangs; it goes on without them.
		if err := privilege.Lower(); err != nil {
			acc.AddError(err)
		}
		return nil
	}
	for _, m := range g.metrics {
		acc.AddMetric(m)
	}
	for _, err := range g.errs {
		acc.AddError(err)
	}
	b.log.Debugf("gathered in %v: %d series, %d errors", time.Since(start).Round(time.Microsecond), len(g.metrics), len(g.errs))
	return nil
}

// Start and Stop pass through to a service input, so that the shim stops
// it (the plugin detaches its eBPF programs). A gather still blocked keeps
// what it uses: Stop is not called under it, and the process's exit
// releases the programs.
func (b *boundedInput) Start(acc telegraf.Accumulator) error { return start(b.Input, acc) }

func (b *boundedInput) Stop() {
	if b.running.Load() == nil {
		stop(b.Input)
	}
}

// start starts in if it is a service input.
func start(in telegraf.Input, acc telegraf.Accumulator) error {
	if s, ok := in.(telegraf.ServiceInput); ok {
		return s.Start(acc)
	}
	return nil
}

// stop stops in if it is a service input.
func stop(in telegraf.Input) {
	if s, ok := in.(telegraf.ServiceInput); ok {
		s.Stop()
	}
}
