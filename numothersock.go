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
// one in a container's file, the host's own (ID "0") in a host's file.
//
// Without them it is Sockstat.NumOtherSock.
func (s *Snapshot) NumOtherSock() OtherSockets {
	if b, ok := s.ownBeancounter("numothersock"); ok {
		o := OtherSockets{
			Held: known(b.Held), FromBeancounters: true, ID: b.ID, FailCnt: known(b.FailCnt),
		}
		if !Unlimited(b.Barrier) {
			o.Barrier = known(b.Barrier)
		}
		if !Unlimited(b.Limit) {
			o.Limit = known(b.Limit)
		}
		return o
	}
	return OtherSockets{Held: s.Sockstat.NumOtherSock()}
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
// listening nor connected
// (between socket() and connect(), or bound and idle): such a socket counts
// as "other" until it connects. Kernels before 4.16 count socket files in
// "sockets: used", host-wide and without orphaned TCP sockets, so there the
// figure drifts low by the orphans, and is unknown when "sockets: used" falls
// below the TCP count.
func (st *Sockstat) NumOtherSock() Num {
	if !st.SocketsUsed.Known || !st.TCPInUse.Known {
		return Num{}
	}
	// An unknown TCP6 or MPTCP count means IPv6 or MPTCP is not in this
	// kernel: there are none of those sockets, and Value is 0.
	other := st.SocketsUsed.Value - st.TCPInUse.Value - st.TCP6InUse.Value -
		st.MPTCPInUse.Value - st.MPTCP6InUse.Value
	if other < 0 {
		// The formula does not hold on this kernel (see above), or a burst
		// of TCPv6 connections came between the reads of sockstat and
		// sockstat6: no figure rather than a wrong one.
		return Num{}
	}
	return known(other)
}

// ownBeancounter returns the row for resource of the container this snapshot
// describes: the only container in the file, else the host's ("0").
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
