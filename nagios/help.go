package nagios

import (
	"fmt"
	"strings"
)

// help is the -h text. The metrics' default thresholds and their reasons
// come from the defaults table the check uses, the counters' from
// counterSpecs, so that the text cannot drift from what the check does.
func help() string {
	var b strings.Builder
	b.WriteString("check_sockwatch " + checkVersion() + "\n" + helpUsage)
	helpMetrics(&b)
	b.WriteString(helpCountersIntro)
	helpCounters(&b)
	b.WriteString(helpNamespacesAndExamples)
	return b.String()
}

// helpUsage follows the version line: what the check does and its flags.
const helpUsage = `Warns before a Linux host runs out of sockets or socket memory: TCP orphans,
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
`

// helpMetrics lists every metric with its default thresholds and why.
func helpMetrics(b *strings.Builder) {
	for _, m := range metricNames {
		d := defaults[m]
		fmt.Fprintf(b, " %s", m)
		if d.warn != "" {
			warn := d.warn
			switch warn {
			case pressureLine:
				warn = "in memory pressure"
			case minLine:
				warn = "the min line"
			}
			fmt.Fprintf(b, ": warning %s, critical %s", warn, d.crit)
		}
		b.WriteString("\n")
		wrap(b, d.why, "     ", 76)
	}
}

const helpCountersIntro = `
Counters (need the state file; the first run only takes a baseline): each
summed over every network namespace the check can read, since the kernel
counts them in the namespace of the socket (a container's aborts are not in
the host's own). Each namespace keeps its baseline by inode; a counter below
it restarted and counts again from zero; a namespace that appeared counts
whole when its processes started after the last run; one that is gone is
dropped. Performance data is the host-wide total, which never decreases.
`

// helpCounters lists every event counter with its state and metrics.
func helpCounters(b *strings.Builder) {
	for _, c := range counterSpecs {
		fmt.Fprintf(b, " %s: %s when it grew, held for --hold (with %s)\n", c.label(), c.state, strings.Join(c.metrics, ", "))
		wrap(b, c.why, "     ", 76)
	}
}

const helpNamespacesAndExamples = `
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
`

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
