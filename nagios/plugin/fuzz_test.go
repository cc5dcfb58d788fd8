package plugin

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for what the library parses (ranges, thresholds) and for the
// performance data it writes, which a monitoring core parses in turn.

func FuzzRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:", "-5.5:1000.25", "0.5:", ":10",
		"10x", "1e3", "inf", "NaN", "0x1p4", "@", "", "20:10", "--1", "+.5", "1.", ".", "99999999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if math.IsNaN(r.Start) || math.IsNaN(r.End) || math.IsInf(r.Start, 0) || math.IsInf(r.End, 0) {
			t.Fatalf("%q: %+v", s, r)
		}
		if !r.NoStart && !r.NoEnd && r.Start > r.End {
			t.Fatalf("%q: start above end: %+v", s, r)
		}
		// What is written reads back as the same range, in plain decimals.
		out := r.String()
		if strings.ContainsAny(out, "eE") {
			t.Fatalf("%q written as %q", s, out)
		}
		back, err := ParseRange(out)
		if err != nil || back != r {
			t.Fatalf("%q written as %q, read back as %+v (%v), want %+v", s, out, back, err, r)
		}
		// Both ends are inside: an ordinary range alerts on neither.
		if !r.NoStart && r.Alert(r.Start) != r.Inside {
			t.Fatalf("%q: start %v alerts %v", s, r.Start, r.Alert(r.Start))
		}
		if !r.NoEnd && r.Alert(r.End) != r.Inside {
			t.Fatalf("%q: end %v alerts %v", s, r.End, r.Alert(r.End))
		}
	})
}

func FuzzThreshold(f *testing.F) {
	for _, s := range []string{"80%", "~:90%", "10%:20%", "@80%:", "%", "80%%", "8%0", "10:20", "1.5%:", "%:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			return
		}
		if th.String() != s {
			t.Fatalf("%q kept as %q", s, th.String())
		}
		if th.Percent != strings.Contains(s, "%") {
			t.Fatalf("%q: percent %v", s, th.Percent)
		}
		// Percent of a known limit is a range of the same shape.
		r, ok := th.Absolute(1000)
		if !ok || r.Inside != th.Range.Inside || r.NoStart != th.Range.NoStart || r.NoEnd != th.Range.NoEnd {
			t.Fatalf("%q: absolute %+v, %v", s, r, ok)
		}
	})
}

// perfItem is the grammar Monitoring::Plugin::Performance reads (its
// parse_perfstring), which the graphers share: a label without ' or =,
// quoted when it holds a space; a plain decimal value; a unit; then warn,
// crit, min, max.
var perfItem = regexp.MustCompile(`^('[^'=|]+'|[^'= |]+)=(-?[0-9]+(?:\.[0-9]+)?)(B|c)?(?:;([^;]*))?(?:;([^;]*))?(?:;(-?[0-9]+(?:\.[0-9]+)?)?)?(?:;(-?[0-9]+(?:\.[0-9]+)?)?)?$`)

func FuzzPerfdata(f *testing.F) {
	f.Add("orphans", int64(12), 1.5, "80%", "~:10", int64(0), int64(1<<62), true)
	f.Add("numothersock_web'01=x|y", int64(-3), -0.25, "@10:20", "10:", int64(-1), int64(9223372036854775807), false)
	f.Add("a b\n\x00\xff\xfe'='", int64(0), 1e300, "", "", int64(0), int64(0), true)
	f.Fuzz(func(t *testing.T, label string, iv int64, fv float64, warn, crit string, min, max int64, float bool) {
		if math.IsNaN(fv) || math.IsInf(fv, 0) {
			return
		}
		p := Perfdata{Label: label, Value: Int(iv), UOM: UOMCounter}
		if float {
			p.Value, p.UOM = Float(fv), UOMBytes
		}
		if r, err := ParseRange(warn); err == nil {
			p.Warn = &r
		}
		if r, err := ParseRange(crit); err == nil {
			p.Crit = &r
		}
		lo, hi := Int(min), Int(max)
		p.Min, p.Max = &lo, &hi
		out := p.String()
		if !utf8.ValidString(out) {
			t.Fatalf("%q: not UTF-8", out)
		}
		m := perfItem.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%q (label %q) is not one performance data item", out, label)
		}
		for _, rng := range m[4:6] {
			if rng == "" {
				continue
			}
			if strings.HasPrefix(rng, "@") {
				t.Fatalf("%q: an inside range, which the Perl parser stops at", out)
			}
			if _, err := ParseRange(rng); err != nil {
				t.Fatalf("%q: range %q: %v", out, rng, err)
			}
		}
	})
}
