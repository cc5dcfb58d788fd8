package plugin

import (
	"fmt"
	"strings"
)

// Threshold is a range given for a metric: in the metric's own unit, or,
// when a bound carries a "%" ("80%", "~:90%", "10%:20%"), in percent of a
// limit the check knows at run time (a disk's size, a kernel limit).
type Threshold struct {
	Range   Range
	Percent bool
	// Text is the threshold as given, for messages; String falls back to
	// the range when it is empty.
	Text string
}

// ParseThreshold parses a range whose bounds may carry a "%". A "%" anywhere
// makes the whole range percent; it is accepted only right after a bound.
func ParseThreshold(s string) (Threshold, error) {
	t := Threshold{Text: s}
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i == 0 || !isDigitOrDot(s[i-1]) || (i+1 < len(s) && s[i+1] != ':') {
			return t, fmt.Errorf("range %q: %% must follow a number", t.Text)
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

func (t Threshold) String() string {
	if t.Text == "" {
		return t.Range.String()
	}
	return t.Text
}

// Absolute returns t in the metric's unit, converting percent with limit;
// ok is false for a percent threshold when limit is not positive (a limit
// the check could not read is best passed as 0).
func (t Threshold) Absolute(limit float64) (r Range, ok bool) {
	r = t.Range
	if !t.Percent {
		return r, true
	}
	if !(limit > 0) {
		return r, false
	}
	// Multiply first: 95 * 360 / 100 is exactly 342, 0.95 * 360 is not.
	r.Start = r.Start * limit / 100
	r.End = r.End * limit / 100
	return r, true
}
