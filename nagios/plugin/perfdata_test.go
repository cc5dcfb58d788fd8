package plugin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPerfdataString(t *testing.T) {
	warn, crit := Range{End: 104857.6}, Range{Start: 10, End: 20, Inside: true}
	zero, limit := Int(0), Int(9223372036854775807)
	for _, tc := range []struct {
		p    Perfdata
		want string
	}{
		{Perfdata{Label: "orphans", Value: Int(126800), Warn: &warn, Crit: &crit, Min: &zero, Max: &limit},
			"orphans=126800;104857.6;;0;9223372036854775807"},
		{Perfdata{Label: "tcp_mem", Value: Int(421519360), UOM: UOMBytes}, "tcp_mem=421519360B"},
		{Perfdata{Label: "c", Value: Int(3), UOM: UOMCounter, Max: &zero}, "c=3c;;;;0"},
		{Perfdata{Label: "x", Value: Float(1e21), Crit: &warn}, "x=1000000000000000000000;;104857.6"},
		{Perfdata{Label: "x", Value: Float(0.000001)}, "x=0.000001"},
		{Perfdata{Label: "numothersock_my ct", Value: Int(1)}, "'numothersock_my ct'=1"},
		{Perfdata{Label: "it's=a|b\nc", Value: Int(1)}, "it_s_a_b_c=1"},
		{Perfdata{Label: "numothersock_9f3a-11:x.y/z", Value: Int(1)}, "numothersock_9f3a-11:x.y/z=1"},
		{Perfdata{Label: "ünï", Value: Int(1)}, "'ünï'=1"},
		{Perfdata{Label: "", Value: Int(1)}, "_=1"},
	} {
		require.Equal(t, tc.want, tc.p.String())
	}
	require.Equal(t, "a=1 b=2B", PerfString([]Perfdata{{Label: "a", Value: Int(1)}, {Label: "b", Value: Int(2), UOM: UOMBytes}}))
}
