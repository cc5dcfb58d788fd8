package plugin

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

// WithTimeout hands over what f returned, or gives up at the timeout and
// leaves f to run on: a blocked f neither holds the caller nor, once it
// returns, blocks on the hand-over.
func TestWithTimeout(t *testing.T) {
	v, ok := WithTimeout(time.Second, func() int { return 42 })
	require.True(t, ok)
	require.Equal(t, 42, v)

	release, returned := make(chan struct{}), make(chan struct{})
	v, ok = WithTimeout(20*time.Millisecond, func() int {
		defer close(returned)
		<-release
		return 7
	})
	require.False(t, ok)
	require.Zero(t, v)
	close(release)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned call did not return once released")
	}
}
