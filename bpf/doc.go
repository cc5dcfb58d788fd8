// Package bpf counts in the kernel, with eBPF programs, what /proc cannot
// show: the sockets each process creates (and closes again before any scan
// sees them), its DNS lookups, and the socket memory-limit hits it meets.
//
// The programs are C (*.bpf.c), compiled against the kernel's BTF (CO-RE,
// vmlinux.h) by bpf2go into the committed *_bpfel.go and *_bpfel.o files,
// so building needs no clang; `make generate` rebuilds them. The package
// knows nothing of Telegraf or Nagios.
package bpf
