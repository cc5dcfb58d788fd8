//go:build !linux

package sockwatch

import "github.com/influxdata/telegraf"

// state is empty: there is nothing to read elsewhere than on Linux.
type state struct{}

func (s *Sockwatch) Init() error {
	s.Log.Warn("Current platform is not supported")
	return nil
}

func (*Sockwatch) Gather(telegraf.Accumulator) error { return nil }
