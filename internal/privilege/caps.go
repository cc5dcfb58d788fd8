package privilege

import (
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Set is a set of Linux capabilities, bit n standing for capability n as
// /proc/PID/status shows them (CapEff: 0000000000080004 is
// cap_dac_read_search and cap_sys_ptrace).
type Set uint64

// Of returns the set of the capabilities caps (unix.CAP_*).
func Of(caps ...int) Set {
	var s Set
	for _, c := range caps {
		s |= 1 << uint(c)
	}
	return s
}

// Scan is what the owner scan needs, and naming other users' network
// namespaces: listing another user's /proc/PID/fd is a file permission
// check, reading its links and ns/net a ptrace access check. Beancounters,
// mode 0400 root, need the first too.
var Scan = Of(unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE)

// Kept is what a binary started with raised privileges keeps in its
// permitted set, none of it effective until a step raises it: Scan, and
// CAP_BPF with CAP_PERFMON for loading and attaching eBPF programs (the
// socket creation counters, a BPF iterator over the descriptors). Any other
// capability the binary was given is dropped at once.
var Kept = Scan | Of(unix.CAP_BPF, unix.CAP_PERFMON)

// names are the capabilities' names as capabilities(7) and setcap spell
// them, by number.
var names = [...]string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
	"cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
	"cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
	"cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
	"cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
}

// String lists the set's capabilities by name, comma-separated, as setcap
// takes them; "none" for the empty set.
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	var parts []string
	for c := 0; c < 64; c++ {
		if s&(1<<uint(c)) == 0 {
			continue
		}
		if c < len(names) {
			parts = append(parts, names[c])
		} else {
			parts = append(parts, "cap_"+strconv.Itoa(c))
		}
	}
	return strings.Join(parts, ",")
}

// sets are a thread's capability sets.
type sets struct{ eff, prm, inh Set }

// capget returns the calling thread's capability sets; every thread of the
// process has the same, as only capset below changes them.
func capget() (sets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return sets{}, err
	}
	join := func(lo, hi uint32) Set { return Set(lo) | Set(hi)<<32 }
	return sets{
		eff: join(data[0].Effective, data[1].Effective),
		prm: join(data[0].Permitted, data[1].Permitted),
		inh: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

// capset sets the capability sets of every thread of the process.
// Capabilities belong to a thread, not to the process, and the Go runtime
// runs goroutines on many threads, any of which may open a file: a capset
// on one thread would leave the others as they were. AllThreadsSyscall runs
// it on each thread with the world stopped; it refuses in a binary that
// links cgo (ENOTSUP), whose threads the runtime does not all know.
// Lowering the inheritable set to none also clears the ambient set, which
// the kernel keeps within permitted and inheritable.
func capset(s sets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(s.eff), Permitted: uint32(s.prm), Inheritable: uint32(s.inh)},
		{Effective: uint32(s.eff >> 32), Permitted: uint32(s.prm >> 32), Inheritable: uint32(s.inh >> 32)},
	}
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET,
		uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	switch errno {
	case 0:
		return nil
	case syscall.ENOTSUP:
		return ErrCgo
	}
	return errno
}
