package plugin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a threshold in the range syntax of the Monitoring Plugins
// guidelines. A value alerts when it lies outside [Start, End], or inside it
// when Inside is set:
//
//	10      alert if x < 0 or x > 10
//	10:     alert if x < 10
//	~:10    alert if x > 10
//	10:20   alert if x < 10 or x > 20
//	@10:20  alert if 10 <= x <= 20
//
// Both ends are inclusive: a value equal to an end is inside.
type Range struct {
	Start, End float64
	NoStart    bool // the start is ~, negative infinity
	NoEnd      bool // the end is omitted, positive infinity
	Inside     bool // @: alert inside the range rather than outside
}

// ParseRange parses s in the guidelines' syntax. It is stricter than the C
// library in two places, both of which would otherwise be read as a range the
// user did not mean: a missing start (":10") and trailing garbage ("10x") are
// errors rather than zero.
func ParseRange(s string) (Range, error) {
	var r Range
	body := s
	if strings.HasPrefix(body, "@") {
		r.Inside = true
		body = body[1:]
	}
	if body == "" {
		return r, errors.New("empty range")
	}
	start, end, colon := strings.Cut(body, ":")
	if !colon {
		// "10" is "0:10".
		start, end = "0", start
	}
	var err error
	switch start {
	case "~":
		r.NoStart = true
	case "":
		return r, fmt.Errorf("range %q: no start before the colon (use ~ for minus infinity)", s)
	default:
		if r.Start, err = parseNumber(start); err != nil {
			return r, fmt.Errorf("range %q: start: %v", s, err)
		}
	}
	if end == "" && colon {
		r.NoEnd = true
	} else if r.End, err = parseNumber(end); err != nil {
		return r, fmt.Errorf("range %q: end: %v", s, err)
	}
	if !r.NoStart && !r.NoEnd && r.Start > r.End {
		return r, fmt.Errorf("range %q: start %s is greater than end %s", s, FormatNumber(r.Start), FormatNumber(r.End))
	}
	return r, nil
}

// parseNumber accepts a plain decimal: an optional sign, digits, an optional
// fraction. strconv.ParseFloat alone would also take "inf", "NaN", "1e3" and
// "0x1p4", none of which the guidelines allow.
func parseNumber(s string) (float64, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	intPart, frac, _ := strings.Cut(digits, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Alert reports whether v raises an alert under r.
func (r Range) Alert(v float64) bool {
	in := (r.NoStart || v >= r.Start) && (r.NoEnd || v <= r.End)
	return in == r.Inside
}

// Whole returns r for a metric whose values are whole numbers: the upper
// bound rounded down, the lower one up. It alerts on exactly the same
// values (above 26214.4 is above 26214 for a count) and reads as the counts
// they are.
func (r Range) Whole() Range {
	r.Start, r.End = math.Ceil(r.Start), math.Floor(r.End)
	return r
}

// String writes r in the guidelines' syntax, in its shortest form: "10"
// rather than "0:10". ParseRange(r.String()) is r.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case r.NoStart:
		b.WriteString("~:")
	case r.Start != 0 || r.NoEnd:
		b.WriteString(FormatNumber(r.Start))
		b.WriteByte(':')
	}
	if !r.NoEnd {
		b.WriteString(FormatNumber(r.End))
	}
	return b.String()
}

// FormatNumber writes v in plain decimal, never in scientific notation
// (which neither the guidelines nor most perfdata parsers accept), with no
// trailing zeros.
func FormatNumber(v float64) string {
	if v == 0 {
		return "0" // also for -0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
