package plugin

import (
	"strconv"
	"strings"
)

// Number is a performance data figure. Counts stay exact int64s: a limit
// such as Linux's fs.file-max is often 2^63-1, beyond the integers a
// float64 holds exactly.
type Number struct {
	i     int64
	f     float64
	float bool
}

// Int returns an integer Number.
func Int(v int64) Number { return Number{i: v} }

// Float returns a Number with a fraction.
func Float(v float64) Number { return Number{f: v, float: true} }

func (n Number) String() string {
	if n.float {
		return FormatNumber(n.f)
	}
	return strconv.FormatInt(n.i, 10)
}

// Two of the guidelines' units of measurement; Perfdata.UOM takes any of
// them (s, ms, us, %, B, KB, MB, TB, c), or none for a plain count.
const (
	UOMBytes   = "B"
	UOMCounter = "c" // a continuous counter: graphers store its rate
)

// Perfdata is one performance data item:
//
//	'label'=value[UOM];[warn];[crit];[min];[max]
type Perfdata struct {
	Label      string
	Value      Number
	UOM        string
	Warn, Crit *Range
	Min, Max   *Number
}

// String formats p as the guidelines say, dropping trailing empty fields.
func (p Perfdata) String() string {
	var b strings.Builder
	b.WriteString(perfLabel(p.Label))
	b.WriteByte('=')
	b.WriteString(p.Value.String())
	b.WriteString(p.UOM)
	fields := [4]string{perfRange(p.Warn), perfRange(p.Crit)}
	if p.Min != nil {
		fields[2] = p.Min.String()
	}
	if p.Max != nil {
		fields[3] = p.Max.String()
	}
	n := len(fields)
	for n > 0 && fields[n-1] == "" {
		n--
	}
	for _, f := range fields[:n] {
		b.WriteByte(';')
		b.WriteString(f)
	}
	return b.String()
}

// perfRange writes a threshold for performance data. An inside range ("@")
// is left out: the guidelines allow it, but Monitoring::Plugin::Performance
// and the graphers built like it stop parsing the item at the "@", losing
// the fields after it too.
func perfRange(r *Range) string {
	if r == nil || r.Inside {
		return ""
	}
	return r.String()
}

// perfLabel makes a label safe to print. The guidelines forbid = in labels
// and write a ' as two; but the parsers in use (Nagios' graphers,
// Monitoring::Plugin::Performance, PNP4Nagios) cut labels at the first ' or
// =, so both become "_", as do |, which ends the output's text part, and
// control characters. A label holding anything beyond letters, digits and
// _ . - / : is quoted.
func perfLabel(label string) string {
	if label == "" {
		label = "_"
	}
	quote := false
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '\'' || r == '=' || r == '|' || r < ' ' || r == 0x7f:
			return '_'
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '_', r == '.', r == '-', r == '/', r == ':':
		default:
			quote = true
		}
		return r
	}, label)
	if quote {
		return "'" + clean + "'"
	}
	return clean
}

// PerfString joins items with single spaces, as the guidelines require.
func PerfString(items []Perfdata) string {
	parts := make([]string, len(items))
	for i, p := range items {
		parts[i] = p.String()
	}
	return strings.Join(parts, " ")
}
