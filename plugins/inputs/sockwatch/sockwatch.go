// Package sockwatch is the Telegraf input inputs.sockwatch: the host's socket
// usage against the kernel's limits, as read by the sockwatch core package.
package sockwatch

import (
	_ "embed"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/inputs"
)

//go:embed sample.conf
var sampleConfig string

// Sockwatch is the plugin: its options, and what it keeps between gathers
// where it runs (state, one per platform). A Telegraf input is never
// gathered by two goroutines at once, which the core's Reader relies on.
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

	state
}

func (*Sockwatch) SampleConfig() string { return sampleConfig }

func init() {
	inputs.Add("sockwatch", func() telegraf.Input {
		return &Sockwatch{Counters: true, OwnersTop: 10, CgroupsTop: 10, CreatorsTop: 10}
	})
}
