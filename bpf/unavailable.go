//go:build linux && amd64

package bpf

import (
	"errors"
	"os"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// available checks what can be checked before loading anything.
func available() error {
	if _, err := os.Stat(KernelBTF); err != nil {
		return &Unavailable{Missing: "the kernel has no BTF type information (" + KernelBTF + ")", Err: err}
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// ignore it, so raising it there changes nothing. Raising it needs
	// CAP_SYS_RESOURCE: without it, the load says what failed. Not
	// cilium/ebpf/rlimit: its init probes the kernel (a BPF map created with
	// the limit lowered to zero) at the start of every binary linking it,
	// a cost each run of check_sockwatch paid without --trace.
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &inf, nil)
	return nil
}

// unavailable turns a load or attach error into the operator's words.
func unavailable(what string, err error) error {
	var verr *ebpf.VerifierError
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		// The library's own words would suggest the memlock limit, which
		// kernels since 5.11 no longer apply: the errno says it all.
		errno := unix.EPERM
		if errors.Is(err, unix.EACCES) {
			errno = unix.EACCES
		}
		return &Unavailable{Missing: "privileges: run as root or with CAP_BPF and CAP_PERFMON", Err: errno}
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.EOPNOTSUPP):
		return &Unavailable{Missing: "kernel support to " + what, Err: err}
	case errors.As(err, &verr):
		return &Unavailable{Missing: "a kernel that accepts the programs (verifier refused them)", Err: err}
	}
	return &Unavailable{Missing: "a kernel that lets it " + what, Err: err}
}
