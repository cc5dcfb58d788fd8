package sockwatch

// OtherSockets is numothersock: the sockets of every kind but TCP (UNIX, UDP,
// raw, netlink, packet, ...), the figure OpenVZ and Virtuozzo bound per
// container and VPS providers alert on.
type OtherSockets struct {
	Held Num
	// FromBeancounters: Held, Barrier, Limit and FailCnt come from the
	// beancounter of container ID. Otherwise Held is computed from sockstat
	// and the rest is unknown.
	FromBeancounters bool
	ID               string
	Barrier          Num // unknown when unlimited
	Limit            Num // unknown when unlimited
	FailCnt          Num
}

// NumOtherSock returns numothersock for the host or container read.
//
// With beancounters it is the numothersock row of this container: the only
// one in a container's file, the host's own (ID "0") in a host's file. A
// host's file without a row 0 has no row of the host's own: then, as
// without beancounters, it is computed (see Sockstat.NumOtherSock).
//
// On kernels before 4.16 (see Sockstat.NumOtherSock) it is computed as
//
//	sockets: used - (TCP: inuse + TCP6: inuse - TCP: orphan) - MPTCP - MPTCPv6
//
// with the TCP and MPTCP counts of every other network namespace that
// Namespaces read for this snapshot taken off too: "sockets: used" counts
// socket files host-wide there, and an orphan has no file.
func (s *Snapshot) NumOtherSock() OtherSockets {
	if b, ok := s.ownBeancounter("numothersock"); ok {
		o := OtherSockets{
			Held: Known(b.Held), FromBeancounters: true, ID: b.ID, FailCnt: Known(b.FailCnt),
		}
		if !Unlimited(b.Barrier) {
			o.Barrier = Known(b.Barrier)
		}
		if !Unlimited(b.Limit) {
			o.Limit = Known(b.Limit)
		}
		return o
	}
	if !s.Sockstat.usedFiles {
		return OtherSockets{Held: s.Sockstat.NumOtherSock()}
	}
	st := &s.Sockstat
	if st.partial || !st.SocketsUsed.Known || !st.TCPInUse.Known || !st.TCPOrphan.Known || !s.otherTCP.Known {
		return OtherSockets{}
	}
	other := st.SocketsUsed.Value - (st.TCPInUse.Value + st.TCP6InUse.Value - st.TCPOrphan.Value) -
		st.MPTCPInUse.Value - st.MPTCP6InUse.Value - s.otherTCP.Value
	if other < 0 {
		return OtherSockets{}
	}
	return OtherSockets{Held: Known(other)}
}

// NumOtherSock computes the non-TCP sockets of the namespace as
//
//	sockets: used - TCP: inuse - TCP6: inuse - MPTCP - MPTCPv6
//
// "sockets: used" counts every socket user space created in the namespace,
// of any family; the TCP inuse figures count the TCP sockets that are
// listening or connected, and the MPTCP counts of net/protocols the MPTCP
// sockets whose TCP subflows those include. The difference is every other
// socket, exactly, as long as no TCP socket sits created but neither
// listening nor connected (between socket() and connect(), or bound and
// idle): such a socket counts as "other" until it connects.
//
// It is unknown when a source it subtracts failed (sockstat6 or protocols
// unreadable), when "sockets: used" is unknown, and on kernels before 4.16,
// whose "sockets: used" counts socket files host-wide: no namespace's figure
// can be told from it (Snapshot.NumOtherSock computes the host's).
func (st *Sockstat) NumOtherSock() Num {
	if st.partial || st.usedFiles || !st.SocketsUsed.Known || !st.TCPInUse.Known {
		return Num{}
	}
	// An unknown TCP6 or MPTCP count means IPv6 or MPTCP is not in this
	// kernel: there are none of those sockets, and Value is 0.
	other := st.SocketsUsed.Value - st.TCPInUse.Value - st.TCP6InUse.Value -
		st.MPTCPInUse.Value - st.MPTCP6InUse.Value
	if other < 0 {
		// A burst of TCP connections came between the reads of sockstat
		// and sockstat6, or TCP sockets were created by the kernel (NFS,
		// iSCSI): no figure rather than a wrong one.
		return Num{}
	}
	return Known(other)
}

// ownBeancounter returns the row for resource of the container this snapshot
// describes: the only container in the file, else the host's ("0"); none in
// a host's file without a row 0.
func (s *Snapshot) ownBeancounter(resource string) (Beancounter, bool) {
	var found Beancounter
	n := 0
	for _, b := range s.Beancounters {
		if b.Resource != resource {
			continue
		}
		if b.ID == "0" {
			return b, true
		}
		found = b
		n++
	}
	return found, n == 1
}
