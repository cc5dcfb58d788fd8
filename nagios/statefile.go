package nagios

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sockwatch/sockwatch"
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

// maxStateSize bounds what is read of a state file; a real one is < 1 KiB
// per hundred containers.
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

// DefaultStateDir is where state files go when --state-file is not given: a
// directory only the user running the check can write. Root's is
// /var/lib/sockwatch; another user's $XDG_STATE_HOME/sockwatch, else
// ~/.local/state/sockwatch (Debian's nagios user has its home in
// /var/lib/nagios). The user is the real one: a set-user-ID check writes
// its state as that user, once it has dropped the other.
func DefaultStateDir() (string, error) {
	if os.Getuid() == 0 {
		return "/var/lib/sockwatch", nil
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "sockwatch"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "sockwatch"), nil
}

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
	dir, err := DefaultStateDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: %v", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root + "\x00"))
	return filepath.Join(dir, "check_sockwatch-"+hex.EncodeToString(sum[:8])+".json"), nil
}

// safeStatePath returns path with the symbolic links of its directory
// resolved, once it is sure that no other user can swap the state file, or
// a directory on the way to it, for something else. Otherwise a check run as
// root with its state in a shared directory could be made to replace any
// file named like the state file. The directory must belong to this user and
// be writable by no one else; every directory above it, and every link on
// the way as given, must belong to root or to this user, and a directory
// others can write must be sticky (/tmp), where they cannot rename what is
// not theirs. The resolved path is used from then on, so that a link changed
// later changes nothing.
func safeStatePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	case int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid():
		return "", fmt.Errorf("%s belongs to uid %d, not to this user", dir, fi.Sys().(*syscall.Stat_t).Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("%s is writable by group or others (want 0700)", dir)
	}
	// The path as given is walked only when links made it differ from dir:
	// otherwise that walk would be dir, which passed the stricter test
	// above, then the same ancestors as the walk from dir's parent.
	if dir != filepath.Dir(abs) {
		if err := safeAncestors(filepath.Dir(abs)); err != nil {
			return "", err
		}
	}
	if err := safeAncestors(filepath.Dir(dir)); err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// safeAncestors checks p and every directory above it as they are, links
// not followed: each must belong to root or to this user, and a directory
// others can write must be sticky.
func safeAncestors(p string) error {
	euid := os.Geteuid()
	for {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		uid := fi.Sys().(*syscall.Stat_t).Uid
		switch {
		case int(uid) != euid && uid != 0:
			return fmt.Errorf("%s, on the way to the state file, belongs to uid %d, neither root nor this user", p, uid)
		case fi.IsDir() && fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0:
			return fmt.Errorf("%s, on the way to the state file, is writable by group or others and not sticky", p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
		p = filepath.Dir(p)
	}
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
	safe, err := safeStatePath(path)
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("state: cannot save %s: %v; counter growth is not checked", path, err))
		return
	}
	path = safe
	c.statePath = path
	c.unlock = lockDir(filepath.Dir(path))
	prev, err := readState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.notes = append(c.notes, "state: no baseline yet (first run): counter growth is checked from the next run on")
	case errors.Is(err, errStateUnusable):
		c.notes = append(c.notes, fmt.Sprintf("state: %v; counter growth is not checked", err))
		c.statePath = ""
	case err != nil:
		c.notes = append(c.notes, fmt.Sprintf("state: %s %v: replaced, no baseline yet", path, err))
	case prev.Version != stateVersion && prev.Version != 1:
		c.notes = append(c.notes, fmt.Sprintf("state: %s has version %d, not %d: replaced, no baseline yet", path, prev.Version, stateVersion))
	case prev.ProcRoot != root:
		c.notes = append(c.notes, fmt.Sprintf("state: %s belongs to proc root %q: replaced, no baseline yet", path, prev.ProcRoot))
	default:
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
		if c.cfg.Verbose > 0 {
			c.notes = append(c.notes, fmt.Sprintf("state: %s, baseline of %s (%v ago)",
				path, prev.Saved.Format(time.RFC3339), c.now.Sub(prev.Saved).Round(time.Second)))
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
	defer c.unlock()
	if c.statePath == "" {
		return
	}
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
	if err := writeState(c.statePath, c.next); err != nil {
		c.notes = append(c.notes, fmt.Sprintf("state: cannot save %s: %v; counter growth is not checked", c.statePath, err))
	}
}

// lockDir takes an exclusive lock on the state directory, which only this
// user can write, and returns its release. Without the lock (an error) the
// run goes on: a lost update costs a baseline, not a verdict; the check's
// timeout bounds the wait.
func lockDir(dir string) func() {
	f, err := os.Open(dir)
	if err != nil {
		return func() {}
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	return func() { f.Close() }
}

// errStateUnusable marks a state path that must not be read or replaced: a
// symbolic link or something other than a regular file.
var errStateUnusable = errors.New("state file unusable")

type unusableError struct{ msg string }

func (e *unusableError) Error() string        { return e.msg }
func (e *unusableError) Is(target error) bool { return target == errStateUnusable }

// readState reads a state file without following a symbolic link. Errors
// other than fs.ErrNotExist and errStateUnusable mean a file to replace.
func readState(path string) (*stateData, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &unusableError{path + " is a symbolic link, not followed"}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &unusableError{path + " is not a regular file"}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("belongs to uid %d, not to this user", st.Uid)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
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

// writeState replaces path atomically: the data goes to a new file in the
// same directory (O_EXCL, O_NOFOLLOW, 0600), renamed over path. Two checks
// writing at once each rename a complete file; the last one wins.
func writeState(path string, d *stateData) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file, not replaced", path)
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	var f *os.File
	for i := 0; ; i++ {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.%d.tmp", base, os.Getpid(), time.Now().UnixNano()))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil || !errors.Is(err, fs.ErrExist) || i == 9 {
			break
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
