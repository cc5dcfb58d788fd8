package nagios

import (
	"fmt"
	"math"
	"strings"

	"github.com/sockwatch/sockwatch"
)

// Threshold is a range given for a metric: in the metric's own unit, or, when
// a bound carries a "%" ("80%", "~:90%", "10%:20%"), in percent of the
// metric's kernel limit.
type Threshold struct {
	Range   Range
	Percent bool
	text    string // as given, for messages
}

// ParseThreshold parses a range whose bounds may carry a "%". A "%" anywhere
// makes the whole range percent; it is accepted only right after a bound.
func ParseThreshold(s string) (Threshold, error) {
	t := Threshold{text: s}
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i == 0 || !isDigitOrDot(s[i-1]) || (i+1 < len(s) && s[i+1] != ':') {
			return t, fmt.Errorf("range %q: %% must follow a number", t.text)
		}
		t.Percent = true
		s = s[:i] + s[i+1:]
	}
	r, err := ParseRange(s)
	if err != nil {
		return t, err
	}
	t.Range = r
	return t, nil
}

func isDigitOrDot(c byte) bool { return c >= '0' && c <= '9' || c == '.' }

func (t Threshold) String() string { return t.text }

// absolute returns t in the metric's unit, converting percent with limit;
// ok is false for a percent threshold when the limit is not known. Every
// metric is a whole number, so the bounds are made whole: an upper bound
// rounded down, a lower one up, which alerts on exactly the same values
// (above 26214.4 is above 26214) and reads as the counts they are.
func (t Threshold) absolute(limit sockwatch.Num) (r Range, ok bool) {
	r = t.Range
	if t.Percent {
		if !limit.Known || limit.Value <= 0 {
			return r, false
		}
		// Multiply first: 95 * 360 / 100 is exactly 342, 0.95 * 360 is not.
		r.Start = r.Start * float64(limit.Value) / 100
		r.End = r.End * float64(limit.Value) / 100
	}
	r.Start, r.End = math.Ceil(r.Start), math.Floor(r.End)
	return r, true
}

// thresholdsFlag collects repeated -w/-c METRIC=RANGE flags; the last range
// given for a metric wins.
type thresholdsFlag map[string]Threshold

func (f thresholdsFlag) String() string {
	parts := make([]string, 0, len(f))
	for _, m := range metricNames {
		if t, ok := f[m]; ok {
			parts = append(parts, m+"="+t.text)
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
	t, err := ParseThreshold(rng)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	f[name] = t
	return nil
}
