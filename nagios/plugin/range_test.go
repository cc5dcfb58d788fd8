package plugin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every example of the Monitoring Plugins guidelines' threshold table, then
// the edge cases. Each case lists values that alert and values that do not.
func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     Range
		str      string
		alert    []float64
		no       []float64
		errMatch string
	}{
		// The guidelines' examples.
		{in: "10", want: Range{End: 10}, str: "10", alert: []float64{-0.5, 10.1, 11}, no: []float64{0, 5, 10}},
		{in: "10:", want: Range{Start: 10, NoEnd: true}, str: "10:", alert: []float64{9.99, -1}, no: []float64{10, 1e12}},
		{in: "~:10", want: Range{NoStart: true, End: 10}, str: "~:10", alert: []float64{10.001, 11}, no: []float64{10, -1e12}},
		{in: "10:20", want: Range{Start: 10, End: 20}, str: "10:20", alert: []float64{9, 21}, no: []float64{10, 15, 20}},
		{in: "@10:20", want: Range{Start: 10, End: 20, Inside: true}, str: "@10:20", alert: []float64{10, 15, 20}, no: []float64{9.9, 20.1}},
		// Edge cases.
		{in: "@~:10", want: Range{NoStart: true, End: 10, Inside: true}, str: "@~:10", alert: []float64{10, -5}, no: []float64{10.5}},
		{in: "~:", want: Range{NoStart: true, NoEnd: true}, str: "~:", no: []float64{-1e300, 0, 1e300}},
		{in: "@~:", want: Range{NoStart: true, NoEnd: true, Inside: true}, str: "@~:", alert: []float64{-1e300, 0, 1e300}},
		{in: "0:", want: Range{NoEnd: true}, str: "0:", alert: []float64{-0.1}, no: []float64{0}},
		{in: "-10:-5", want: Range{Start: -10, End: -5}, str: "-10:-5", alert: []float64{-11, -4}, no: []float64{-10, -5}},
		{in: "-5:", want: Range{Start: -5, NoEnd: true}, str: "-5:", alert: []float64{-6}, no: []float64{-5}},
		{in: "~:-3.5", want: Range{NoStart: true, End: -3.5}, str: "~:-3.5", alert: []float64{-3}, no: []float64{-3.5}},
		{in: "0.5:1.25", want: Range{Start: 0.5, End: 1.25}, str: "0.5:1.25", alert: []float64{0.49, 1.26}, no: []float64{0.5, 1.25}},
		{in: ".5", want: Range{End: 0.5}, str: "0.5", alert: []float64{0.51}, no: []float64{0.5}},
		{in: "+7", want: Range{End: 7}, str: "7", alert: []float64{8}, no: []float64{7}},
		{in: "10.:20.0", want: Range{Start: 10, End: 20}, str: "10:20"},
		{in: "5:5", want: Range{Start: 5, End: 5}, str: "5:5", alert: []float64{4.9, 5.1}, no: []float64{5}},
		{in: "0", want: Range{}, str: "0", alert: []float64{0.001}, no: []float64{0}},
		{in: "123456789012:", want: Range{Start: 123456789012, NoEnd: true}, str: "123456789012:"},
		// Errors.
		{in: "", errMatch: "empty"},
		{in: "@", errMatch: "empty"},
		{in: "20:10", errMatch: "greater than"},
		{in: "-5", errMatch: "greater than"},
		{in: ":10", errMatch: "no start"},
		{in: "~", errMatch: "not a number"},
		{in: "abc", errMatch: "not a number"},
		{in: "10x", errMatch: "not a number"},
		{in: "1e3", errMatch: "not a number"},
		{in: "inf", errMatch: "not a number"},
		{in: "NaN:", errMatch: "not a number"},
		{in: "0x10", errMatch: "not a number"},
		{in: "1:2:3", errMatch: "not a number"},
		{in: "@@10", errMatch: "not a number"},
		{in: "--5:", errMatch: "not a number"},
		{in: ".", errMatch: "not a number"},
		{in: "10 ", errMatch: "not a number"},
		{in: "~:~", errMatch: "not a number"},
		{in: strings.Repeat("9", 400), errMatch: "out of range"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseRange(tc.in)
			if tc.errMatch != "" {
				require.ErrorContains(t, err, tc.errMatch)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r)
			require.Equal(t, tc.str, r.String())
			back, err := ParseRange(r.String())
			require.NoError(t, err)
			require.Equal(t, r, back, "String must round-trip")
			for _, v := range tc.alert {
				require.True(t, r.Alert(v), "%v must alert under %s", v, tc.in)
			}
			for _, v := range tc.no {
				require.False(t, r.Alert(v), "%v must not alert under %s", v, tc.in)
			}
		})
	}
}

func TestFormatNumberNoExponent(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1e21: "1000000000000000000000", 1e-7: "0.0000001", 104857.6: "104857.6",
		-2.5: "-2.5", 9223372036854775807: "9223372036854776000", 3: "3",
	} {
		require.Equal(t, want, FormatNumber(v))
	}
}
