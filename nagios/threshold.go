package nagios

import (
	"fmt"
	"strings"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// absolute returns t in the metric's unit, converting percent with limit;
// ok is false for a percent threshold when the limit is not known. Every
// metric is a whole number, so the bounds are made whole.
func absolute(t plugin.Threshold, limit sockwatch.Num) (r plugin.Range, ok bool) {
	if t.Percent && !limit.Known {
		return t.Range, false
	}
	r, ok = t.Absolute(float64(limit.Value))
	return r.Whole(), ok
}

// thresholdsFlag collects repeated -w/-c METRIC=RANGE flags; the last range
// given for a metric wins.
type thresholdsFlag map[string]plugin.Threshold

func (f thresholdsFlag) String() string {
	parts := make([]string, 0, len(f))
	for _, m := range metricNames {
		if t, ok := f[m]; ok {
			parts = append(parts, m+"="+t.String())
		}
	}
	return strings.Join(parts, ",")
}

func (f thresholdsFlag) Set(s string) error {
	name, rng, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want METRIC=RANGE, got %q", s)
	}
	if !isMetric(name) {
		return fmt.Errorf("unknown metric %q (metrics: %s)", name, strings.Join(metricNames, ", "))
	}
	t, err := plugin.ParseThreshold(rng)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	f[name] = t
	return nil
}
