package plugin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResultFormat(t *testing.T) {
	r := &Result{
		State:    Warning,
		Summary:  "path /run/a|b\nc\x01 \xff",
		Perfdata: []Perfdata{{Label: "a", Value: Int(1)}, {Label: "b", Value: Int(2)}},
		Long:     []string{"line | one", "two\tx"},
	}
	require.Equal(t, "SOCKWATCH WARNING - path /run/a¦b\\nc? ? | a=1 b=2\nline ¦ one\ntwo x\n", r.Format("SOCKWATCH"))
	require.Equal(t, "SOCKWATCH OK\n", (&Result{}).Format("SOCKWATCH"))
}

func TestWorst(t *testing.T) {
	for _, tc := range [][3]State{
		{OK, OK, OK}, {OK, Warning, Warning}, {Critical, Warning, Critical}, {Unknown, OK, Unknown},
		{Unknown, Warning, Warning}, {Critical, Unknown, Critical}, {Warning, Unknown, Warning},
	} {
		require.Equal(t, tc[2], Worst(tc[0], tc[1]), "%v %v", tc[0], tc[1])
		require.Equal(t, tc[2], Worst(tc[1], tc[0]), "%v %v", tc[1], tc[0])
	}
	require.Equal(t, "UNKNOWN", Unknown.String())
	require.Equal(t, "CRITICAL", Critical.String())
}

// The exit code is the state, for each of the four.
func TestResultPrint(t *testing.T) {
	for _, s := range []State{OK, Warning, Critical, Unknown} {
		var b strings.Builder
		code := (&Result{State: s, Summary: "x"}).Print(&b, "DISK")
		require.Equal(t, int(s), code)
		require.Equal(t, "DISK "+s.String()+" - x\n", b.String())
	}
	require.Equal(t, []int{0, 1, 2, 3}, []int{int(OK), int(Warning), int(Critical), int(Unknown)})
}
