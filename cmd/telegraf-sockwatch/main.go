// Command telegraf-sockwatch is the sockwatch input as a Telegraf external
// plugin: run it under [[inputs.execd]] and it writes line protocol to
// stdout, gathering whenever Telegraf writes a line to its stdin (signal =
// "STDIN") or on its own -poll_interval. With -once it gathers once, prints
// and exits, to try it by hand.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/common/shim"
	"github.com/influxdata/telegraf/plugins/inputs"

	"github.com/sockwatch/sockwatch/internal/privilege"
	"github.com/sockwatch/sockwatch/plugins/inputs/sockwatch"
)

const usage = `Usage: telegraf-sockwatch [-config FILE] [-poll_interval D | -poll_interval_disabled] [-gather_timeout D] [-once]

Reports the host's socket usage against the kernel's limits as Telegraf
line protocol on stdout. Meant to run under Telegraf:

  [[inputs.execd]]
    command = ["/usr/local/bin/telegraf-sockwatch", "-config", "/etc/telegraf-sockwatch.conf", "-poll_interval_disabled"]
    signal = "STDIN"
    data_format = "influx"

FILE holds one [[inputs.sockwatch]] section; without -config the plugin runs
with its defaults (proc root: $HOST_PROC, else /proc). It stops when stdin
is closed or on SIGINT/SIGTERM.

Given capabilities (setcap) or set-user-ID, it reads only /proc and
/sys/fs/cgroup: another proc_root, cgroup_root, HOST_PROC or HOST_SYS fails
its start; run it as root to read another.

Flags:
`

func main() {
	// Before anything reads a file the caller named: the configuration
	// file is read with no capability effective.
	if _, err := privilege.Setup(); err != nil {
		fmt.Fprintf(os.Stderr, "telegraf-sockwatch: cannot lower the privileges it runs with: %v\n", err)
		os.Exit(1)
	}
	configFile := flag.String("config", "", "`FILE` holding one [[inputs.sockwatch]] section (default: the plugin's defaults)")
	pollInterval := flag.Duration("poll_interval", 1*time.Second, "how often to gather without being asked")
	pollDisabled := flag.Bool("poll_interval_disabled", false,
		"gather only when a line arrives on stdin (use with execd's signal = \"STDIN\")")
	once := flag.Bool("once", false, "gather once, print line protocol to stdout and exit (non-zero if the gather reported an error)")
	gatherTimeout := flag.Duration("gather_timeout", 10*time.Second,
		"how long one gather may take: a gather blocked longer (a hung proc mount) is reported as an error and abandoned")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "telegraf-sockwatch: unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}

	// Under execd every level goes out, and Telegraf keeps what its agent's
	// debug setting asks for; run by hand with -once, debug lines would
	// only bury the output.
	level := telegraf.Debug
	if *once {
		level = telegraf.Info
	}
	log := newExecdLogger(os.Stderr, level)
	s := shim.New()
	if err := load(s, *configFile, log); err != nil {
		fmt.Fprintf(os.Stderr, "telegraf-sockwatch: %v\n", err)
		os.Exit(1)
	}
	if *gatherTimeout <= 0 {
		fmt.Fprintf(os.Stderr, "telegraf-sockwatch: -gather_timeout %v: must be positive\n", *gatherTimeout)
		os.Exit(2)
	}
	s.Input = bound(s, *gatherTimeout, log)
	if *once {
		os.Exit(runOnce(s, os.Stdout, os.Stderr))
	}
	s.Input = &loggedInput{Input: s.Input, log: log}
	if *pollDisabled {
		*pollInterval = shim.PollIntervalDisabled
	}
	if err := s.Run(*pollInterval); err != nil {
		fmt.Fprintf(os.Stderr, "telegraf-sockwatch: %v\n", err)
		os.Exit(1)
	}
	closeOutputs()
}

// closeOutputs closes stdout and stderr and lingers a moment before the
// process exits. Telegraf's execd closes its ends of the pipes as soon as
// the process is gone; a reader of its that has not yet seen end of file
// then fails with "read |0: file already closed", logged as an error on
// some stops of Telegraf. Ending the pipes first lets its readers finish
// while the process still runs.
func closeOutputs() {
	os.Stdout.Close()
	os.Stderr.Close()
	time.Sleep(100 * time.Millisecond)
}

// load adds the input to the shim: from the configuration file, or with the
// plugin's defaults, logging through log. The shim's own loading would give
// the plugin the shim's logger, whose lines execd cannot read the level of,
// and without a file it logs "No config found" on stderr, which execd
// reports as an error.
func load(s *shim.Shim, configFile string, log telegraf.Logger) error {
	var in telegraf.Input
	if configFile != "" {
		conf, err := shim.LoadConfig(&configFile)
		if err != nil {
			return fmt.Errorf("loading %s: %w", configFile, err)
		}
		if err := unknownOptions(configFile); err != nil {
			return fmt.Errorf("loading %s: %w", configFile, err)
		}
		if conf.Input == nil {
			return fmt.Errorf("loading %s: no [[inputs.sockwatch]] section", configFile)
		}
		in = conf.Input
	} else {
		in = inputs.Inputs["sockwatch"]()
	}
	in.(*sockwatch.Sockwatch).Log = log
	if err := in.(telegraf.Initializer).Init(); err != nil {
		if configFile != "" {
			return fmt.Errorf("loading %s: %w", configFile, err)
		}
		return err
	}
	s.Input = in
	return nil
}

// bound wraps the shim's input in a gather timeout; log takes the debug
// line of each gather.
func bound(s *shim.Shim, timeout time.Duration, log telegraf.Logger) telegraf.Input {
	what := "reading " + s.Input.(*sockwatch.Sockwatch).Root()
	return &boundedInput{Input: s.Input, maker: s, log: log, timeout: timeout, what: what}
}

// runOnce gathers once with the shim's input and writes the metrics to
// stdout. It returns the exit code: 1 if the gather reported any error (on
// stderr), the metrics it did produce being printed all the same.
func runOnce(s *shim.Shim, stdout, stderr io.Writer) int {
	g := collect(s, s.Input)
	for _, err := range g.errs {
		fmt.Fprintf(stderr, "telegraf-sockwatch: %v\n", err)
	}
	if err := writeMetrics(stdout, g.metrics); err != nil {
		fmt.Fprintf(stderr, "telegraf-sockwatch: %v\n", err)
		return 1
	}
	if len(g.errs) > 0 {
		return 1
	}
	return 0
}
