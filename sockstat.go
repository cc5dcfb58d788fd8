package sockwatch

import (
	"bytes"
	"fmt"

	"github.com/sockwatch/sockwatch/internal/procfile"
)

// Sockstat holds net/sockstat and net/sockstat6 (and two counts of
// net/protocols): socket counts and memory of
// one network namespace. Memory of TCP and UDP is in pages, as the kernel
// prints it; FRAG memory is in bytes.
//
// Scope, as the kernel keeps them: SocketsUsed, every inuse, TCPTimeWait and
// FRAG are per network namespace; TCPOrphan, TCPAlloc, TCPMemPages and
// UDPMemPages are global to the host, whichever namespace prints them.
type Sockstat struct {
	SocketsUsed Num // sockets: used, every family, as created by user space

	TCPInUse    Num
	TCPOrphan   Num
	TCPTimeWait Num // TIME_WAIT buckets
	TCPAlloc    Num
	TCPMemPages Num

	UDPInUse    Num
	UDPMemPages Num

	UDPLiteInUse Num
	RawInUse     Num

	FragInUse       Num
	FragMemoryBytes Num

	TCP6InUse        Num
	UDP6InUse        Num
	UDPLite6InUse    Num
	Raw6InUse        Num
	Frag6InUse       Num
	Frag6MemoryBytes Num

	// From net/protocols, per namespace: MPTCP sockets, each of which also
	// has a TCP subflow. Unknown on kernels without MPTCP.
	MPTCPInUse  Num
	MPTCP6InUse Num

	// TCPPressure is the kernel's own TCP memory pressure flag, global: the
	// "press" column of TCP in net/protocols, 1 for yes, 0 for no. The
	// kernel enters pressure when TCP memory exceeds tcp_mem[1] and leaves
	// it only when memory falls to tcp_mem[0]. Unknown where protocols has
	// no such column.
	TCPPressure Num

	// usedNegative is a negative "sockets: used" as the kernel printed it:
	// sock_inuse_get() sums per-CPU counters without clamping, and a sum
	// read while sockets move between CPUs can fall below zero. SocketsUsed
	// is then unknown.
	usedNegative int64
	// partial says sockstat6 or protocols exist but could not be read or
	// parsed: a figure that subtracts their counts is unknown.
	partial bool
	// usedFiles says the kernel is older than 4.16, whose "sockets: used"
	// counts socket files host-wide, orphans (which have no file) left out.
	usedFiles bool
}

// parseSockstat reads the "LABEL: key value key value" lines of sockstat and
// sockstat6 into s. Keys it does not know are ignored so that a newer kernel
// does not break it; a malformed line is an error naming path and line.
func parseSockstat(path string, data []byte, s *Sockstat) error {
	var buf [16][]byte
	seen := false
	err := procfile.Lines(data, func(n int, line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return procfile.LineErr(path, n, "no \"LABEL:\" at the start of the line")
		}
		label := line[:colon]
		f := procfile.Fields(line[colon+1:], buf[:])
		if len(f) == 0 || len(f)%2 != 0 {
			return procfile.LineErr(path, n, "%s: want key value pairs, got %d fields", label, len(f))
		}
		for i := 0; i < len(f); i += 2 {
			v, err := procfile.Atoi(f[i+1])
			if err == nil && v < 0 && string(label) == "sockets" && string(f[i]) == "used" {
				s.usedNegative, s.SocketsUsed = v, Num{}
				continue
			}
			if err != nil || v < 0 {
				return procfile.LineErr(path, n, "%s %s: %q is not a count", label, f[i], f[i+1])
			}
			if dst := s.field(label, f[i]); dst != nil {
				*dst = Known(v)
			}
		}
		seen = true
		return nil
	})
	if err != nil {
		return err
	}
	if !seen {
		return &FileError{Path: path, Err: fmt.Errorf("empty")}
	}
	return nil
}

// field maps a sockstat label and key to the figure it sets; nil for the
// ones this version does not know. The switches on string(bytes) do not
// allocate.
func (s *Sockstat) field(label, key []byte) *Num {
	switch string(label) {
	case "sockets":
		if string(key) == "used" {
			return &s.SocketsUsed
		}
	case "TCP":
		switch string(key) {
		case "inuse":
			return &s.TCPInUse
		case "orphan":
			return &s.TCPOrphan
		case "tw":
			return &s.TCPTimeWait
		case "alloc":
			return &s.TCPAlloc
		case "mem":
			return &s.TCPMemPages
		}
	case "UDP":
		switch string(key) {
		case "inuse":
			return &s.UDPInUse
		case "mem":
			return &s.UDPMemPages
		}
	case "FRAG":
		switch string(key) {
		case "inuse":
			return &s.FragInUse
		case "memory":
			return &s.FragMemoryBytes
		}
	case "FRAG6":
		switch string(key) {
		case "inuse":
			return &s.Frag6InUse
		case "memory":
			return &s.Frag6MemoryBytes
		}
	}
	if string(key) != "inuse" {
		return nil
	}
	switch string(label) {
	case "UDPLITE":
		return &s.UDPLiteInUse
	case "RAW":
		return &s.RawInUse
	case "TCP6":
		return &s.TCP6InUse
	case "UDP6":
		return &s.UDP6InUse
	case "UDPLITE6":
		return &s.UDPLite6InUse
	case "RAW6":
		return &s.Raw6InUse
	}
	return nil
}
