//go:build linux

// Package sockwatch is the Telegraf input inputs.sockwatch: the host's socket
// usage against the kernel's limits, as read by the sockwatch core package.
package sockwatch

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/inputs"

	core "github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/privilege"
)

//go:embed sample.conf
var sampleConfig string

// Sockwatch is the plugin. A Telegraf input is never gathered by two
// goroutines at once, which the core's Reader relies on.
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

	reader     *core.Reader
	cgroupRoot string
	creators   *core.CreatorTracer // nil unless creators is on and tracing works
	// events sums the event counters over the network namespaces, from
	// one gather to the next (hostwide_* fields).
	events core.EventTracker

	// What is logged once rather than at every gather.
	warnedUnnamed, warnedUnreadable, warnedNoCgroupSock bool
	// ownersVia is how the owners were last read, logged when it changes.
	ownersVia string
}

func (*Sockwatch) SampleConfig() string { return sampleConfig }

// Init checks the proc root once, so that a wrong path is a configuration
// error at startup rather than the same gather error every interval.
//
// A process that runs with more than its user has (telegraf-sockwatch
// given capabilities) reads only the real /proc and /sys/fs/cgroup: a proc
// or cgroup root elsewhere is refused, before anything is read of it.
func (s *Sockwatch) Init() error {
	priv, err := privilege.Current()
	if err != nil {
		return err
	}
	root := core.ProcRoot(s.ProcRoot)
	if err := privilege.Confine(priv, "proc root", rootSource(s.ProcRoot), root, core.DefaultProcRoot); err != nil {
		return err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("proc root %s (%s): %w", root, rootSource(s.ProcRoot), err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("proc root %s (%s) is not a directory", root, rootSource(s.ProcRoot))
	}
	if s.Owners && s.OwnersTop < 1 {
		return fmt.Errorf("owners_top = %d: must be at least 1", s.OwnersTop)
	}
	if s.Cgroups {
		if s.CgroupsTop < 1 {
			return fmt.Errorf("cgroups_top = %d: must be at least 1", s.CgroupsTop)
		}
		s.cgroupRoot = core.CgroupRoot(s.CgroupRoot)
		if err := privilege.Confine(priv, "cgroup root", cgroupRootSource(s.CgroupRoot), s.cgroupRoot,
			core.DefaultCgroupRoot, filepath.Join(core.DefaultCgroupRoot, "unified")); err != nil {
			return err
		}
		fi, err := os.Stat(s.cgroupRoot)
		if err != nil {
			return fmt.Errorf("cgroup root: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("cgroup root %s is not a directory", s.cgroupRoot)
		}
	}
	if s.reader, err = core.NewReader(root); err != nil {
		return fmt.Errorf("proc root %s (%s): %w", root, rootSource(s.ProcRoot), err)
	}
	// With counters off, netstat, snmp and snmp6 are not read at all.
	s.reader.SkipCounters = !s.Counters
	// Without the per-namespace series, the namespaces are read for the
	// host-wide counters alone.
	s.reader.NamespaceCountersOnly = !s.Namespaces
	if s.Creators {
		if s.CreatorsTop < 1 {
			return fmt.Errorf("creators_top = %d: must be at least 1", s.CreatorsTop)
		}
		return s.startCreators()
	}
	return nil
}

// rootSource says where the proc root came from, for Init's messages.
func rootSource(option string) string {
	switch {
	case option != "":
		return "option proc_root"
	case os.Getenv("HOST_PROC") != "":
		return "environment variable HOST_PROC"
	}
	return "default"
}

// cgroupRootSource says where the cgroup root came from, for Init's
// messages.
func cgroupRootSource(option string) string {
	switch {
	case option != "":
		return "option cgroup_root"
	case os.Getenv("HOST_SYS") != "":
		return "environment variable HOST_SYS"
	}
	return "default"
}

// Gather reads one snapshot and emits its series. A snapshot that cannot be
// taken at all (sockstat unreadable) is one error and no metrics; a source
// that failed within it is one error naming its file, and only the fields it
// feeds are left out.
//
// The proc part of a gather runs with the capabilities telegraf-sockwatch
// was given raised, and only it: they are lowered again before cgroups are
// read and between gathers (see package privilege).
func (s *Sockwatch) Gather(acc telegraf.Accumulator) error {
	// One timestamp for every series of the gather: the gauge and counter
	// halves of the host series must meet on the same point.
	now := time.Now()
	var ok bool
	if err := privilege.During(privilege.Scan|privilege.BPF, func() { ok = s.gatherProc(acc, now) }); err != nil {
		acc.AddError(err)
	}
	if ok && s.Cgroups {
		s.gatherCgroups(acc, now)
	}
	return nil
}

// gatherProc emits every series read from proc; false when the snapshot
// could not be taken at all.
func (s *Sockwatch) gatherProc(acc telegraf.Accumulator, now time.Time) bool {
	snap, err := s.reader.Read()
	if err != nil {
		acc.AddError(err)
		return false
	}
	for _, err := range snap.Errors {
		acc.AddError(err)
	}
	// Every network namespace is read for the host-wide counters and the
	// per-namespace series, and before the host's gauges: on kernels
	// before 4.16 numothersock takes the other namespaces' TCP sockets off.
	var scan *core.NetNSScan
	if s.Counters || s.Namespaces || snap.Kernel.Before(4, 16) {
		if scan, err = s.reader.Namespaces(snap); err != nil {
			acc.AddError(err)
			scan = &core.NetNSScan{}
		}
		for _, err := range scan.Errors {
			acc.AddError(err)
		}
		s.warnUnreadable(scan)
	}
	gauges := hostGauges(snap)
	if s.Owners {
		s.gatherOwners(acc, gauges, snap.NetDir, now)
	} else {
		putUnixSockets(acc, gauges, s.reader.UnixSockets)
	}
	if s.Namespaces {
		s.gatherNamespaces(acc, gauges, scan, now)
	}
	s.gatherCreators(acc, gauges, now)
	var events *core.EventUpdate
	if s.Counters {
		events = s.events.Update(s.reader, snap, scan, now)
	}
	s.gatherHost(acc, gauges, &snap.Counters, events, now)
	gatherBeancounters(acc, snap, now)
	return true
}

// putUnixSockets adds unix_sockets, as count gives it, to fields. With
// owners on, the owner scan counts the host's in the same pass.
func putUnixSockets(acc telegraf.Accumulator, fields map[string]any, count func() (core.Num, error)) {
	n, err := count()
	if err != nil && !core.IsNotExist(err) {
		acc.AddError(err)
	}
	putNum(fields, "unix_sockets", n)
}

func init() {
	inputs.Add("sockwatch", func() telegraf.Input {
		return &Sockwatch{Counters: true, OwnersTop: 10, CgroupsTop: 10, CreatorsTop: 10}
	})
}
