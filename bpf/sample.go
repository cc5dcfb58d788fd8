package bpf

import (
	"fmt"
	"time"
)

// Families of created sockets, as the programs count them: index of
// Process.Created.
const (
	Unix  = iota // AF_UNIX, every type
	UDP          // UDP and UDP-Lite over IPv4 and IPv6
	TCP          // TCP over IPv4 and IPv6
	Other        // every other family or protocol (netlink, packet, ping, raw...)
	families
)

// Process is what one process did between two reads.
type Process struct {
	PID uint32
	// Start is when the process started (ns since boot): with PID, it tells
	// a process from a later one that reused its PID.
	Start uint64
	Name  string // comm, as the kernel holds it: any byte but NUL
	UID   uint32 // effective uid
	// Created counts the sockets created (socket, both ends of socketpair,
	// accept) by family: Unix, UDP, TCP, Other.
	Created [families]uint64
	// DNS counts connect() to port 53 and sendto()/sendmsg() of a datagram
	// to port 53 (IPv4 and IPv6).
	DNS uint64
	// Exited: the process has exited; these are its last counts.
	Exited bool
}

// Sockets is the number of sockets created, every family.
func (p *Process) Sockets() uint64 {
	var n uint64
	for _, c := range p.Created {
		n += c
	}
	return n
}

// MemoryHit is the socket memory-limit hits of one process and protocol
// between two reads.
type MemoryHit struct {
	// PID and Start are zero when the socket's owner is unknown: a socket
	// made before tracing started, refused memory in its receive path.
	PID      uint32
	Start    uint64
	Name     string // comm; empty when the owner is unknown
	UID      uint32 // the owner's effective uid, else the socket's uid
	Protocol string // the kernel's name: TCP, TCPv6, UDP, UDPv6, UNIX...
	Hits     uint64
}

// Sample is what happened between two reads of a Tracer.
type Sample struct {
	// Interval is the time between the two reads.
	Interval time.Duration
	// Processes did something during the interval (zero counts left out).
	Processes []Process
	// Memory is the memory-limit hits of the interval.
	Memory []MemoryHit
	// Dropped is how many processes, and memory-hit entries, the maps had
	// to evict since the Tracer opened because they were full: their counts
	// since the previous read are lost.
	DroppedProcesses, DroppedMemory uint64

	present int // entries in the process map when it was read
}

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// MaxProcesses bounds the process map; the compiled-in size
	// when 0. Tests shrink it to fill it.
	MaxProcesses uint32
}

// KernelBTF is where the kernel publishes its type information, which the
// programs are relocated against (CO-RE).
const KernelBTF = "/sys/kernel/btf/vmlinux"

// Unavailable is Open's error when tracing cannot run here: Missing names
// what is missing, in words for an operator.
type Unavailable struct {
	Missing string
	Err     error
}

func (e *Unavailable) Error() string {
	if e.Err == nil {
		return "eBPF tracing unavailable: " + e.Missing
	}
	return fmt.Sprintf("eBPF tracing unavailable: %s (%v)", e.Missing, e.Err)
}

func (e *Unavailable) Unwrap() error { return e.Err }
