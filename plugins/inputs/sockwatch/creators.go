//go:build linux

package sockwatch

import (
	"errors"
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/bpf"
	"github.com/sockwatch/sockwatch/internal/privilege"
)

// startCreators attaches the eBPF programs, which then count between
// gathers. Where the host cannot trace, that is logged once, naming what is
// missing, and every other series is gathered as before.
func (s *Sockwatch) startCreators() error {
	var tr *core.CreatorTracer
	var err error
	if perr := privilege.During(privilege.BPF, func() { tr, err = core.TraceCreators(core.CreatorOptions{Top: s.CreatorsTop}) }); perr != nil {
		return perr
	}
	var missing *bpf.Unavailable
	if errors.As(err, &missing) {
		s.Log.Warnf("creators: %v; sockwatch_creator and sockwatch_memory_limit are not reported", err)
		return nil
	}
	if err != nil {
		return err
	}
	s.creators = tr
	return nil
}

// addCreators emits the creators_top busiest socket creators of the
// interval since the last gather (sockwatch_creator) and the memory-limit
// hits (sockwatch_memory_limit); every process's sockets created per second
// go into the host series.
func addCreators(acc telegraf.Accumulator, c *core.Creators, now time.Time) {
	for _, w := range c.ByProcess {
		tags := map[string]string{"process_name": tagValue(w.Name), "user": tagValue(w.User)}
		acc.AddCounter("sockwatch_creator", map[string]any{"created": w.Created}, tags, now)
		acc.AddGauge("sockwatch_creator", map[string]any{
			"created_per_second":     w.PerSecond(),
			"unix_per_second":        w.Unix,
			"udp_per_second":         w.UDP,
			"tcp_per_second":         w.TCP,
			"other_per_second":       w.Other,
			"dns_lookups_per_second": w.DNS,
		}, tags, now)
	}
	for _, m := range c.MemoryLimits {
		name := m.Name
		if name == "" {
			name = "(unknown)"
		}
		tags := map[string]string{"process_name": tagValue(name), "user": tagValue(m.User), "protocol": tagValue(m.Protocol)}
		acc.AddCounter("sockwatch_memory_limit", map[string]any{"hits": m.Hits}, tags, now)
		acc.AddGauge("sockwatch_memory_limit", map[string]any{"hits_per_second": m.PerSecond}, tags, now)
	}
}

// Start does nothing: the programs are attached by Init, so that the first
// gather already has an interval behind it. It makes the plugin a service
// input, whose Stop Telegraf calls.
func (*Sockwatch) Start(telegraf.Accumulator) error { return nil }

// Stop detaches the eBPF programs. A process that ends without it (the
// plugin killed, or stopped while a gather was blocked) loses them all the
// same: nothing is pinned, and the kernel detaches programs whose last
// descriptor closes.
func (s *Sockwatch) Stop() {
	if s.creators != nil {
		s.creators.Close()
		s.creators = nil
	}
}
