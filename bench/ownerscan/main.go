// Command ownerscan times sockwatch.ScanOwners on the live proc root, for
// bench/owners.sh: it runs the scan -n times, prints the median wall time in
// seconds, which way the descriptors were read and what the last scan found,
// and its own peak RSS. The BPF iterator is loaded by the first scan and
// kept, as in the Telegraf plugin, so the median is a gather's scan.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/sockwatch/sockwatch"
)

func main() {
	runs := flag.Int("n", 5, "scans to run")
	top := flag.Int("top", 5, "owners and paths to keep")
	workers := flag.Int("workers", 0, "workers (0: GOMAXPROCS)")
	unixNetDir := flag.String("unix-net-dir", "", "net directory whose unix table is counted (default: the host's)")
	proc := flag.Bool("proc", false, "read /proc/PID/fd even where the BPF task_file iterator loads")
	flag.Parse()

	opt := sockwatch.OwnerOptions{Top: *top, Workers: *workers, UnixNetDir: *unixNetDir, NoIterator: *proc}
	root := sockwatch.ProcRoot("")
	var times []time.Duration
	var o *sockwatch.Owners
	for range *runs {
		start := time.Now()
		var err error
		o, err = sockwatch.ScanOwners(root, opt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ownerscan:", err)
			os.Exit(1)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("median %.3f s over %d runs (min %.3f, max %.3f), peak RSS %d KiB\n",
		times[len(times)/2].Seconds(), len(times), times[0].Seconds(), times[len(times)-1].Seconds(), ru.Maxrss)
	fmt.Printf("via %s", o.Via)
	if o.IteratorErr != nil {
		fmt.Printf(" (iterator not used: %v)", o.IteratorErr)
	}
	fmt.Println()
	fmt.Printf("sockets %d in %d processes, %d owners; dns %v; unix rows %v, paths %v; not inspected %d\n",
		o.Sockets, o.Processes, o.Owners, o.DNSSockets, o.UnixSockets, o.UnixBoundPaths, o.NotInspected)
	for _, w := range o.ByProcess {
		fmt.Printf("  %q (%s): %d sockets (%d unix, %d tcp, %d udp, %d raw, %d netlink, %d other; %d dns) in %d processes\n",
			w.Name, w.User, w.Sockets, w.Unix, w.TCP, w.UDP, w.Raw, w.Netlink, w.Other, w.DNS, w.Processes)
	}
	for _, p := range o.UnixPaths {
		fmt.Printf("  %q: %d sockets\n", p.Path, p.Sockets)
		for _, h := range p.Holders {
			fmt.Printf("    held by %q (%s): %d\n", h.Name, h.User, h.Sockets)
		}
	}
	for _, err := range o.Errors {
		fmt.Println("  error:", err)
	}
}
