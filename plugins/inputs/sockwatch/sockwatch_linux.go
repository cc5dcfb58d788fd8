//go:build linux

package sockwatch

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/influxdata/telegraf"

	core "github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/internal/privilege"
)

// state is what the plugin keeps from Init on, and between gathers.
type state struct {
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
	if s.reader, err = newReader(priv, s.ProcRoot); err != nil {
		return err
	}
	if s.Owners && s.OwnersTop < 1 {
		return fmt.Errorf("owners_top = %d: must be at least 1", s.OwnersTop)
	}
	if s.Cgroups {
		if s.CgroupsTop < 1 {
			return fmt.Errorf("cgroups_top = %d: must be at least 1", s.CgroupsTop)
		}
		if s.cgroupRoot, err = checkCgroupRoot(priv, s.CgroupRoot); err != nil {
			return err
		}
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

// newReader returns the Reader of the proc root that option, HOST_PROC or
// the default names, resolved once, having checked that it may be read and
// is a directory.
func newReader(priv privilege.Status, option string) (*core.Reader, error) {
	root, source := core.ProcRoot(option), rootSource(option, "proc_root", "HOST_PROC")
	if err := privilege.Confine(priv, "proc root", source, root, core.DefaultProcRoot); err != nil {
		return nil, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("proc root %s (%s): %w", root, source, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("proc root %s (%s) is not a directory", root, source)
	}
	r, err := core.NewReader(root)
	if err != nil {
		return nil, fmt.Errorf("proc root %s (%s): %w", root, source, err)
	}
	return r, nil
}

// checkCgroupRoot resolves the cgroup root, once, and checks it as
// newReader does the proc root.
func checkCgroupRoot(priv privilege.Status, option string) (string, error) {
	root := core.CgroupRoot(option)
	if err := privilege.Confine(priv, "cgroup root", rootSource(option, "cgroup_root", "HOST_SYS"), root,
		core.DefaultCgroupRoot, filepath.Join(core.DefaultCgroupRoot, "unified")); err != nil {
		return "", err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("cgroup root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("cgroup root %s is not a directory", root)
	}
	return root, nil
}

// rootSource says where a root came from, for Init's messages: the option
// (proc_root, cgroup_root), else the environment variable that moves it
// (HOST_PROC, HOST_SYS), else the default.
func rootSource(option, name, env string) string {
	switch {
	case option != "":
		return "option " + name
	case os.Getenv(env) != "":
		return "environment variable " + env
	}
	return "default"
}

// Root is the proc root Init resolved (proc_root, else HOST_PROC, else
// /proc), for telegraf-sockwatch to name when a gather hangs on it.
func (s *Sockwatch) Root() string { return s.reader.Root }

// Gather reads everything first (reading), then makes every series of it
// (addMetrics). A snapshot that cannot be taken at all (sockstat unreadable)
// is one error and no metrics; a source that failed within it is one error
// naming its file, and only the fields it feeds are left out.
//
// The proc part of a gather runs with the capabilities telegraf-sockwatch
// was given raised, and only it: they are lowered again before cgroups are
// read and between gathers (see package privilege).
func (s *Sockwatch) Gather(acc telegraf.Accumulator) error {
	// One timestamp for every series of the gather: the gauge and counter
	// halves of the host series must meet on the same point.
	r := reading{now: time.Now()}
	var ok bool
	if err := privilege.During(privilege.Scan|privilege.BPF, func() { ok = s.readProc(acc, &r) }); err != nil {
		acc.AddError(err)
	}
	if !ok {
		return nil
	}
	if s.Cgroups {
		s.readCgroups(acc, &r)
	}
	s.addMetrics(acc, &r)
	return nil
}
