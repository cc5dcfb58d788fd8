package plugin

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThreshold(t *testing.T) {
	limit := 524288.0
	for _, tc := range []struct {
		in      string
		percent bool
		abs     string
		err     string
	}{
		// Whole numbers: above 104857.6 is above 104857, below 419430.4
		// is below 419431, for counts.
		{in: "20%", percent: true, abs: "104857"},
		{in: "25%", percent: true, abs: "131072"},
		{in: "80%:", percent: true, abs: "419431:"},
		{in: "~:90%", percent: true, abs: "~:471859"},
		{in: "@10%:20%", percent: true, abs: "@52429:104857"},
		{in: "10:20%", percent: true, abs: "52429:104857"},
		{in: "10.5", abs: "10"},
		{in: "1000", abs: "1000"},
		{in: "%", err: "must follow a number"},
		{in: "1%0", err: "must follow a number"},
		{in: "~%:5", err: "must follow a number"},
		{in: "20%%", err: "must follow a number"},
		{in: "30%:20%", err: "greater than"},
	} {
		th, err := ParseThreshold(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.percent, th.Percent, tc.in)
		r, ok := th.Absolute(limit)
		require.True(t, ok)
		require.Equal(t, tc.abs, r.Whole().String(), tc.in)
		if tc.percent {
			_, ok := th.Absolute(0)
			require.False(t, ok, "a percent threshold needs a known limit")
		}
	}
	// 95% of a barrier of 360 is exactly 342: held 342 is not critical.
	th, err := ParseThreshold("95%")
	require.NoError(t, err)
	r, _ := th.Absolute(360)
	require.False(t, r.Alert(342))
	require.True(t, r.Alert(343))
}
