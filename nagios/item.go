package nagios

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// item is one evaluated line of the check: a metric of the host, the
// numothersock of one container, or an event counter.
type item struct {
	metric string // the metric -w, -c and --only name
	label  string // perfdata label
	what   string // how lines name it
	uom    string

	value sockwatch.Num
	// limit is what a percent threshold refers to, named limitName; unknown
	// when there is none or it is unlimited (then unlimited is set).
	limit     sockwatch.Num
	limitName string
	unlimited bool
	// max is the perfdata maximum: the limit, or a harder one.
	max sockwatch.Num
	// penalty, for orphans, also shows the percent under the kernel's 4x
	// count.
	penalty bool
	// underPressure, for tcp_mem, is what the core says of TCP memory
	// pressure (sockwatch.Snapshot.TCPMemUnderPressure): the kernel's flag,
	// else memory above the pressure line; 1 in pressure. Said in lines.
	// pressureFlag says it is the kernel's flag, which then decides the
	// default warning; pressureExit is the min line, where the kernel
	// leaves pressure.
	underPressure sockwatch.Num
	pressureFlag  bool
	pressureExit  string

	defWarn, defCrit *plugin.Threshold
	warnText         string // the threshold as given or defaulted, for lines
	critText         string
	warn, crit       *plugin.Range

	state    plugin.State
	problem  string // why a threshold the user gave cannot be applied
	advice   string // the tunable and suggested value, for non-OK lines
	counter  bool
	grew     string // counters: the growth held, said ("grew by 8, last 1m0s ago at ...")
	heldFor  string // counters: until when the growth is held
	perfdata bool   // emit perfdata for this item
}

// setLimit sets limit, a kernel limit, as the item's limit and perfdata
// maximum; LONG_MAX is unlimited: no percent, no threshold, no maximum.
func (it *item) setLimit(limit sockwatch.Num) {
	if sockwatch.NoLimit(limit) {
		it.unlimited = true
		return
	}
	it.limit, it.max = limit, limit
}

// percent is value in percent of limit.
func (it *item) percent() (float64, bool) { return sockwatch.Percent(it.value, it.limit) }

// evaluate applies the thresholds: the user's for the metric, else the
// defaults. A percent threshold the user gave that cannot be applied, for
// want of the limit, is UNKNOWN for the item; a default one is skipped.
func (it *item) evaluate(warn, crit thresholdsFlag) {
	it.warn, it.warnText = it.resolve("warning", warn, it.defWarn)
	it.crit, it.critText = it.resolve("critical", crit, it.defCrit)
	if !it.value.Known {
		_, w := warn[it.metric]
		_, c := crit[it.metric]
		if it.problem == "" && (w || c) {
			it.problem = "value unknown, threshold not applied"
		}
		if it.problem != "" {
			it.state = plugin.Unknown
		}
		return
	}
	v := float64(it.value.Value)
	_, userWarn := warn[it.metric]
	switch {
	case it.crit != nil && it.crit.Alert(v):
		it.state = plugin.Critical
	case it.pressureFlag && !userWarn:
		// The kernel's own flag, not the value against the pressure line:
		// it stays in pressure below that line until memory falls to the
		// min line, and can be out of it above.
		if it.underPressure.Value == 1 {
			it.state = plugin.Warning
		}
		it.warnText = "when in memory pressure (the kernel's flag in net/protocols"
		if it.pressureExit != "" {
			it.warnText += "; it leaves pressure at the min line " + it.pressureExit
		}
		it.warnText += ")"
	case it.warn != nil && it.warn.Alert(v):
		it.state = plugin.Warning
	case it.problem != "":
		it.state = plugin.Unknown
	}
}

func (it *item) resolve(kind string, given thresholdsFlag, def *plugin.Threshold) (*plugin.Range, string) {
	t, user := given[it.metric]
	if !user {
		if def == nil {
			return nil, ""
		}
		t = *def
	}
	r, ok := absolute(t, it.limit)
	if !ok {
		if user && !it.unlimited && it.problem == "" {
			it.problem = fmt.Sprintf("%s threshold %s needs %s, which is not known here", kind, t, it.limitName)
		}
		return nil, ""
	}
	text := t.String()
	if t.Percent {
		abs := r.String()
		if !r.Inside && !r.NoStart && !r.NoEnd && r.Start == 0 {
			abs = it.formatFloat(r.End)
		}
		text += " = " + abs
	}
	return &r, text
}

// describe is "126800 of tcp_max_orphans 524288 (24.2%, 96.7% under the 4x
// penalty)".
func (it *item) describe() string {
	if !it.value.Known {
		return "unknown"
	}
	var b strings.Builder
	b.WriteString(it.format(it.value.Value))
	switch {
	case it.limit.Known:
		fmt.Fprintf(&b, " of %s %s", it.limitName, it.format(it.limit.Value))
		if p, ok := it.percent(); ok {
			fmt.Fprintf(&b, " (%.1f%%", p)
			if it.penalty {
				fmt.Fprintf(&b, ", %.1f%% under the %dx penalty", sockwatch.UnderOrphanPenalty(p), sockwatch.OrphanPenalty)
			}
			b.WriteByte(')')
		}
		if it.underPressure.Known {
			if it.underPressure.Value == 1 {
				b.WriteString(", TCP in memory pressure")
			} else {
				b.WriteString(", not in memory pressure")
			}
		}
	case it.unlimited:
		fmt.Fprintf(&b, ", %s unlimited", it.limitName)
	case it.limitName != "" && it.metric != mNumOtherSock:
		// Without beancounters numothersock has no limit at all; the
		// others' limits exist but cannot be read here (a container).
		fmt.Fprintf(&b, ", %s not readable here", it.limitName)
	}
	return b.String()
}

// line is the item's long output line.
func (it *item) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", it.what, it.state)
	if it.counter {
		if it.value.Known {
			fmt.Fprintf(&b, " %d", it.value.Value)
		} else {
			b.WriteString(" unknown")
		}
		if it.grew != "" {
			b.WriteString(", " + it.grew)
		}
		if it.heldFor != "" {
			b.WriteString("; " + it.heldFor)
		}
	} else {
		b.WriteString(" " + it.describe())
		if it.warnText != "" {
			b.WriteString("; warning " + it.warnText)
		}
		if it.critText != "" {
			b.WriteString("; critical " + it.critText)
		}
	}
	if it.problem != "" {
		b.WriteString("; " + it.problem)
	}
	if it.state != plugin.OK && it.advice != "" {
		b.WriteString("; " + it.advice)
	}
	return b.String()
}

// summary is the item as the first line names it.
func (it *item) summary() string {
	switch {
	case it.counter:
		return it.what + " " + it.grew
	case it.state == plugin.Unknown:
		return fmt.Sprintf("%s %s: %s", it.what, it.describe(), it.problem)
	case it.state == plugin.Critical:
		return fmt.Sprintf("%s %s, critical at %s", it.what, it.describe(), it.critText)
	case it.state == plugin.Warning && it.pressureFlag && strings.HasPrefix(it.warnText, "when "):
		return fmt.Sprintf("%s %s, warning %s", it.what, it.describe(), it.warnText)
	case it.state == plugin.Warning:
		return fmt.Sprintf("%s %s, warning at %s", it.what, it.describe(), it.warnText)
	}
	return it.what + " " + it.describe()
}

// rank orders items of the same state for the summary: by how near each is
// to its own threshold, the critical one for a CRITICAL item and the
// warning one for others (the value over the threshold's upper end, so
// orphans rank under the kernel's 4x penalty, their thresholds being set for
// it), and a counter that grew (the kernel already acted) before any. An
// item without such an upper threshold is not ranked.
func (it *item) rank() float64 {
	if it.counter {
		return math.Inf(1)
	}
	r := it.warn
	if r == nil || it.state == plugin.Critical && it.crit != nil {
		r = it.crit
	}
	if !it.value.Known || r == nil || r.Inside || r.NoEnd || r.End <= 0 {
		return -1
	}
	return float64(it.value.Value) / r.End
}

// format writes a figure in the item's unit: bytes in binary units.
func (it *item) format(v int64) string {
	if it.uom == plugin.UOMBytes {
		return formatBytes(v)
	}
	return strconv.FormatInt(v, 10)
}

func (it *item) formatFloat(v float64) string {
	if it.uom == plugin.UOMBytes {
		return formatBytes(int64(v))
	}
	return plugin.FormatNumber(v)
}

func formatBytes(v int64) string {
	const unit = 1024
	if v < unit {
		return strconv.FormatInt(v, 10) + " B"
	}
	f := float64(v)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= unit
		if f < unit {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " EiB"
}

// perf is the item's performance data; ok is false when its value is
// unknown, which is left out rather than sent as 0.
func (it *item) perf() (plugin.Perfdata, bool) {
	if !it.value.Known {
		return plugin.Perfdata{}, false
	}
	p := plugin.Perfdata{Label: it.label, Value: plugin.Int(it.value.Value), UOM: it.uom, Warn: it.warn, Crit: it.crit}
	if !it.counter {
		zero := plugin.Int(0)
		p.Min = &zero
		if it.max.Known {
			m := plugin.Int(it.max.Value)
			p.Max = &m
		}
	}
	return p, true
}
