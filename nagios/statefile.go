package nagios

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sockwatch/sockwatch"
	"github.com/sockwatch/sockwatch/nagios/plugin"
)

// The state file keeps the event counters of the last run, so that the next
// run can tell whether they grew, and the growth seen, so that it is held for
// --hold. It is small JSON, versioned; anything that is not a state file of
// a known version for the same proc root is replaced with a note, so that a
// bad file costs one baseline, never an UNKNOWN forever.
//
// Every service of a host shares one state file (one per proc root): the
// counters of the host are read in full on every run whatever --only and
// --top say, and growth is recorded for all to report, so that the service
// that runs first does not consume the growth another one alerts on.

// stateVersion is the version written. Version 1 files (one per --only set,
// counters only) are read as baselines without growth.
const stateVersion = 2

// maxStateSize bounds what is read of a state file: it grows with the
// containers and namespaces it tracks, by a few entries each, and a file
// larger than this is not one the check wrote.
const maxStateSize = 4 << 20

type stateData struct {
	Version  int       `json:"version"`
	ProcRoot string    `json:"proc_root"`
	Saved    time.Time `json:"saved"`
	// Counters are the baselines of the beancounters' failcnt; in version
	// 1, of the host's event counters too.
	Counters map[string]int64 `json:"counters"`
	// Namespaces are the event counters of each network namespace
	// (sockwatch.EventTracker.Baselines), and Totals the host-wide ones as
	// counters that never decrease, by event name.
	Namespaces map[string]int64 `json:"namespaces,omitempty"`
	Totals     map[string]int64 `json:"totals,omitempty"`
	// Growth is the last growth of each counter that grew, by counter key.
	Growth map[string]*growth `json:"growth,omitempty"`
	// Runs is when each service (by serviceKey) last ran, so that a
	// service sees growth recorded by another after its own last run even
	// when the hold time is shorter than its interval.
	Runs map[string]time.Time `json:"runs,omitempty"`
}

// stateDir is where state files go when --state-file is not given (see
// plugin.StateDir): /var/lib/sockwatch for root.
func stateDir() (string, error) { return plugin.StateDir("sockwatch") }

// serviceKey names the service a run belongs to, among those sharing the
// state file: its metric set and owner listing.
func (c *checker) serviceKey() string {
	key := "only=" + strings.Join(c.cfg.Only, ",")
	if c.cfg.Namespaces {
		key += " namespaces"
	}
	return key + fmt.Sprintf(" top=%d", c.cfg.Top)
}

// defaultStatePath is the per-user state file of a proc root, creating its
// directory (0700) when needed. The name is that version 1 gave a check
// without --only, whose baseline is thus kept.
func defaultStatePath(root string) (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %v", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root + "\x00"))
	return filepath.Join(dir, "check_sockwatch-"+hex.EncodeToString(sum[:8])+".json"), nil
}

// loadState sets the checker's baseline from the state file, which it
// locks until saveState: two services of a host run at once must not lose
// the growth one of them recorded. Every outcome but a good baseline leaves
// a note.
func (c *checker) loadState() {
	root := c.snap.Root
	c.next = &stateData{Version: stateVersion, ProcRoot: root, Saved: c.now,
		Counters: map[string]int64{}, Growth: map[string]*growth{}, Runs: map[string]time.Time{}}
	path := c.cfg.StateFile
	if path == "" {
		var err error
		if path, err = defaultStatePath(root); err != nil {
			c.notes = append(c.notes, fmt.Sprintf("state: %v; counter growth is not checked", err))
			return
		}
	}
	state, err := plugin.OpenStateFile(path)
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("state: cannot save %s: %v; counter growth is not checked", path, err))
		return
	}
	c.state = state
	path = state.Path()
	prev, err := readState(state)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.notes = append(c.notes, "state: no baseline yet (first run): counter growth is checked from the next run on")
	case errors.Is(err, plugin.ErrStateUnusable):
		c.notes = append(c.notes, fmt.Sprintf("state: %v; counter growth is not checked", err))
		c.state.Close()
		c.state = nil
	case err != nil:
		c.notes = append(c.notes, fmt.Sprintf("state: %s %v: replaced, no baseline yet", path, err))
	case prev.Version != stateVersion && prev.Version != 1:
		c.notes = append(c.notes, fmt.Sprintf("state: %s has version %d, not %d: replaced, no baseline yet", path, prev.Version, stateVersion))
	case prev.ProcRoot != root:
		c.notes = append(c.notes, fmt.Sprintf("state: %s belongs to proc root %q: replaced, no baseline yet", path, prev.ProcRoot))
	default:
		c.takeBaseline(prev)
		if c.cfg.Verbose > 0 {
			c.notes = append(c.notes, fmt.Sprintf("state: %s, baseline of %s (%v ago)",
				path, prev.Saved.Format(time.RFC3339), c.now.Sub(prev.Saved).Round(time.Second)))
		}
	}
}

// takeBaseline takes the counters of the last run as this one's baseline,
// and carries over into the next state what this run may not see again.
func (c *checker) takeBaseline(prev *stateData) {
	c.prev = prev
	c.lastRun = prev.Runs[c.serviceKey()]
	c.tracker = sockwatch.EventTracker{Baselines: prev.Namespaces, Last: prev.Saved}
	for _, spec := range counterSpecs {
		c.tracker.Totals[spec.event] = prev.Totals[spec.label()]
		if v, ok := prev.Counters[spec.label()]; ok && prev.Namespaces == nil {
			// Kept before baselines were per namespace: the host's.
			c.tracker.HostFallback[spec.event] = sockwatch.Known(v)
		}
	}
	// What this run does not read again (a container's failcnt whose
	// file failed) keeps its baseline, and growth stays recorded for
	// the other services. The event counters' baselines are the
	// tracker's.
	for k, v := range prev.Counters {
		if strings.HasPrefix(k, "failcnt_") {
			c.next.Counters[k] = v
		}
	}
	for k, g := range prev.Growth {
		if c.now.Sub(g.Last) < max(c.cfg.Hold, keepGrowth) {
			c.next.Growth[k] = g
		}
	}
	for k, t := range prev.Runs {
		if c.now.Sub(t) < keepGrowth {
			c.next.Runs[k] = t
		}
	}
}

// keepGrowth is how long a growth record, and a service's last run, are
// kept when no service holds them any longer: a service that runs less
// often than its hold time still sees growth since its last run.
const keepGrowth = 7 * 24 * time.Hour

// saveState writes this run's counters as the next baseline, and releases
// the lock.
func (c *checker) saveState() {
	if c.state == nil {
		return
	}
	defer c.state.Close()
	c.next.Runs[c.serviceKey()] = c.now
	if c.cfg.Verbose > 2 {
		keys := slices.Sorted(maps.Keys(c.next.Growth))
		for _, k := range keys {
			g := c.next.Growth[k]
			c.notes = append(c.notes, fmt.Sprintf("state: growth of %s: by %d from %s to %s", k, g.By, stamp(g.First), stamp(g.Last)))
		}
	}
	c.next.Namespaces = c.tracker.Baselines
	c.next.Totals = map[string]int64{}
	for _, spec := range counterSpecs {
		c.next.Totals[spec.label()] = c.tracker.Totals[spec.event]
	}
	data, err := json.Marshal(c.next)
	if err == nil {
		err = c.state.Write(append(data, '\n'))
	}
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("state: cannot save %s: %v; counter growth is not checked", c.state.Path(), err))
	}
}

// readState reads and decodes the state file. Errors other than
// fs.ErrNotExist and plugin.ErrStateUnusable mean a file to replace.
func readState(f *plugin.StateFile) (*stateData, error) {
	data, err := f.Read(maxStateSize)
	if err != nil {
		return nil, err
	}
	return decodeState(data)
}

// decodeState reads the contents of a state file. Counters only grow, so a
// negative one (a file edited by hand, or not ours) is corrupt: taken as a
// baseline it would overflow the growth.
func decodeState(data []byte) (*stateData, error) {
	if len(data) > maxStateSize {
		return nil, errors.New("is too large to be a state file")
	}
	var d stateData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("is corrupt (%v)", err)
	}
	for _, m := range []map[string]int64{d.Counters, d.Namespaces, d.Totals} {
		for k, v := range m {
			if v < 0 {
				return nil, fmt.Errorf("is corrupt (counter %q is negative)", k)
			}
		}
	}
	for k, g := range d.Growth {
		if g == nil || g.By <= 0 {
			return nil, fmt.Errorf("is corrupt (growth of %q is not positive)", k)
		}
	}
	return &d, nil
}
