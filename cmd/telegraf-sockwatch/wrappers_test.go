package main

import (
	"io"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/stretchr/testify/require"
)

// serviceInput records whether it was started and stopped.
type serviceInput struct {
	started, stopped bool
	block            chan struct{} // Gather waits on it when not nil
}

func (*serviceInput) SampleConfig() string { return "" }
func (in *serviceInput) Gather(telegraf.Accumulator) error {
	if in.block != nil {
		<-in.block
	}
	return nil
}
func (in *serviceInput) Start(telegraf.Accumulator) error { in.started = true; return nil }
func (in *serviceInput) Stop()                            { in.stopped = true }

// The wrappers main puts around the plugin stay a service input, so that
// the shim stops the plugin (which detaches its eBPF programs); not while a
// gather abandoned on a hung read may still use what Stop would close.
func TestWrappersStopTheInput(t *testing.T) {
	in := &serviceInput{}
	var wrapped telegraf.Input = &loggedInput{Input: &boundedInput{Input: in, timeout: time.Second}}
	svc, ok := wrapped.(telegraf.ServiceInput)
	require.True(t, ok, "the shim calls Start and Stop of a service input only")
	require.NoError(t, svc.Start(nil))
	svc.Stop()
	require.True(t, in.started)
	require.True(t, in.stopped)

	blocked := &serviceInput{block: make(chan struct{})}
	defer close(blocked.block)
	b := &boundedInput{Input: blocked, timeout: 10 * time.Millisecond, what: "reading /proc", log: newExecdLogger(io.Discard, telegraf.Error)}
	acc := &errorAccumulator{}
	require.NoError(t, b.Gather(acc))
	require.NotEmpty(t, acc.errs, "the gather was abandoned")
	b.Stop()
	require.False(t, blocked.stopped, "stopped under a gather still running")
}
