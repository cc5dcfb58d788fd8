package procfile

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "42": 42, "-1": -1, "+7": 7,
		"9223372036854775807":  math.MaxInt64,
		"-9223372036854775808": math.MinInt64,
	} {
		got, err := Atoi([]byte(in))
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-", "+", "1a", "0x10", " 1", "1.5",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		_, err := Atoi([]byte(in))
		require.Error(t, err, in)
	}
}

func TestFields(t *testing.T) {
	var buf [4][]byte
	got := Fields([]byte(" \ta  bb\t\tc "), buf[:0])
	require.Equal(t, [][]byte{[]byte("a"), []byte("bb"), []byte("c")}, got)
	require.Empty(t, Fields([]byte(" \t "), buf[:0]))
}
