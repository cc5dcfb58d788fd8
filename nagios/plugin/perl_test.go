package plugin

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// perlRange and perlItem are what testdata/perfparse.pl prints.
type perlRange struct {
	Start, End    string
	StartInfinity int `json:"start_infinity"`
	EndInfinity   int `json:"end_infinity"`
	Inside        int
}

type perlItem struct {
	Label, Value, UOM, Min, Max string
	Warning, Critical           *perlRange
}

// TestPerfdataPerl has Debian's Monitoring::Plugin::Performance, the
// parser graphers share, read what Perfdata writes: labels from untrusted
// text, exact large counts, fractions, every kind of range, and an inside
// range, which is left out because the parser would stop there.
func TestPerfdataPerl(t *testing.T) {
	_, err := exec.LookPath("perl")
	require.NoError(t, err, "perl is needed (Debian: perl, libmonitoring-plugin-perl)")
	rng := func(s string) *Range {
		r, err := ParseRange(s)
		require.NoError(t, err)
		return &r
	}
	zero, big := Int(0), Int(1<<53+1)
	items := []struct {
		p     Perfdata
		label string // as Perl reads it
		warn  *perlRange
		crit  *perlRange
	}{
		{Perfdata{Label: "orphans", Value: Int(126800), Warn: rng("104857"), Crit: rng("131072"), Min: &zero, Max: &big},
			"orphans", &perlRange{Start: "0", End: "104857"}, &perlRange{Start: "0", End: "131072"}},
		{Perfdata{Label: "tcp_mem", Value: Int(421519360), UOM: UOMBytes, Warn: rng("~:10"), Crit: rng("10:")},
			"tcp_mem", &perlRange{End: "10", StartInfinity: 1}, &perlRange{Start: "10", EndInfinity: 1}},
		{Perfdata{Label: "aborts", Value: Int(3), UOM: UOMCounter, Warn: rng("@10:20"), Crit: rng("-5.5:1000.25")},
			"aborts", nil, &perlRange{Start: "-5.5", End: "1000.25"}},
		{Perfdata{Label: "rate", Value: Float(0.125)}, "rate", nil, nil},
		{Perfdata{Label: "path /run/my app.sock", Value: Int(2)}, "path /run/my app.sock", nil, nil},
		{Perfdata{Label: "evil'name=x|y\nz", Value: Int(1)}, "evil_name_x_y_z", nil, nil},
		{Perfdata{Label: "ünïcode", Value: Int(1)}, "ünïcode", nil, nil},
	}
	var line []string
	for _, it := range items {
		line = append(line, it.p.String())
	}
	cmd := exec.Command("perl", filepath.Join("testdata", "perfparse.pl"))
	cmd.Stdin = strings.NewReader(strings.Join(line, " ") + "\n")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var got []perlItem
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Len(t, got, len(items), "%s\n%s", line, out)
	for i, it := range items {
		g, p := got[i], it.p
		require.Equal(t, it.label, g.Label, line[i])
		require.Equal(t, p.Value.String(), g.Value, line[i])
		require.Equal(t, p.UOM, g.UOM, line[i])
		requirePerlRange(t, it.warn, g.Warning, line[i])
		requirePerlRange(t, it.crit, g.Critical, line[i])
		if p.Min != nil {
			require.Equal(t, p.Min.String(), g.Min, line[i])
		}
		if p.Max != nil {
			// Perl keeps numbers as doubles: compare as such.
			want, _ := strconv.ParseFloat(p.Max.String(), 64)
			have, err := strconv.ParseFloat(g.Max, 64)
			require.NoError(t, err, line[i])
			require.Equal(t, want, have, line[i])
		}
	}
}

func requirePerlRange(t *testing.T, want, got *perlRange, item string) {
	t.Helper()
	if want == nil {
		require.Nil(t, got, item)
		return
	}
	require.NotNil(t, got, item)
	if want.StartInfinity == 0 {
		requireSameFloat(t, want.Start, got.Start, item)
	}
	if want.EndInfinity == 0 {
		requireSameFloat(t, want.End, got.End, item)
	}
	require.Equal(t, want.StartInfinity, got.StartInfinity, item)
	require.Equal(t, want.EndInfinity, got.EndInfinity, item)
	require.Equal(t, want.Inside, got.Inside, item)
}

func requireSameFloat(t *testing.T, want, got, item string) {
	t.Helper()
	a, err := strconv.ParseFloat(want, 64)
	require.NoError(t, err, item)
	b, err := strconv.ParseFloat(got, 64)
	require.NoError(t, err, item)
	require.Equal(t, a, b, item)
}
