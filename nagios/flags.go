package nagios

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Name is the check's name as its first output line starts.
const Name = "SOCKWATCH"

// DefaultTimeout is -t's default, the Monitoring Plugins' usual 10 seconds.
const DefaultTimeout = 10 * time.Second

var errVersion = errors.New("version asked")

// ParseArgs reads the command line. Go's flag package takes each flag with
// one dash or two, so -w and --warning, -t and --timeout all work.
// flag.ErrHelp is returned for -h/--help, errVersion for -V/--version.
func ParseArgs(args []string) (*Config, error) {
	cfg := &Config{Warn: thresholdsFlag{}, Crit: thresholdsFlag{}, Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("check_sockwatch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, name := range []string{"w", "warning"} {
		fs.Var(cfg.Warn, name, "")
	}
	for _, name := range []string{"c", "critical"} {
		fs.Var(cfg.Crit, name, "")
	}
	fs.Var((*onlyFlag)(&cfg.Only), "only", "")
	fs.Var((*topFlag)(&cfg.Top), "top", "")
	fs.StringVar(&cfg.ProcRoot, "proc-root", "", "")
	fs.StringVar(&cfg.StateFile, "state-file", "", "")
	fs.BoolVar(&cfg.Namespaces, "namespaces", false, "")
	fs.Var((*traceFlag)(&cfg.Trace), "trace", "")
	for _, name := range []string{"t", "timeout"} {
		fs.Var((*timeoutFlag)(&cfg.Timeout), name, "")
	}
	fs.Var((*verboseFlag)(&cfg.Verbose), "v", "")
	fs.Var((*verboseFlag)(&cfg.Verbose), "verbose", "")
	version := false
	fs.BoolVar(&version, "V", false, "")
	fs.BoolVar(&version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if version {
		return nil, errVersion
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: flags take the form -w METRIC=RANGE", fs.Arg(0))
	}
	if cfg.Trace > 0 && time.Duration(cfg.Trace)*time.Second >= cfg.Timeout {
		return nil, fmt.Errorf("--trace %d must be shorter than the timeout (-t %v)", cfg.Trace, cfg.Timeout)
	}
	return cfg, nil
}

// traceFlag is --trace SECONDS, 1 to MaxTrace.
type traceFlag int

func (f *traceFlag) String() string { return strconv.Itoa(int(*f)) }

func (f *traceFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxTrace {
		return fmt.Errorf("want whole seconds from 1 to %d", MaxTrace)
	}
	*f = traceFlag(n)
	return nil
}

// onlyFlag is --only METRIC[,METRIC]; it may be repeated.
type onlyFlag []string

func (f *onlyFlag) String() string { return strings.Join(*f, ",") }

func (f *onlyFlag) Set(s string) error {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !isMetric(name) {
			return fmt.Errorf("unknown metric %q (metrics: %s)", name, strings.Join(metricNames, ", "))
		}
		if !f.has(name) {
			*f = append(*f, name)
		}
	}
	// Kept in output order, so that the same set is the same state key.
	order := map[string]int{}
	for i, m := range metricNames {
		order[m] = i
	}
	sort.Slice(*f, func(i, j int) bool { return order[(*f)[i]] < order[(*f)[j]] })
	return nil
}

func (f *onlyFlag) has(name string) bool {
	for _, m := range *f {
		if m == name {
			return true
		}
	}
	return false
}

// topFlag is --top N, N >= 0.
type topFlag int

func (f *topFlag) String() string { return strconv.Itoa(int(*f)) }

func (f *topFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a whole number of owners, 0 or more")
	}
	*f = topFlag(n)
	return nil
}

// timeoutFlag is -t SECONDS, a positive whole number as the guidelines have
// it.
type timeoutFlag time.Duration

func (f *timeoutFlag) String() string { return time.Duration(*f).String() }

func (f *timeoutFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 86400 {
		return fmt.Errorf("want whole seconds from 1 to 86400")
	}
	*f = timeoutFlag(time.Duration(n) * time.Second)
	return nil
}

// verboseFlag counts -v flags.
type verboseFlag int

func (f *verboseFlag) String() string   { return strconv.Itoa(int(*f)) }
func (f *verboseFlag) IsBoolFlag() bool { return true }

func (f *verboseFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if v {
		*f++
	} else {
		*f = 0
	}
	return nil
}

// version is set by the release build (make build, make package):
// -ldflags "-X github.com/sockwatch/sockwatch/nagios.version=0.1.0".
var version string

// Version is the check's version: the one the release build set, else the
// module version it was built as, else "(devel)" for a build from a work tree.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Help is the -h text. The thresholds' reasons come from the defaults table
// the check uses.
func Help() string {
	var b strings.Builder
	b.WriteString(`check_sockwatch ` + Version() + `
Warns before a Linux host runs out of sockets or socket memory: TCP orphans,
TCP and UDP memory, TIME_WAIT buckets, file handles, OpenVZ/Virtuozzo
numothersock, and the kernel counters that say it has already acted.

Usage: check_sockwatch [-w METRIC=RANGE]... [-c METRIC=RANGE]...
       [--only METRIC[,METRIC]] [--top N] [--namespaces] [--proc-root DIR]
       [--state-file FILE] [--trace SECONDS] [-t SECONDS] [-v] [-h] [-V]

 -w, --warning METRIC=RANGE    warning threshold for METRIC; repeatable
 -c, --critical METRIC=RANGE   critical threshold for METRIC; repeatable
     RANGE is a Monitoring Plugins range (10, 10:, ~:10, 10:20, @10:20) in
     the metric's unit (bytes for tcp_mem and udp_mem); a % after a bound
     makes it percent of the metric's kernel limit (-w orphans=15%).
 --only METRIC[,METRIC]        evaluate and report only these metrics (and
                               the counters tied to them)
 --top N                       list the N largest socket owners (process
                               name and user) and UNIX paths; as root, read
                               by a BPF iterator that also names the N
                               largest holders of each path; unprivileged,
                               only your own processes
 --namespaces                  also evaluate every other network namespace
                               (containers): numothersock, tw and the
                               counters of each, named by inode and process
                               (see below; needs root or CAP_SYS_PTRACE)
 --trace SECONDS               sample socket creation with eBPF for 1 to 60
                               seconds (shorter than -t): list the top
                               creators (--top N, else 5) with their DNS
                               lookups, and the processes hitting socket
                               memory limits; perfdata
                               sockets_created_per_second, thresholds on
                               creation_rate. Needs root, or CAP_BPF and
                               CAP_PERFMON, and kernel BTF (x86-64): without
                               them one line says what is missing
 --proc-root DIR               proc to read (default $HOST_PROC, else /proc)
 --state-file FILE             where the counters of the last run are kept
                               (default: a file per proc root and --only set
                               under /var/lib/sockwatch for root, else
                               $XDG_STATE_HOME/sockwatch or
                               ~/.local/state/sockwatch, directory 0700)
 -t, --timeout SECONDS         give up with UNKNOWN after this long
                               (default 10)
 -v, --verbose                 also list OK containers and counters, the
                               baseline, the files read and how the owners
                               were read
 -h, --help                    this text
 -V, --version                 the version

Metrics and their default thresholds:
`)
	for _, m := range metricNames {
		d := defaults[m]
		fmt.Fprintf(&b, " %s", m)
		if d.warn != "" {
			warn := d.warn
			if warn == pressureLine {
				warn = "the pressure line"
			}
			fmt.Fprintf(&b, ": warning %s, critical %s", warn, d.crit)
		}
		b.WriteString("\n")
		wrap(&b, d.why, "     ", 76)
	}
	b.WriteString(`
Counters (need the state file; the first run only takes a baseline):
`)
	for _, c := range counterSpecs {
		fmt.Fprintf(&b, " %s: %s when it grew since the last run (with %s)\n", c.label, c.state, strings.Join(c.metrics, ", "))
		wrap(&b, c.why, "     ", 76)
	}
	b.WriteString(`
Network namespaces (--namespaces): each namespace other than the host's is
read through its lowest PID and evaluated on its own: numothersock and tw
against -w/-c thresholds given as counts (-w numothersock=5000 -w tw=20000),
and the growth of its counters, kept in the state file by namespace inode.
A threshold in percent is not applied to them: a namespace has no
beancounter barrier, and its tcp_max_tw_buckets is its own but shown only
to its own processes, which the check does not enter; the default
thresholds, all in percent, do not apply either. Non-OK namespaces are named
in the long output (all with -v) and carry performance data such as
numothersock_ns4026532281. Naming a namespace takes reading the ns/net link
of one of its processes: root, or CAP_SYS_PTRACE; those that cannot be
named are counted, not evaluated.

Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments, unreadable
sockstat, timeout, internal error; also -h and -V, as the Monitoring
Plugins do).
`)
	return b.String()
}

// wrap writes text as indented lines of at most width columns.
func wrap(b *strings.Builder, text, indent string, width int) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}
