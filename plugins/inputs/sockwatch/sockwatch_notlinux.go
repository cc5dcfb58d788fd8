//go:build !linux

package sockwatch

import (
	_ "embed"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/inputs"
)

//go:embed sample.conf
var sampleConfig string

// Sockwatch reads Linux's socket accounting; elsewhere it only says so.
type Sockwatch struct {
	ProcRoot    string          `toml:"proc_root"`
	Counters    bool            `toml:"counters"`
	Owners      bool            `toml:"owners"`
	OwnersTop   int             `toml:"owners_top"`
	Namespaces  bool            `toml:"namespaces"`
	Cgroups     bool            `toml:"cgroups"`
	CgroupsTop  int             `toml:"cgroups_top"`
	CgroupRoot  string          `toml:"cgroup_root"`
	Creators    bool            `toml:"creators"`
	CreatorsTop int             `toml:"creators_top"`
	Log         telegraf.Logger `toml:"-"`
}

func (*Sockwatch) SampleConfig() string { return sampleConfig }

func (s *Sockwatch) Init() error {
	s.Log.Warn("Current platform is not supported")
	return nil
}

func (*Sockwatch) Gather(telegraf.Accumulator) error { return nil }

func init() {
	inputs.Add("sockwatch", func() telegraf.Input {
		return &Sockwatch{Counters: true, OwnersTop: 10, CgroupsTop: 10, CreatorsTop: 10}
	})
}
