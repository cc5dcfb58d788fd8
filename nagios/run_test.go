package nagios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	r := Run(time.Second, "", func() *Result { panic("boom") })
	require.Equal(t, Unknown, r.State)
	require.Contains(t, r.Summary, "boom")

	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	r = Run(50*time.Millisecond, "reading /proc", func() *Result { <-block; return &Result{} })
	require.Equal(t, Unknown, r.State)
	require.Equal(t, "timed out after 50ms reading /proc", r.Summary)
	require.Less(t, time.Since(start), 5*time.Second)

	r = Run(time.Second, "", func() *Result { return &Result{State: Warning} })
	require.Equal(t, Warning, r.State)
}
