// Package privilege keeps sockwatch's binaries from lending the privileges
// they were given to whoever runs them.
//
// The README has the binaries given cap_dac_read_search and cap_sys_ptrace
// (setcap), to read other users' /proc/PID/fd. File capabilities apply to
// whoever runs the file, with whatever arguments and environment: without
// care, a proc root of the caller's choosing (--proc-root, proc_root,
// HOST_PROC) would have the binary read, parse and print files its user may
// not read. A binary that runs with more than its real user has (see
// Status) therefore reads only the real /proc, keeps its state in its
// user's default directory, and holds its capabilities only while a step
// needs them: Setup lowers them at start (none effective, those in Kept
// permitted), During raises them around the scan, Drop lets go of them for
// good once the last step that needs them is done.
//
// Root (real uid 0) and a user without raised privileges are left alone:
// they read nothing they could not read anyway, so any proc root is theirs.
//
// Capabilities are per thread, and the changes are made on every thread of
// the process, which takes a binary built without cgo (CGO_ENABLED=0, as
// make build does): a binary built with cgo and started with raised
// privileges refuses to run (ErrCgo).
package privilege

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrCgo says that the capabilities cannot be changed on every thread.
var ErrCgo = errors.New("this binary was built with cgo, so its capabilities cannot be lowered on every thread:" +
	" rebuild it with CGO_ENABLED=0 (make build does)")

// Status says whether the process runs with more than its real user has.
type Status struct {
	Raised bool
	// Why says what is raised, for messages: "capabilities
	// cap_dac_read_search,cap_sys_ptrace, which uid 65534 does not have".
	Why string
}

// atSecure is the auxiliary vector's AT_SECURE (linux/auxvec.h): set by
// the kernel when it started the program with more than the user who ran
// it has (setuid, setgid, file capabilities, an LSM transition).
const atSecure = 23

// ids are the process's user and group IDs, as it started.
type ids struct{ ruid, euid, rgid, egid int }

// state is the process's: privileges are the process's, not a caller's.
var state struct {
	sync.Mutex
	once   sync.Once
	status Status
	err    error
	ids    ids
	// managed is set once Setup has lowered the privileges: During, Lower
	// and Drop change nothing before, nor once dropped is set.
	managed, dropped bool
}

// Current returns the process's status as it started: computed on first
// use, before Setup changes anything.
func Current() (Status, error) {
	state.once.Do(func() { state.status, state.ids, state.err = detect() })
	return state.status, state.err
}

func detect() (Status, ids, error) {
	ruid, euid, suid := unix.Getresuid()
	rgid, egid, sgid := unix.Getresgid()
	id := ids{ruid: ruid, euid: euid, rgid: rgid, egid: egid}
	if ruid == 0 {
		return Status{}, id, nil
	}
	var why []string
	if euid != ruid || suid != ruid {
		why = append(why, fmt.Sprintf("set-user-ID (effective uid %d, real uid %d)", euid, ruid))
	}
	if egid != rgid || sgid != rgid {
		why = append(why, fmt.Sprintf("set-group-ID (effective gid %d, real gid %d)", egid, rgid))
	}
	s, err := capget()
	if err != nil {
		return Status{}, id, fmt.Errorf("reading its capabilities: %w", err)
	}
	if c := s.eff | s.prm; c != 0 {
		why = append(why, fmt.Sprintf("capabilities %s, which uid %d does not have", c, ruid))
	}
	if len(why) == 0 {
		if auxv, err := unix.Auxv(); err == nil {
			for _, kv := range auxv {
				if kv[0] == atSecure && kv[1] != 0 {
					why = append(why, "AT_SECURE (the kernel started it with more than its user has)")
				}
			}
		}
	}
	if len(why) == 0 {
		return Status{}, id, nil
	}
	return Status{Raised: true, Why: strings.Join(why, "; ")}, id, nil
}

// Setup is the first thing a binary does: when its privileges are raised,
// it keeps only Kept in its permitted set, none of it effective, and takes
// its real user and group IDs as effective ones (a set-user-ID binary
// keeping the other as saved ID, for During); other capabilities are
// dropped, and the inheritable and ambient sets emptied, so that nothing
// passes to a child. It returns the status; an error means the privileges
// could not be lowered, and the binary must stop.
func Setup() (Status, error) {
	st, err := Current()
	if err != nil || !st.Raised {
		return st, err
	}
	state.Lock()
	defer state.Unlock()
	if state.managed {
		return st, nil
	}
	s, err := capget()
	if err != nil {
		return st, err
	}
	// A cgo binary is found out before anything else changes.
	if err := capset(sets{eff: s.eff, prm: s.prm}); err != nil {
		return st, err
	}
	id := state.ids
	if err := setIDs(id.ruid, id.rgid, id.euid, id.egid); err != nil {
		return st, err
	}
	if err := capset(sets{prm: s.prm & Kept}); err != nil {
		return st, err
	}
	state.managed = true
	return st, nil
}

// setIDs sets the effective uid and gid, keeping the real ones and the
// given saved ones; Go's syscall.Setresuid and Setresgid apply to every
// thread. An effective uid 0 lowered to another while the saved one stays
// 0 keeps the permitted capabilities, and raising it back makes them
// effective again.
func setIDs(euid, egid, suid, sgid int) error {
	id := state.ids
	if id.rgid != id.egid {
		if err := syscall.Setresgid(id.rgid, egid, sgid); err != nil {
			return fmt.Errorf("setresgid: %w", err)
		}
	}
	if id.ruid != id.euid {
		if err := syscall.Setresuid(id.ruid, euid, suid); err != nil {
			return fmt.Errorf("setresuid: %w", err)
		}
	}
	return nil
}

// During runs f with caps (a subset of Kept) effective, and lowers them
// again when f returns or panics; a set-user-ID or set-group-ID binary has
// its effective IDs back for that time. Before Setup lowered anything, or
// after Drop, f runs as the process is. If the capabilities cannot be
// raised, f does not run; the error of raising or lowering them is
// returned.
func During(caps Set, f func()) (err error) {
	state.Lock()
	managed := state.managed && !state.dropped
	state.Unlock()
	if !managed {
		f()
		return nil
	}
	if err := raise(caps); err != nil {
		return fmt.Errorf("raising capabilities %s: %w", caps&Kept, err)
	}
	defer func() {
		if lerr := Lower(); lerr != nil && err == nil {
			err = lerr
		}
	}()
	f()
	return nil
}

func raise(caps Set) error {
	state.Lock()
	defer state.Unlock()
	id := state.ids
	if err := setIDs(id.euid, id.egid, id.euid, id.egid); err != nil {
		return err
	}
	s, err := capget()
	if err != nil {
		return err
	}
	return capset(sets{eff: caps & s.prm, prm: s.prm})
}

// Lower makes no capability effective, and the real IDs the effective
// ones, at once: what During does when its function returns, for a caller
// that gave up waiting for it (a gather abandoned on a hung read, which
// then goes on, if ever, without them).
func Lower() error {
	state.Lock()
	defer state.Unlock()
	if !state.managed || state.dropped {
		return nil
	}
	s, err := capget()
	if err == nil {
		err = capset(sets{prm: s.prm})
	}
	if err == nil {
		id := state.ids
		err = setIDs(id.ruid, id.rgid, id.euid, id.egid)
	}
	if err != nil {
		return fmt.Errorf("lowering capabilities: %w", err)
	}
	return nil
}

// Drop lets go of every capability, and of a set-user-ID's or
// set-group-ID's saved IDs, for the rest of the process's life: the check
// calls it once its owner scan is done, before it touches its state file or
// prints. It does nothing when Setup had nothing to lower.
func Drop() error {
	state.Lock()
	defer state.Unlock()
	if !state.managed || state.dropped {
		return nil
	}
	id := state.ids
	if err := setIDs(id.ruid, id.rgid, id.ruid, id.rgid); err != nil {
		return err
	}
	if err := capset(sets{}); err != nil {
		return fmt.Errorf("dropping capabilities: %w", err)
	}
	state.dropped = true
	return nil
}
