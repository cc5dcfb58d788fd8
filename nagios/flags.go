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

	"github.com/sockwatch/sockwatch"
)

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
	// The proc root is resolved here, once: what confine judges is what
	// is read and what the messages name.
	cfg.rootOrigin = "--proc-root"
	if cfg.ProcRoot == "" {
		cfg.rootOrigin = "environment variable HOST_PROC"
	}
	cfg.ProcRoot = sockwatch.ProcRoot(cfg.ProcRoot)
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
