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

// checkName is the check's name as its first output line starts.
const checkName = "SOCKWATCH"

// defaultTimeout is -t's default, the Monitoring Plugins' usual 10 seconds.
const defaultTimeout = 10 * time.Second

// defaultHold is --hold's default: longer than a core needs to reach a HARD
// state at the usual intervals (Icinga 2 and Nagios: max_check_attempts 3,
// retried every minute; NRPE checks every 5 minutes).
const defaultHold = 15 * time.Minute

var errVersion = errors.New("version asked")

// parseArgs reads the command line. Go's flag package takes each flag with
// one dash or two, so -w and --warning, -t and --timeout all work.
// flag.ErrHelp is returned for -h/--help, errVersion for -V/--version.
func parseArgs(args []string) (*config, error) {
	cfg := &config{Warn: thresholdsFlag{}, Crit: thresholdsFlag{}, Timeout: defaultTimeout, Hold: defaultHold}
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
	fs.Var((*holdFlag)(&cfg.Hold), "hold", "")
	for _, name := range []string{"t", "timeout"} {
		fs.Var((*timeoutFlag)(&cfg.Timeout), name, "")
	}
	fs.Var((*verboseFlag)(&cfg.Verbose), "v", "")
	fs.Var((*verboseFlag)(&cfg.Verbose), "verbose", "")
	version := false
	fs.BoolVar(&version, "V", false, "")
	fs.BoolVar(&version, "version", false, "")
	if err := fs.Parse(expandVerbose(args)); err != nil {
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

// traceFlag is --trace SECONDS, 1 to maxTrace.
type traceFlag int

func (f *traceFlag) String() string { return strconv.Itoa(int(*f)) }

func (f *traceFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxTrace {
		return fmt.Errorf("want whole seconds from 1 to %d", maxTrace)
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

// holdFlag is --hold DURATION: a Go duration (15m, 1h30m) or whole
// seconds, 0 or more.
type holdFlag time.Duration

func (f *holdFlag) String() string { return time.Duration(*f).String() }

func (f *holdFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if n, aerr := strconv.Atoi(s); aerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d < 0 {
		return fmt.Errorf("want a duration such as 15m or 900 (seconds), 0 or more")
	}
	*f = holdFlag(d)
	return nil
}

// expandVerbose spells -vv and -vvv, which the guidelines give for more
// verbose output, as repeated -v, which the flag package counts; after "--"
// nothing is changed.
func expandVerbose(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && strings.Trim(a, "v") == "-" {
			for range len(a) - 1 {
				out = append(out, "-v")
			}
			continue
		}
		out = append(out, a)
	}
	return out
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

// checkVersion is the check's version: the one the release build set, else the
// module version it was built as, else "(devel)" for a build from a work tree.
func checkVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// help is the -h text. The thresholds' reasons come from the defaults table
// the check uses.
func help() string {
	var b strings.Builder
	b.WriteString(`check_sockwatch ` + checkVersion() + `
Warns before a Linux host runs out of sockets or socket memory: TCP orphans,
TCP and UDP memory, TIME_WAIT buckets, file handles, OpenVZ/Virtuozzo
numothersock, and the kernel counters that say it has already acted.

Usage: check_sockwatch [-w METRIC=RANGE]... [-c METRIC=RANGE]...
       [--only METRIC[,METRIC]] [--top N] [--namespaces] [--proc-root DIR]
       [--state-file FILE] [--hold DURATION] [--trace SECONDS] [-t SECONDS] [-v]
       [-h] [-V]

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
 --state-file FILE             where the counters of the last run and their
                               growth are kept, shared by every service of
                               the host (default: a file per proc root under
                               /var/lib/sockwatch for root, else
                               $XDG_STATE_HOME/sockwatch or
                               ~/.local/state/sockwatch, directory 0700)
     Given capabilities or set-user-ID, the check reads only /proc and keeps
     its state in the default directory: another --proc-root, $HOST_PROC or
     --state-file is refused (UNKNOWN); run it as root, or without
     capabilities, to use them.
 --hold DURATION               a counter that grew keeps its state until it
                               has not grown for this long (15m, 1h, or
                               seconds; default 15m), so that a core's
                               retries reach a HARD state and notify; 0
                               alerts on one run only
 -t, --timeout SECONDS         give up with UNKNOWN after this long
                               (default 10)
 -v, --verbose                 also list OK containers and counters, the
                               baseline, the files read and how the owners
                               were read; -vv also each namespace's
                               counters, -vvv the growth the state file
                               holds
 -h, --help                    this text
 -V, --version                 the version

Metrics and their default thresholds:
`)
	for _, m := range metricNames {
		d := defaults[m]
		fmt.Fprintf(&b, " %s", m)
		if d.warn != "" {
			warn := d.warn
			switch warn {
			case pressureLine:
				warn = "in memory pressure"
			case minLine:
				warn = "the min line"
			}
			fmt.Fprintf(&b, ": warning %s, critical %s", warn, d.crit)
		}
		b.WriteString("\n")
		wrap(&b, d.why, "     ", 76)
	}
	b.WriteString(`
Counters (need the state file; the first run only takes a baseline): each
summed over every network namespace the check can read, since the kernel
counts them in the namespace of the socket (a container's aborts are not in
the host's own). Each namespace keeps its baseline by inode; a counter below
it restarted and counts again from zero; a namespace that appeared counts
whole when its processes started after the last run; one that is gone is
dropped. Performance data is the host-wide total, which never decreases.
`)
	for _, c := range counterSpecs {
		fmt.Fprintf(&b, " %s: %s when it grew, held for --hold (with %s)\n", c.label(), c.state, strings.Join(c.metrics, ", "))
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

Examples:
 check_sockwatch
     every metric against its default thresholds
 check_sockwatch -w orphans=15% -c orphans=20% -w tw=70%
     tighter thresholds, in percent of the kernel's limits
 check_sockwatch --top 5
     also name the 5 processes and UNIX paths holding the most sockets
 check_sockwatch --namespaces -w numothersock=5000 -c numothersock=8000
     every container's network namespace too, against counts
 check_sockwatch --hold 30m
     a counter that grew stays CRITICAL (or WARNING) for 30 minutes after
     it last grew: longer than max_check_attempts x retry_interval
 command[check_sockwatch_top]=/usr/lib/nagios/plugins/check_sockwatch -t 8 --top 5
     NRPE, in /etc/nagios/nrpe.d/sockwatch.cfg on the monitored host (-t 8:
     UNKNOWN before check_nrpe's own 10 s timeout); the Nagios side runs
     check_nrpe -H HOST -c check_sockwatch_top

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
