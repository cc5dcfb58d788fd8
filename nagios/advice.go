package nagios

import (
	"fmt"
	"math"

	"github.com/sockwatch/sockwatch"
)

// The advice each non-OK line ends with: the kernel tunable to look at and
// the value the usual rule suggests. Suggestions are a start, not a
// prescription: each of these limits also guards memory. A suggestion is
// never at or below the value in force: the line that says a limit is near
// would otherwise tell the operator to keep it, or to lower it.

// orphanMemory is what one orphan can pin: its send and receive buffers,
// up to 64 KiB of unswappable kernel memory (the figure the kernel's
// documentation of tcp_max_orphans gives).
const orphanMemory = 64 << 10

// orphansAdvice suggests a tcp_max_orphans above both the limit in force
// and 4x the orphans now: 8x them, so that counted 4 times they fill half
// of it, and at least twice the limit in force. It says how much memory
// that many orphans could pin.
func orphansAdvice(orphans, limit sockwatch.Num) string {
	if !orphans.Known || (orphans.Value == 0 && !limit.Known) {
		return "see net.ipv4.tcp_max_orphans"
	}
	suggest := 2 * sockwatch.OrphanPenalty * orphans.Value
	now := ""
	if limit.Known {
		suggest = max(suggest, 2*limit.Value)
		now = fmt.Sprintf(" (now %d)", limit.Value)
	}
	why := fmt.Sprintf("above the limit in force and %dx the %d orphans now (the kernel may count each %d times;"+
		" base it on the peak if it was higher)", sockwatch.OrphanPenalty, orphans.Value, sockwatch.OrphanPenalty)
	if orphans.Value == 0 {
		why = fmt.Sprintf("twice the limit in force, base it on %dx the peak orphan count", sockwatch.OrphanPenalty)
	}
	return fmt.Sprintf("raise net.ipv4.tcp_max_orphans%s to at least %d, %s; %d orphans can pin up to %s of unswappable memory, %s each",
		now, suggest, why, suggest, formatBytes(suggest*orphanMemory), formatBytes(orphanMemory))
}

// tcpMemAdvice and udpMemAdvice are the advice of tcp_mem and udp_mem: with
// their metrics, and with the counters that their limits make grow. tcp_mem
// warns at its pressure line, udp_mem at its min line.
func tcpMemAdvice(s *sockwatch.Snapshot) string {
	l := &s.Limits
	return memAdvice(s, mTCPMem, s.TCPMemBytes(), l.TCPMemMinPages, l.TCPMemPressurePages, l.TCPMemMaxPages, l.TCPMemPressurePages)
}

func udpMemAdvice(s *sockwatch.Snapshot) string {
	l := &s.Limits
	return memAdvice(s, mUDPMem, s.UDPMemBytes(), l.UDPMemMinPages, l.UDPMemPressurePages, l.UDPMemMaxPages, l.UDPMemMinPages)
}

// memAdvice gives tcp_mem's or udp_mem's lines in bytes and a suggested
// "min pressure max": the three in force scaled up alike, by at least a
// quarter, and so that the use now is 80% of the line that warns (warnPages:
// tcp_mem's pressure line, udp_mem's min line). No line is suggested at or
// below the one in force.
func memAdvice(s *sockwatch.Snapshot, metric string, used, minPages, pressPages, maxPages, warnPages sockwatch.Num) string {
	sysctl := "net.ipv4." + metric
	if !pressPages.Known || !maxPages.Known || !minPages.Known {
		return "see " + sysctl + " (not readable here: it exists only in the host's initial network namespace)"
	}
	advice := fmt.Sprintf("%s min line %d B (%d pages), pressure line %d B (%d pages), max line %d B (%d pages)",
		sysctl, s.PagesToBytes(minPages).Value, minPages.Value, s.PagesToBytes(pressPages).Value, pressPages.Value,
		s.PagesToBytes(maxPages).Value, maxPages.Value)
	if !used.Known || s.PageSize <= 0 || warnPages.Value <= 0 {
		return advice
	}
	usedPages := float64(used.Value) / float64(s.PageSize)
	f := max(1.25, 1.25*usedPages/float64(warnPages.Value))
	scale := func(v int64) int64 { return max(v+1, int64(math.Ceil(float64(v)*f))) }
	return advice + fmt.Sprintf("; suggested %s=\"%d %d %d\" (pages), if the host has that memory to give",
		sysctl, scale(minPages.Value), scale(pressPages.Value), scale(maxPages.Value))
}

// doubleAdvice suggests twice the larger of the use now and the limit in
// force.
func doubleAdvice(sysctl string, used, limit sockwatch.Num, what, otherwise string) string {
	if !used.Known {
		return "see " + sysctl
	}
	if sockwatch.NoLimit(limit) {
		return fmt.Sprintf("%s is unlimited; %s", sysctl, otherwise)
	}
	suggest, now := 2*used.Value, ""
	if limit.Known {
		suggest = 2 * max(used.Value, limit.Value)
		now = fmt.Sprintf(", now %d", limit.Value)
	}
	return fmt.Sprintf("raise %s to at least %d (2x the larger of the %d %s and the limit%s), %s",
		sysctl, suggest, used.Value, what, now, otherwise)
}

// beancounterAdvice names the container's numothersock barrier and limit,
// set per container with vzctl on OpenVZ 6 and prlctl or vzctl on
// Virtuozzo 7, and suggests twice the highest of where the kernel refuses
// now, the peak (maxheld) and the use now: a container refused sockets at
// its barrier holds few once its processes gave up, so held alone would
// suggest lowering it.
func beancounterAdvice(b sockwatch.Beancounter) string {
	hard, _, ok := b.HardLimit()
	if !ok {
		return fmt.Sprintf("the numothersock barrier and limit of container %s are unlimited; find the process leaking UNIX or UDP sockets", b.ID)
	}
	suggest := 2 * max(hard, b.MaxHeld, b.Held)
	limit := suggest
	if !sockwatch.Unlimited(b.Limit) {
		limit = max(limit, b.Limit)
	}
	return fmt.Sprintf("raise the numothersock barrier of container %s (now %s, limit %s) to at least %d"+
		" (2x the highest of where it is refused, %d, maxheld %d and held %d),"+
		" e.g. vzctl set %s --numothersock %d:%d --save, or find the process leaking UNIX or UDP sockets",
		b.ID, ubValue(b.Barrier), ubValue(b.Limit), suggest, hard, b.MaxHeld, b.Held, b.ID, suggest, limit)
}

func ubValue(v int64) string {
	if sockwatch.Unlimited(v) {
		return "unlimited"
	}
	return fmt.Sprint(v)
}
