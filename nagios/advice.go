package nagios

import (
	"fmt"

	"github.com/sockwatch/sockwatch"
)

// The advice each non-OK line ends with: the kernel tunable to look at and
// the value the usual rule suggests. Suggestions are a start, not a
// prescription: each of these limits also guards memory.

// orphansAdvice follows the usual rule for tcp_max_orphans: at least 4x the
// peak orphan count, because the kernel may count each orphan 4 times.
func orphansAdvice(orphans sockwatch.Num) string {
	if !orphans.Known {
		return "see net.ipv4.tcp_max_orphans"
	}
	return fmt.Sprintf("raise net.ipv4.tcp_max_orphans to at least %d (%dx the %d orphans now; use %dx the peak if it was higher);"+
		" each orphan can pin up to 64 KiB of unswappable memory",
		orphans.Value*sockwatch.OrphanPenalty, sockwatch.OrphanPenalty, orphans.Value, sockwatch.OrphanPenalty)
}

// memAdvice gives tcp_mem's or udp_mem's pressure and max lines in bytes and
// a suggested "min pressure max": pressure where the use now is 80% of it,
// in the proportions the kernel's own defaults have (3:4:6), never lower
// than now.
func memAdvice(s *sockwatch.Snapshot, metric string, used, minPages, pressPages, maxPages sockwatch.Num) string {
	sysctl := "net.ipv4." + metric
	if !pressPages.Known || !maxPages.Known || !minPages.Known {
		return "see " + sysctl + " (not readable here: it exists only in the host's initial network namespace)"
	}
	advice := fmt.Sprintf("%s pressure line %d B (%d pages), max line %d B (%d pages)",
		sysctl, s.PagesToBytes(pressPages).Value, pressPages.Value, s.PagesToBytes(maxPages).Value, maxPages.Value)
	if !used.Known || s.PageSize <= 0 {
		return advice
	}
	usedPages := (used.Value + s.PageSize - 1) / s.PageSize
	press := max(pressPages.Value, (usedPages*5+3)/4)
	return advice + fmt.Sprintf("; suggested %s=\"%d %d %d\" (pages), if the host has that memory to give",
		sysctl, max(minPages.Value, press*3/4), press, max(maxPages.Value, press*3/2))
}

// doubleAdvice suggests twice the use now, so that it sits at half the limit.
func doubleAdvice(sysctl string, used, limit sockwatch.Num, what, otherwise string) string {
	if !used.Known {
		return "see " + sysctl
	}
	now := ""
	if limit.Known {
		now = fmt.Sprintf(", now %d", limit.Value)
	}
	return fmt.Sprintf("raise %s to at least %d (2x the %d %s%s), %s", sysctl, 2*used.Value, used.Value, what, now, otherwise)
}

// beancounterAdvice names the container's barrier: numothersock is set per
// container, with vzctl on OpenVZ 6 and prlctl or vzctl on Virtuozzo 7.
func beancounterAdvice(b sockwatch.Beancounter) string {
	barrier := "unlimited"
	if !sockwatch.Unlimited(b.Barrier) {
		barrier = fmt.Sprint(b.Barrier)
	}
	return fmt.Sprintf("raise the numothersock barrier of container %s (now %s) to at least %d (2x held),"+
		" e.g. vzctl set %s --numothersock %d:%d --save, or find the process leaking UNIX or UDP sockets",
		b.ID, barrier, 2*b.Held, b.ID, 2*b.Held, 2*b.Held)
}
