package sockwatch

// Figures derived from a snapshot, shared by the Telegraf input and the check
// so that both say the same thing about the same host.

// OrphanPenalty is how much the kernel can inflate the orphan count when it
// compares it with tcp_max_orphans: tcp_out_of_resources() shifts the count
// left by up to 2 for a socket with a soft error that is being reset, so
// orphans are killed from a quarter of the configured limit on.
const OrphanPenalty = 4

// Percent is used in percent of limit; unknown when either side is, when
// the limit is not positive (a zero limit has no meaningful share), or when
// it is LONG_MAX, unlimited. Every share the wrappers report is this one.
func Percent(used, limit Num) (float64, bool) {
	if !used.Known || !limit.Known || limit.Value <= 0 || NoLimit(limit) {
		return 0, false
	}
	return float64(used.Value) * 100 / float64(limit.Value), true
}

// TCPMemBytes is TCP memory in bytes.
func (s *Snapshot) TCPMemBytes() Num { return s.bytes(s.Sockstat.TCPMemPages) }

// UDPMemBytes is UDP memory in bytes.
func (s *Snapshot) UDPMemBytes() Num { return s.bytes(s.Sockstat.UDPMemPages) }

// PagesToBytes converts a page count of this snapshot's host to bytes.
func (s *Snapshot) PagesToBytes(pages Num) Num { return s.bytes(pages) }

func (s *Snapshot) bytes(pages Num) Num {
	if !pages.Known || s.PageSize <= 0 {
		return Num{}
	}
	return Known(pages.Value * s.PageSize)
}

// TCPMemUsedPercent is TCP memory in percent of tcp_mem's max line.
func (s *Snapshot) TCPMemUsedPercent() (float64, bool) {
	return Percent(s.Sockstat.TCPMemPages, s.Limits.TCPMemMaxPages)
}

// UDPMemUsedPercent is UDP memory in percent of udp_mem's max line.
func (s *Snapshot) UDPMemUsedPercent() (float64, bool) {
	return Percent(s.Sockstat.UDPMemPages, s.Limits.UDPMemMaxPages)
}

// TCPMemUnderPressure reports whether TCP is in memory pressure, shrinking
// buffers: the kernel's own flag from net/protocols where it has one. The
// kernel enters pressure when the pages allocated exceed tcp_mem[1], and
// leaves it only when they fall to tcp_mem[0]; only where the flag is
// missing is pressure taken to be memory above tcp_mem[1], which misses a
// host in pressure below that line. ok is false when neither is known.
func (s *Snapshot) TCPMemUnderPressure() (pressure, ok bool) {
	if f := s.Sockstat.TCPPressure; f.Known {
		return f.Value == 1, true
	}
	m, p := s.Sockstat.TCPMemPages, s.Limits.TCPMemPressurePages
	if !m.Known || !p.Known {
		return false, false
	}
	return m.Value > p.Value, true
}

// TCPOrphanUsedPercent is the orphan count in percent of tcp_max_orphans.
func (s *Snapshot) TCPOrphanUsedPercent() (float64, bool) {
	return Percent(s.Sockstat.TCPOrphan, s.Limits.TCPMaxOrphans)
}

// TCPOrphanPenaltyPercent is the orphan count in percent of tcp_max_orphans
// under the kernel's worst-case 4x penalty: at 100 the kernel may already be
// killing orphans.
func (s *Snapshot) TCPOrphanPenaltyPercent() (float64, bool) {
	p, ok := s.TCPOrphanUsedPercent()
	return UnderOrphanPenalty(p), ok
}

// UnderOrphanPenalty is an orphan count's share of tcp_max_orphans, in
// percent, as the kernel may count it: OrphanPenalty times.
func UnderOrphanPenalty(percent float64) float64 { return percent * OrphanPenalty }

// TCPTimeWaitUsedPercent is TIME_WAIT sockets in percent of tcp_max_tw_buckets.
func (s *Snapshot) TCPTimeWaitUsedPercent() (float64, bool) {
	return Percent(s.Sockstat.TCPTimeWait, s.Limits.TCPMaxTWBuckets)
}

// FilesUsedPercent is allocated file handles in percent of fs.file-max.
func (s *Snapshot) FilesUsedPercent() (float64, bool) {
	return Percent(s.Limits.FilesAllocated, s.Limits.FilesMax)
}
